# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-timelines``: MIMIC-IV folder → patient-sharded timeline parquet (``ehr_r1.events.TIMELINE_SCHEMA``)."""

import json
from dataclasses import dataclass, field

from ehr_r1.errors import EhrR1Error


HELP = "MIMIC-IV folder -> patient-sharded timeline parquet."


@dataclass
class TimelinesConfig:
    """Options of ``ehr-r1 build-timelines``."""

    mimic_dir: str = field(metadata={"help": "MIMIC-IV root with hosp/ (required), icu/, ed/, note/."})
    output: str = field(metadata={"help": "Folder of shard-<k>.parquet files (written atomically)."})
    atc_map: str | None = field(
        default=None, metadata={"help": "NDC->ATC source (ethos folder or d_atc_prescriptions.csv)."}
    )
    num_shards: int | None = field(
        default=None, metadata={"help": "Patient shards (default: about one per 1M input rows)."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})

    def __post_init__(self):
        if self.num_shards is not None and self.num_shards < 1:
            raise EhrR1Error(f"--num-shards must be >= 1, got {self.num_shards}")


CONFIG = TimelinesConfig


def run(config: TimelinesConfig) -> int:
    from ehr_r1.io import atomic_output_dir
    from ehr_r1.manifest import fingerprint_inputs
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.timeline import build_timelines, default_num_shards

    source = MimicSource(config.mimic_dir, config.atc_map)
    num_shards = config.num_shards or default_num_shards(*source.input_bytes())
    inputs = (config.mimic_dir, config.atc_map)
    with atomic_output_dir(config.output, config.overwrite, inputs, "build-timelines") as tmp:
        paths = build_timelines(source, tmp, num_shards, work=tmp / ".rows")
        manifest = {
            "command": "build-timelines",
            "shards": len(paths),
            "input_fingerprints": fingerprint_inputs(source.input_files),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(paths)} timeline shards to {config.output}")  # noqa: T201
    return 0

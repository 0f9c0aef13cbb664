# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-timelines``: MIMIC-IV or MEDS folder → patient-sharded timeline parquet (``ehr_r1.events.TIMELINE_SCHEMA``)."""

import json
from dataclasses import dataclass, field

from ehr_r1.errors import EhrR1Error


HELP = "MIMIC-IV folder -> patient-sharded timeline parquet."


@dataclass
class TimelinesConfig:
    """Options of ``ehr-r1 build-timelines``."""

    mimic_dir: str | None = field(
        default=None, metadata={"help": "MIMIC-IV root with hosp/ (required), icu/, ed/, note/ (or --meds-dir)."}
    )
    output: str | None = field(
        default=None, metadata={"help": "Folder of shard-<k>.parquet files, required (written atomically)."}
    )
    meds_dir: str | None = field(
        default=None, metadata={"help": "MEDS root (data/**/*.parquet, metadata/) instead of --mimic-dir."}
    )
    meds_vocab: str | None = field(
        default=None, metadata={"help": "MEDS vocabulary YAML, or mimic_iv_meds (default) / omop (docs/meds.md)."}
    )
    atc_map: str | None = field(
        default=None, metadata={"help": "NDC->ATC source (ethos folder or d_atc_prescriptions.csv)."}
    )
    num_shards: int | None = field(
        default=None, metadata={"help": "Patient shards (default: about one per 1M input rows)."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})

    def __post_init__(self):
        if not self.output:
            raise EhrR1Error("missing required option --output")
        if (self.mimic_dir is None) == (self.meds_dir is None):
            raise EhrR1Error("give exactly one of --mimic-dir and --meds-dir")
        if self.num_shards is not None and self.num_shards < 1:
            raise EhrR1Error(f"--num-shards must be >= 1, got {self.num_shards}")


CONFIG = TimelinesConfig


def run(config: TimelinesConfig) -> int:
    from ehr_r1.io import atomic_output_dir
    from ehr_r1.manifest import fingerprint_inputs
    from ehr_r1.sources.meds import MedsSource
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.timeline import build_timelines, default_num_shards

    if config.meds_dir is not None:
        source = MedsSource(config.meds_dir, config.meds_vocab)
    else:
        source = MimicSource(config.mimic_dir, config.atc_map)
    fingerprints = fingerprint_inputs(source.input_files, source.root)
    num_shards = config.num_shards or default_num_shards(*source.input_bytes())
    inputs = (config.mimic_dir, config.meds_dir, config.meds_vocab, config.atc_map)
    with atomic_output_dir(config.output, config.overwrite, inputs, "build-timelines") as tmp:
        paths = build_timelines(source, tmp, num_shards, work=tmp / ".rows")
        manifest = {
            "command": "build-timelines",
            "shards": len(paths),
            "input_fingerprints": fingerprints,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(paths)} timeline shards to {config.output}")  # noqa: T201
    return 0

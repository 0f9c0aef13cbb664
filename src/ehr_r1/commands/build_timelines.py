# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-timelines``: MIMIC-IV folder → patient-sharded timeline parquet (``ehr_r1.events.TIMELINE_SCHEMA``)."""

from dataclasses import dataclass, field


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


CONFIG = TimelinesConfig


def run(config: TimelinesConfig) -> int:
    from ehr_r1.io import atomic_output_dir
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.timeline import build_timelines, default_num_shards

    source = MimicSource(config.mimic_dir, config.atc_map)
    num_shards = config.num_shards or default_num_shards(*source.input_bytes())
    with atomic_output_dir(config.output) as tmp:
        paths = build_timelines(source, tmp, num_shards, work=tmp / ".rows")
    print(f"wrote {len(paths)} timeline shards to {config.output}")  # noqa: T201
    return 0

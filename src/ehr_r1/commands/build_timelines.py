# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-timelines``: MIMIC-IV folder → patient-sharded timeline parquet (the canonical schema)."""

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mimic-dir", required=True, help="MIMIC-IV root with hosp/ (required), icu/, ed/, note/.")
    parser.add_argument("--output", required=True, help="Folder of shard-<k>.parquet files (written atomically).")
    parser.add_argument("--atc-map", help="NDC->ATC source (ethos folder or d_atc_prescriptions.csv).")
    parser.add_argument("--num-shards", type=int, help="Patient shards (default: about one per 1M input rows).")


def run(args: argparse.Namespace) -> int:
    from ehr_r1.io import atomic_output_dir
    from ehr_r1.sources.mimic import LookupTables, discover
    from ehr_r1.timeline import build_timelines

    layout = discover(args.mimic_dir)
    with atomic_output_dir(args.output) as tmp:
        paths = build_timelines(layout, LookupTables(layout, args.atc_map), tmp, args.num_shards, work=tmp / ".rows")
    print(f"wrote {len(paths)} timeline shards to {args.output}")  # noqa: T201
    return 0

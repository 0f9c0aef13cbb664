# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-bench`` and ``ehr-r1 build-ins``: MIMIC-IV folder → EHR-Bench / EHR-Ins dataset folder."""

import argparse
import json

from ehr_r1.tasks.index import IndexConfig


def add_arguments(parser: argparse.ArgumentParser, name: str = "build-bench") -> None:
    bench = name == "build-bench"
    parser.add_argument("--mimic-dir", required=True, help="MIMIC-IV root with hosp/ (required), icu/, ed/, note/.")
    parser.add_argument("--output", required=True, help="Output folder (written atomically, replaced if present).")
    parser.add_argument("--seed", type=int, default=42, help="Seed of the patient split, sampling and candidates.")
    parser.add_argument(
        "--config",
        help="Sampling YAML (quotas, weighting, balance). Default: the packaged "
        f"{'ehr_bench' if bench else 'ehr_ins'}.yaml.",
    )
    parser.add_argument(
        "--atc-map",
        help="NDC->ATC source: ethos folder (gsn_atc_ndc_mapping.csv.gz + atc_coding.csv.gz) "
        "or a d_atc_prescriptions.csv (ndc_code, atc_name). Without it the ATC tasks are skipped.",
    )
    parser.add_argument("--atc-level", type=int, default=4, choices=[1, 2, 3, 4, 5], help="ATC level of class names.")
    parser.add_argument("--tasks", nargs="+", help="Only these tasks (default: every task with a non-zero quota).")
    parser.add_argument("--num-shards", type=int, help="Patient shards (default: about one per 1M input rows).")
    parser.add_argument("--max-per-task", type=int, help="Cap every task's quota (quick builds and demos).")
    parser.add_argument(
        "--max-length", type=int, help="Token budget of a sample's chat: drop the oldest events to fit."
    )
    parser.add_argument("--tokenizer", help="Tokenizer with a chat template that counts tokens for --max-length.")
    parser.add_argument(
        "--format",
        choices=["parquet", "jsonl"],
        default="parquet",
        help="jsonl also writes the released-layout ehr_*_{decision_making,risk_prediction}.jsonl.",
    )
    parser.add_argument("--cpt", action="store_true", help="Also write a `cpt` config of whole rendered timelines.")
    parser.add_argument(
        "--reasoning-file", help="JSONL (idx, reasoning) adding /think samples to the `reasoning` config."
    )
    parser.add_argument("--check-disjoint", help="A built dataset whose patients must not appear in this one.")
    parser.add_argument("--min-context-events", type=int, default=IndexConfig.min_context_events)
    parser.add_argument("--max-context-events", type=int, default=IndexConfig.max_context_events)
    parser.add_argument("--window-hours", type=float, default=IndexConfig.window_hours)
    parser.set_defaults(dataset="ehr-bench" if bench else "ehr-ins")


def run(args: argparse.Namespace) -> int:
    from ehr_r1.builder import BuildConfig, build_dataset

    cfg = BuildConfig(
        mimic_dir=args.mimic_dir,
        output=args.output,
        dataset=args.dataset,
        seed=args.seed,
        config=args.config,
        atc_map=args.atc_map,
        atc_level=args.atc_level,
        tasks=args.tasks,
        num_shards=args.num_shards,
        jsonl=args.format == "jsonl",
        cpt=args.cpt,
        reasoning_file=args.reasoning_file,
        check_disjoint=args.check_disjoint,
        max_per_task=args.max_per_task,
        max_length=args.max_length,
        tokenizer=args.tokenizer,
        index=IndexConfig(args.window_hours, args.min_context_events, args.max_context_events),
    )
    manifest = build_dataset(cfg)
    total = sum(manifest["counts"].values())
    print(json.dumps({"output": args.output, "samples": total, "tasks": len(manifest["counts"])}))  # noqa: T201
    return 0

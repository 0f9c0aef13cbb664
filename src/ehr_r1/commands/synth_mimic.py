# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 synth-mimic``: write a synthetic MIMIC-IV folder (hosp, icu, ed, note) for tests, demos and benchmarks.

Example::

    ehr-r1 synth-mimic --output data/synth-mimic --patients 1000 --seed 0
    ehr-r1 synth-mimic --output /tmp/big --patients 20000 --density 2 --compression none   # a scale benchmark input
"""

import argparse
import logging
import time

from ehr_r1.errors import EhrR1Error


HELP = "Write a synthetic MIMIC-IV folder (hosp, icu, ed, note)."
logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ehr_r1.synth.mimic import CHUNK_PATIENTS, MAX_PATIENTS, MODULES

    parser.add_argument(
        "--output", "--out", "-o", dest="out", required=True, help="Folder to create (hosp/, icu/, ed/, note/ inside)."
    )
    parser.add_argument(
        "--patients", type=int, default=100, help=f"Number of patients, 1 to {MAX_PATIENTS:,} (default: 100)."
    )
    parser.add_argument("--seed", type=int, default=0, help="Random seed; the same arguments give the same bytes.")
    parser.add_argument(
        "--density",
        type=float,
        default=1.0,
        help="Multiplies the rate of repeated events (labs, vitals, medications, orders...); default 1.0, about 300 "
        "lab rows per patient and 180 chartevents rows per ICU day.",
    )
    parser.add_argument(
        "--modules",
        default=",".join(MODULES),
        help=f"Comma-separated modules to write (default: {','.join(MODULES)}).",
    )
    parser.add_argument(
        "--compression",
        choices=("gzip", "none"),
        default="gzip",
        help="gzip: <table>.csv.gz as PhysioNet ships them (default); none: plain <table>.csv, much faster.",
    )
    parser.add_argument("--compresslevel", type=int, default=1, help="gzip level 1-9 (default 1, the fastest).")
    parser.add_argument("--workers", type=int, default=None, help="Threads for CSV formatting and compression.")
    parser.add_argument("--overwrite", action="store_true", help="Replace --out if it exists.")
    parser.epilog = (
        f"Patients are generated in chunks of {CHUNK_PATIENTS:,} with independent random streams: a larger run with "
        "the same seed starts with exactly the patients of a smaller one. Every value is synthetic."
    )


def run(args: argparse.Namespace) -> int:
    from ehr_r1.synth.mimic import SynthConfig, write_synthetic_mimic

    modules = tuple(m.strip() for m in args.modules.split(",") if m.strip())
    cfg = SynthConfig(patients=args.patients, seed=args.seed, density=args.density, modules=modules)
    if args.workers is not None and args.workers < 1:
        raise EhrR1Error(f"--workers must be >= 1, got {args.workers}")
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        logger.info("chunk %d/%d generated (%.1f s)", done, total, time.perf_counter() - started)

    rows = write_synthetic_mimic(
        args.out,
        cfg,
        compression=args.compression,
        compresslevel=args.compresslevel,
        overwrite=args.overwrite,
        workers=args.workers,
        progress=progress,
    )
    for table, n in rows.items():
        logger.debug("%-28s %12d rows", table, n)
    print(  # noqa: T201 - the command's result line
        f"wrote {args.out}: {cfg.patients:,} patients, {len(rows)} tables, {sum(rows.values()):,} rows "
        f"({', '.join(cfg.modules)}) in {time.perf_counter() - started:.1f} s"
    )
    return 0

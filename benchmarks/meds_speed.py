# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MEDS → EHR-Bench against MIMIC-IV → EHR-Bench on the same patients (issue: any hospital's data).

Synthesises a MIMIC-IV folder (``ehr-r1 synth-mimic``), converts it to MEDS in the MIMIC-IV MEDS ETL vocabulary
(``tests/meds_factory.mimic_to_meds``, one shard per ~``--patients-per-shard`` patients), then times
``ehr-r1 build-timelines`` (the per-row stage: read, order, group) and ``ehr-r1 build-bench`` (end to end: plus a
fixed per-sample cost, the same quotas on both) with ``--mimic-dir`` and ``--meds-dir``, each in its own process (peak
RSS is its own). Prints a Markdown table: input rows (CSV rows of every table / MEDS data rows), wall time, µs per
input row, peak RSS. The MEDS conversion holds only the event types the ETL writes, hence fewer rows.

    python benchmarks/meds_speed.py --patients 2000 --work /tmp/ehr-meds-speed
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
BUILD = """
import resource, sys, time
from ehr_r1.cli import main
t = time.perf_counter()
code = main([sys.argv[4], sys.argv[1], sys.argv[2], '--output', sys.argv[3], '--overwrite'])
print(code, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
CONVERT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from meds_factory import mimic_to_meds
mimic_to_meds(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[4]))
"""
ROWS = """
import glob, sys
import polars as pl
csv = sum(pl.scan_csv(f, infer_schema=False).select(pl.len()).collect().item() for f in glob.glob(sys.argv[1] + '/*/*.csv*'))
meds = pl.scan_parquet(sys.argv[2] + '/data/**/*.parquet').select(pl.len()).collect().item()
print(csv, meds)
"""


def run_python(code: str, *args: str) -> list[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1].split() if out.stdout.strip() else []


def prepare(work: Path, patients: int, per_shard: int) -> tuple[Path, Path]:
    mimic, meds = work / f"mimic-{patients}", work / f"meds-{patients}"
    if not (mimic / "synthetic_mimic.json").exists():
        cmd = [sys.executable, "-m", "ehr_r1.cli", "synth-mimic", "--output", str(mimic), "--patients", str(patients)]
        subprocess.run([*cmd, "--seed", "0", "--overwrite"], check=True, capture_output=True)
    if not (meds / "data").is_dir():
        shards = max(1, patients // per_shard)
        run_python(CONVERT, str(mimic), str(meds), str(ROOT / "tests"), str(shards))
    return mimic, meds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--patients-per-shard", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ehr-meds-speed"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    mimic, meds = prepare(args.work, args.patients, args.patients_per_shard)
    csv_rows, meds_rows = (int(x) for x in run_python(ROWS, str(mimic), str(meds)))
    print(f"{args.patients:,} synthetic patients; MEDS shards: {len(list((meds / 'data').rglob('*.parquet')))}\n")
    print("| command | input | input rows | s | µs / input row | peak RSS MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for command in ("build-timelines", "build-bench"):
        for name, flag, folder, rows in (
            ("MIMIC-IV CSV", "--mimic-dir", mimic, csv_rows),
            ("MEDS (ETL vocabulary)", "--meds-dir", meds, meds_rows),
        ):
            out = str(args.work / f"{command}-{name[:4].lower()}")
            code, seconds, rss_kb = run_python(BUILD, flag, str(folder), out, command)
            assert code == "0", f"{name}: {command} exited {code}"
            seconds = float(seconds)
            print(
                f"| {command} | {name} | {rows:,} | {seconds:.1f} | {1e6 * seconds / rows:.2f} | {int(rss_kb) / 1024:.0f} |"
            )


if __name__ == "__main__":
    main()

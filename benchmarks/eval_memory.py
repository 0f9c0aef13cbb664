# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Peak memory and time of ``ehr-r1 eval`` (transformers backend) by batching mode; prints a table, asserts nothing.

Each mode runs ``ehr-r1 eval`` in its own subprocess, which reports its peak RSS (``ru_maxrss``). The bench is built
from the real MIMIC-IV demo and the model is the tiny random Qwen3 (real Qwen vocabulary), both built on first use:

    ehr-r1 build-bench --mimic-dir ../shared/data/mimic-iv-demo-2.2 --atc-map ../shared/data/mappings/ethos \\
        --output /tmp/evalmem/bench
    ehr-r1 tiny-model --output /tmp/evalmem/tiny

The last columns compare each mode's predictions with batch size 1: risk P(yes) must not move and the greedy answers
should be the same. ``--baseline-src DIR`` adds rows run with another source tree on ``PYTHONPATH`` (e.g. an older
checkout's ``src``) and only ``--batch-size``.

Usage: OMP_NUM_THREADS=1 python benchmarks/eval_memory.py [--limit 2] [--max-new-tokens 8] [--baseline-src DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


CHILD = """
import json, resource, sys, time
from ehr_r1.cli import main
start = time.perf_counter()
rc = main(["eval", *sys.argv[1:]])
seconds = time.perf_counter() - start
print("EVALMEM " + json.dumps({"rc": rc, "seconds": seconds,
                               "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""
MODES = {
    "fixed batch 8 (no token budget)": ["--batch-size", "8", "--max-batch-tokens", str(10**9)],
    "token budget 16384, <= 8 per batch": ["--batch-size", "8", "--max-batch-tokens", "16384"],
    "token budget 8192 (default), <= 8 per batch": ["--batch-size", "8"],
    "fixed batch 1": ["--batch-size", "1"],
}
BASELINE_MODES = {"fixed batch 8": ["--batch-size", "8"], "fixed batch 1": ["--batch-size", "1"]}
REFERENCE = "fixed batch 1"


def ensure_inputs(bench: Path, model: Path, mimic_dir: str, atc_map: str) -> None:
    """Build the demo bench and the tiny model if they are not there yet."""
    cli = [sys.executable, "-m", "ehr_r1.cli"]
    if not (bench / "manifest.json").exists():
        build = ["build-bench", "--mimic-dir", mimic_dir, "--atc-map", atc_map, "--output", str(bench)]
        subprocess.run([*cli, *build], check=True, stdout=subprocess.DEVNULL)
    if not (model / "config.json").exists():
        subprocess.run([*cli, "tiny-model", "--output", str(model)], check=True, stdout=subprocess.DEVNULL)


def run_mode(args: list[str], out: Path, pythonpath: str | None = None) -> dict:
    """One ``ehr-r1 eval`` in a fresh interpreter: its exit status, wall seconds, peak RSS and timing."""
    env = os.environ.copy() | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *args, "--output", str(out), "--overwrite"],
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("EVALMEM ")), None)
    if line is None or proc.returncode:
        raise RuntimeError(f"eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    stats = json.loads(line.removeprefix("EVALMEM "))
    stats["timing"] = json.loads((out / "results.json").read_text())["timing"]
    stats["predictions"] = {
        f"{r['task']}/{r['idx']}": r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())
    }
    return stats


def compare(stats: dict, reference: dict) -> tuple[str, str]:
    """(max |P(yes) - reference P(yes)|, share of decision-making answers equal to the reference's)."""
    deltas, same, n_dm = [], 0, 0
    for key, record in stats["predictions"].items():
        other = reference["predictions"][key]
        if record.get("p_yes") is not None:
            deltas.append(abs(record["p_yes"] - other["p_yes"]))
        elif record["task_type"] == "decision_making":
            n_dm += 1
            same += record["prediction"] == other["prediction"]
    return (f"{max(deltas):.1e}" if deltas else "n/a"), (f"{same}/{n_dm}" if n_dm else "n/a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bench", default="/tmp/evalmem/bench", help="Bench folder (built from --mimic-dir if absent)."
    )
    parser.add_argument("--model", default="/tmp/evalmem/tiny", help="Model folder (tiny model built if absent).")
    parser.add_argument("--mimic-dir", default="../shared/data/mimic-iv-demo-2.2")
    parser.add_argument("--atc-map", default="../shared/data/mappings/ethos")
    parser.add_argument("--limit", type=int, default=2, help="Samples per task.")
    parser.add_argument("--max-new-tokens", type=int, default=8, help="Decision-making generation budget.")
    parser.add_argument("--baseline-src", help="Also run BASELINE_MODES with this source tree on PYTHONPATH.")
    args = parser.parse_args()
    bench, model = Path(args.bench), Path(args.model)
    ensure_inputs(bench, model, args.mimic_dir, args.atc_map)
    common = ["--model", str(model), "--bench", str(bench), "--limit", str(args.limit)]
    common += ["--max-new-tokens", str(args.max_new_tokens), "--n-resamples", "10"]
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline_src:
            for label, extra in BASELINE_MODES.items():
                out = Path(tmp) / f"before-{len(rows)}"
                rows[f"before: {label}"] = run_mode([*common, *extra], out, args.baseline_src)
        for label, extra in MODES.items():
            rows[label] = run_mode([*common, *extra], Path(tmp) / f"run-{len(rows)}")
    reference = rows[REFERENCE]
    n = len(reference["predictions"])
    print(f"\n## ehr-r1 eval, tiny model, MIMIC-IV demo bench: {n} samples ({args.limit} per task), "
          f"max_new_tokens={args.max_new_tokens}\n")  # fmt: skip
    print("| batching mode | samples | batches | seconds | model s | peak RSS GB | max abs dP(yes) vs batch 1 "
          "| same answers as batch 1 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, stats in rows.items():
        delta, same = compare(stats, reference)
        batches = stats["timing"].get("batches", "n/a")
        print(f"| {label} | {len(stats['predictions'])} | {batches} | {stats['seconds']:.1f} "
              f"| {stats['timing']['model_s']:.1f} | {stats['maxrss_kb'] / 2**20:.2f} | {delta} | {same} |")  # fmt: skip


if __name__ == "__main__":
    main()

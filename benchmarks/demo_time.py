# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Wall time of ``ehr-r1 demo`` per stage (issue 10 target: the whole demo in <= 5 min on 2 cores).

Runs the demo as ``make demo`` does, in a fresh process (``--runs`` times, into a temporary folder unless
``--output``), and prints one Markdown table: each stage's seconds per run, its steps and final loss / mean reward or
score, then the total wall time and the peak RSS of the demo process and its children.

    python benchmarks/demo_time.py --runs 2
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_demo(output: Path) -> tuple[list[dict], float]:
    """Stages of one ``ehr-r1 demo --output output`` run (from its manifest) and its wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ehr_r1.cli", "demo", "--output", str(output)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - start
    return json.loads((output / "manifest.json").read_text())["stages"], wall


def result(stage: dict) -> str:
    if stage.get("mean_reward") is not None:  # GRPO: its loss is ~0 by construction
        return f"mean reward {stage['mean_reward']:.4f}"
    if stage.get("final_loss") is not None:
        return f"loss {stage['final_loss']:.4f}"
    return str(stage.get("score") or "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="Demo runs (the second rebuilds the first's outputs).")
    parser.add_argument("--output", help="Demo folder (default: a temporary one).")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="demo-time-") as tmp:
        output = Path(args.output or Path(tmp) / "demo")
        runs = [run_demo(output) for _ in range(args.runs)]
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    heads = " | ".join(f"run {i + 1} s" for i in range(len(runs)))
    print(f"| stage | {heads} | steps | loss / reward / score |")
    print("|---|" + "---:|" * len(runs) + "---:|---|")
    for i, stage in enumerate(runs[-1][0]):
        seconds = " | ".join(f"{stages[i]['seconds']:.1f}" for stages, _ in runs)
        print(f"| {stage['stage']} | {seconds} | {stage.get('steps') or ''} | {result(stage)} |")
    walls = " | ".join(f"**{wall:.1f}**" for _, wall in runs)
    print(f"| **wall (whole command)** | {walls} | | peak RSS {peak_gb:.2f} GB |")


if __name__ == "__main__":
    main()

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Output fingerprints of reference builds, to prove a refactor changes no byte (or to show which files changed).

Builds EHR-Bench (parquet + released JSONL) and EHR-Ins (TRL configs, CPT, token budget) on the real MIMIC-IV demo
(from ``../shared``) and on synthetic MIMIC-IV, and prints or compares the manifests' ``output_fingerprints``.

    python benchmarks/fingerprints.py --work /tmp/fp --write before.json
    python benchmarks/fingerprints.py --work /tmp/fp --compare before.json
"""

import argparse
import json
import sys
from pathlib import Path

from ehr_r1.cli import main as cli


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"  # ../shared/data beside the checkout


def builds(work: Path, patients: list[int], shared: Path) -> dict[str, list[str]]:
    jobs = {}
    demo = shared / "mimic-iv-demo-2.2"
    atc = ["--atc-map", str(shared / "mappings" / "ethos")]
    if demo.exists():
        jobs["demo/bench"] = ["build-bench", "--mimic-dir", str(demo), "--format", "jsonl", *atc]
        jobs["demo/ins"] = ["build-ins", "--mimic-dir", str(demo), "--max-per-task", "300", "--cpt", *atc]
    for n in patients:
        synth = work / f"synth-{n}"
        if not (synth / "synthetic_mimic.json").exists():
            cli(["synth-mimic", "--output", str(synth), "--patients", str(n), "--seed", "0", "--overwrite"])
        jobs[f"synth-{n}/bench"] = ["build-bench", "--mimic-dir", str(synth), "--format", "jsonl"]
        if n <= 1000:
            jobs[f"synth-{n}/ins"] = ["build-ins", "--mimic-dir", str(synth), "--max-per-task", "200", "--cpt"]
    return jobs


def fingerprints(work: Path, patients: list[int], tokenizer: str | None, shared: Path) -> dict[str, dict[str, str]]:
    out = {}
    for name, args in builds(work, patients, shared).items():
        folder = work / "out" / name
        extra = ["--max-length", "1024", "--tokenizer", tokenizer] if tokenizer and name.endswith("ins") else []
        code = cli([*args, *extra, "--output", str(folder)])
        if code:
            sys.exit(f"{name}: exit {code}")
        out[name] = json.loads((folder / "manifest.json").read_text())["output_fingerprints"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--patients", type=int, nargs="+", default=[1000, 20000])
    parser.add_argument("--tokenizer", help="Tokenizer folder for the EHR-Ins token budget (ehr-r1 tiny-model).")
    parser.add_argument("--shared", type=Path, default=SHARED, help="Folder holding mimic-iv-demo-2.2/ and mappings/.")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    prints = fingerprints(args.work, args.patients, args.tokenizer, args.shared)
    if args.write:
        args.write.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        print("| build | files | identical | changed | only before | only after |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in sorted(set(before) | set(prints)):
            a, b = before.get(name, {}), prints.get(name, {})
            same = sum(a[k] == b[k] for k in set(a) & set(b))
            changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
            print(f"| {name} | {len(b)} | {same} | {len(changed)} | {len(set(a) - set(b))} | {len(set(b) - set(a))} |")
            for k in changed:
                print(f"  changed: {name}/{k}", file=sys.stderr)


if __name__ == "__main__":
    main()

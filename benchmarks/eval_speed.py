# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Speed of ``ehr-r1 eval`` on the tiny model (or ``--model``): prints two tables, asserts nothing.

1. Risk scoring by one forward pass (P(yes) from next-token logits) vs generating and parsing an answer, same model,
   same samples, same batches. Target: >= 10x faster.
2. Harness overhead: wall time of the scoring loop (and of the whole run without model loading) minus model compute.
   Target: <= 5 % of the loop wall time.

Usage: OMP_NUM_THREADS=1 python benchmarks/eval_speed.py [--model DIR] [--samples 32] [--events 20]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ehr_r1.evaluation import EvalConfig
from ehr_r1.evaluation.bench import Sample


def make_samples(n: int, events: int, task_type: str) -> list[Sample]:
    """Realistic-looking samples: demographics + admission header + lab tables, in the bench format."""
    out = []
    for i in range(n):
        blocks = [
            f"## Patient Demographics [None]\n- Anchor_Age: {30 + i % 60}\n- Gender: {'MF'[i % 2]}",
            "## Admissions [2150-01-01 08:00:00]\n- Admission_Type: EW EMER.\n- Admission_Location: EMERGENCY ROOM",
        ]
        for k in range(events + i % 5):
            blocks.append(
                f"## Labotary Test Events [2150-01-01 {k % 24:02d}:{i % 60:02d}:00]\n"
                "| Item_Name | Valuenum | Valueuom | Ref_Range_Lower | Ref_Range_Upper | Flag |\n"
                "| ------ | ------ | ------ | ------ | ------ | ------ |\n"
                f"| Hemoglobin | {9 + (i + k) % 7}.{k % 10} | g/dL | 12.0 | 16.0 | abnormal |\n"
                f"| Potassium | {3 + k % 3}.{i % 10} | mEq/L | 3.3 | 5.1 | nan |"
            )
        risk = task_type == "risk_prediction"
        out.append(
            Sample(
                idx=str(i),
                task="Inpatient_Mortality" if risk else "labevents",
                task_type=task_type,
                instruction="Given the sequence of events that have occurred in a hospital, please "
                + (
                    "predict whether the patient will die in hospital."
                    if risk
                    else "give the next Labotary Test Events suggestion for the patients."
                ),
                input="\n\n".join(blocks),
                output=("yes" if i % 2 else "no") if risk else "Hemoglobin\nPotassium",
                candidates=["yes", "no"] if risk else [],
            )
        )
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def risk_rows(backend, samples: list[Sample], batch_size: int, budgets: tuple[int, ...]) -> list[str]:
    """Table rows for one prompt length: forward-pass scoring vs generate-and-parse at each token budget."""
    import torch

    from ehr_r1.prompting import parse_risk

    batches = [samples[i : i + batch_size] for i in range(0, len(samples), batch_size)]
    prompts = [[backend.renderer.prompt(s, 1)[0] for s in b] for b in batches]
    n_tokens = statistics.mean(backend.renderer.n_tokens(p) for b in prompts for p in b)

    def forward():
        for batch in batches:
            backend.score_risk(batch)

    def generate(new_tokens: int):
        def run():
            for batch in batches:  # same harness path as score_risk: render, tokenise, run, parse
                encoded = backend._take(batch)
                ids, mask = backend._pad([e.ids for e in encoded], left=True)
                with torch.inference_mode():
                    out = backend.model.generate(
                        input_ids=ids,
                        attention_mask=mask,
                        max_new_tokens=new_tokens,
                        do_sample=False,
                        pad_token_id=backend.tokenizer.pad_token_id,
                    )
                answers = backend.tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)
                [parse_risk(a) for a in answers]

        return run

    backend.score_risk(batches[0])  # warm-up
    base = min(timed(forward) for _ in range(2))
    rows = [
        f"| {n_tokens:.0f} | one forward pass, P(yes) from logits | {base:.2f} | {len(samples) / base:.1f} | 1.0x |"
    ]
    for new_tokens in budgets:
        seconds = timed(generate(new_tokens))
        rows.append(
            f"| {n_tokens:.0f} | generate {new_tokens} tokens + parse | {seconds:.2f} | {len(samples) / seconds:.1f} "
            f"| {seconds / base:.1f}x |"
        )
    return rows


def risk_table(model: str, n: int, event_counts: tuple[int, ...], batch_size: int, budgets: tuple[int, ...]) -> None:
    from ehr_r1.evaluation.hf_backend import TransformersBackend

    backend = TransformersBackend(EvalConfig(bench="", output="", model=model, batch_size=batch_size))
    print(f"\n## Risk scoring: {n} samples, batch {batch_size}\n")
    print("| prompt tokens (mean) | method | seconds | samples/s | time vs forward |")
    print("|---:|---|---:|---:|---:|")
    for events in event_counts:
        for row in risk_rows(backend, make_samples(n, events, "risk_prediction"), batch_size, budgets):
            print(row)
    print(
        "\n(2 tokens = a direct 'yes<|im_end|>' answer, the cheapest possible generation; larger budgets = an answer "
        "after reasoning, as with thinking on. The random tiny model never stops early, so every row uses its full "
        "budget.)"
    )


def overhead_table(model: str, n: int, events: int, batch_size: int, max_new_tokens: int) -> None:
    from ehr_r1.evaluation import evaluate_bench

    with tempfile.TemporaryDirectory() as tmp:
        bench = Path(tmp) / "bench.jsonl"
        rows = make_samples(n, events, "risk_prediction") + make_samples(n, events, "decision_making")
        with open(bench, "w") as f:
            for s in rows:
                info = {"task": s.task, "task_type": s.task_type}
                f.write(json.dumps({**s.__dict__, "task_info": info}) + "\n")
        config = EvalConfig(
            bench=str(bench),
            output=str(Path(tmp) / "out"),
            model=model,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
            n_resamples=1000,
        )
        start = time.perf_counter()
        timing = evaluate_bench(config)["timing"]
        wall = time.perf_counter() - start
    rest = wall - timing["load_s"]
    print(f"\n## Harness overhead: {2 * n} samples ({n} risk, {n} decision-making, max_new_tokens={max_new_tokens})\n")
    print("| scope | wall s | model compute s | overhead s | overhead % |")
    print("|---|---:|---:|---:|---:|")
    loop, model_s = timing["loop_s"], timing["model_s"]
    print(f"| scoring loop (prompts, truncation, tokenising, writing) | {loop:.2f} | {model_s:.2f} "
          f"| {loop - model_s:.2f} | {100 * (loop - model_s) / loop:.1f} |")  # fmt: skip
    print(f"| whole run minus model loading (+ bench read, bootstrap, report, plot) | {rest:.2f} | {model_s:.2f} "
          f"| {rest - model_s:.2f} | {100 * (rest - model_s) / rest:.1f} |")  # fmt: skip
    print(f"\n(model loading, not counted above: {timing['load_s']:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Model folder (default: build the tiny model in a temp folder).")
    parser.add_argument("--samples", type=int, default=32, help="Samples per task type.")
    parser.add_argument("--events", type=int, default=20, help="Lab events per sample (prompt length).")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64, help="Decision-making budget in the overhead run.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from ehr_r1.tiny_model import build_tiny_model

            model = str(Path(tmp) / "tiny")
            build_tiny_model(model)
        risk_table(model, args.samples, (2, args.events), args.batch_size, (2, 32, 256))
        overhead_table(model, args.samples, args.events, args.batch_size, args.max_new_tokens)


if __name__ == "__main__":
    main()

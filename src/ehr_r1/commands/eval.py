# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 eval``: score a model (transformers in-process or an OpenAI-compatible server) or a baseline on EHR-Bench.

Examples::

    ehr-r1 eval --model BlueZeros/EHR-R1-1.7B --bench ehr_bench/ --output runs/ehr-r1-1.7b
    ehr-r1 eval --backend openai --base-url http://127.0.0.1:8000/v1 --model EHR-R1-8B \\
        --bench ehr_bench_risk_prediction.jsonl --output runs/8b-risk
    ehr-r1 eval --baseline logreg --train ehr_ins/ --bench ehr_bench/ --output runs/logreg
    ehr-r1 eval --model BlueZeros/EHR-R1-1.7B --bench ehr_bench/ --output runs/plain --protocol plain

``--protocol official`` (the default) prompts as the released evaluation scripts (``test.py --prompt``: candidate list
and answer-format note, no think switch); ``--protocol plain`` as training (think switch, no candidate list).
results.json records which one was used. The options are the fields of :class:`~ehr_r1.evaluation.config.EvalConfig` (see ``ehr_r1.cli_args``).
"""

from ehr_r1.evaluation.config import EvalConfig


HELP = "Score a model (or a baseline) on EHR-Bench."
CONFIG = EvalConfig


def run(config: EvalConfig) -> int:
    from ehr_r1.evaluation import evaluate_bench

    results = evaluate_bench(config)
    if results.get("protocol"):
        print(f"protocol: {results['protocol']}")  # noqa: T201
    for kind, entry in results["aggregates"].items():
        score = "n/a" if entry["score"] is None else f"{entry['score']:.4f}"
        print(f"{kind}: {score} over {entry.get('n_tasks', 0)} tasks ({entry['n']} samples)")  # noqa: T201
    print(f"wrote {config.output}/results.json, report.md, per_task.png, predictions.jsonl")  # noqa: T201
    return 0

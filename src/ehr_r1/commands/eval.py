# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 eval``: score a model (transformers in-process or an OpenAI-compatible server) or a baseline on EHR-Bench.

Examples::

    ehr-r1 eval --model BlueZeros/EHR-R1-1.7B --bench ehr_bench/ --output runs/ehr-r1-1.7b
    ehr-r1 eval --backend openai --base-url http://127.0.0.1:8000/v1 --model EHR-R1-8B \\
        --bench ehr_bench_risk_prediction.jsonl --output runs/8b-risk
    ehr-r1 eval --baseline logreg --train ehr_ins/ --bench ehr_bench/ --output runs/logreg
"""

import argparse
import dataclasses

from ehr_r1.errors import EhrR1Error


HELP = "Score a model (or a baseline) on EHR-Bench."


def _help(name: str) -> str:
    from ehr_r1.evaluation.config import EvalConfig

    return next(f.metadata["help"] for f in dataclasses.fields(EvalConfig) if f.name == name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help=_help("model"))
    parser.add_argument("--bench", required=True, help=_help("bench"))
    parser.add_argument("--output", required=True, help=_help("output"))
    parser.add_argument("--backend", choices=("transformers", "openai"), default="transformers")
    parser.add_argument("--base-url", help=_help("base_url"))
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help=_help("api_key_env"))
    parser.add_argument("--tasks", nargs="+", help=_help("tasks"))
    parser.add_argument("--limit", type=int, help=_help("limit"))
    parser.add_argument("--max-new-tokens", type=int, default=4096, help=_help("max_new_tokens"))
    parser.add_argument("--batch-size", type=int, default=8, help=_help("batch_size"))
    parser.add_argument("--max-model-len", type=int, help=_help("max_model_len"))
    parser.add_argument("--no-think", dest="think", action="store_false", help="Decision-making without thinking.")
    parser.add_argument("--candidate-prompt", action="store_true", help=_help("candidate_prompt"))
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"))
    parser.add_argument("--device", help=_help("device"))
    parser.add_argument("--tokenizer", help=_help("tokenizer"))
    parser.add_argument("--top-logprobs", type=int, default=20, help=_help("top_logprobs"))
    parser.add_argument(
        "--no-template-kwargs",
        dest="template_kwargs",
        action="store_false",
        help="openai backend: do not send chat_template_kwargs (for hosted APIs that reject unknown fields).",
    )
    parser.add_argument("--request-timeout", type=float, default=600.0, help=_help("request_timeout"))
    parser.add_argument("--baseline", choices=("frequency", "logreg"), help=_help("baseline"))
    parser.add_argument("--train", help=_help("train"))
    parser.add_argument("--cv-folds", type=int, default=5, help=_help("cv_folds"))
    parser.add_argument("--n-resamples", type=int, default=1000, help=_help("n_resamples"))
    parser.add_argument("--seed", type=int, default=0, help=_help("seed"))
    parser.add_argument("--overwrite", action="store_true", help=_help("overwrite"))


def run(args: argparse.Namespace) -> int:
    from ehr_r1.evaluation import EvalConfig, evaluate_bench

    names = {f.name for f in dataclasses.fields(EvalConfig)}
    config = EvalConfig(**{k: v for k, v in vars(args).items() if k in names})
    if not config.baseline and not config.model:
        raise EhrR1Error("--model is required unless --baseline is given")
    for name in ("limit", "batch_size", "max_new_tokens", "n_resamples"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise EhrR1Error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    results = evaluate_bench(config)
    for kind, entry in results["aggregates"].items():
        score = "n/a" if entry["score"] is None else f"{entry['score']:.4f}"
        print(f"{kind}: {score} over {entry.get('n_tasks', 0)} tasks ({entry['n']} samples)")  # noqa: T201
    print(f"wrote {config.output}/results.json, report.md, per_task.png, predictions.jsonl")  # noqa: T201
    return 0

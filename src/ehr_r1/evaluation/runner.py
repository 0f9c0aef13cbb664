# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``ehr-r1 eval`` loop: load the bench, skip cached samples, score the rest batch by batch, write the results.

Failed samples (no answer from the server after its retries) are stored with their reason, left out of the scores and
counted beside them (``n_failed``); later runs retry them ``retry_failed`` times.
"""

import json
import logging
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path

from tqdm.auto import tqdm

from ehr_r1 import __version__
from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import Output, make_backend
from ehr_r1.evaluation.bench import Bench, Sample, check_labelled, load_bench
from ehr_r1.evaluation.config import EvalConfig
from ehr_r1.evaluation.redaction import redact_url
from ehr_r1.evaluation.report import write_report
from ehr_r1.evaluation.sample_prompt import PROTOCOL_PROMPTS
from ehr_r1.evaluation.scoring import sample_prf, score_bench
from ehr_r1.evaluation.store import PredictionStore
from ehr_r1.io import check_not_inputs
from ehr_r1.prompting import RISK_PREDICTION, parse_items


logger = logging.getLogger(__name__)

PREDICTIONS, RESULTS, RUN = "predictions.jsonl", "results.json", "run.json"
# Settings that change predictions: cached predictions are reused only when these match.
IDENTITY = ("model", "backend", "baseline", "train", "think", "protocol", "max_new_tokens", "max_model_len")


def evaluate_bench(config: EvalConfig) -> dict:
    """Run one evaluation and return results.json's content (also written to ``config.output``)."""
    local = [p for p in (config.model, config.tokenizer) if p and Path(p).exists()]
    check_not_inputs(config.output, [config.bench, config.train, *local])  # never write into what is read
    bench = load_bench(config.bench, config.tasks, config.limit)
    check_labelled(bench.samples)
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    identity = {k: getattr(config, k) for k in IDENTITY} | {"bench_fingerprint": bench.fingerprint}
    identity["protocol"] = _protocol(config)
    run_info = _check_identity(out / RUN, identity, config.overwrite)
    store = PredictionStore(out / PREDICTIONS, reset=config.overwrite)
    todo = [s for s in bench.samples if not store.done(s.key, config.retry_failed)]
    logger.info("%d samples, %d cached, %d to score", len(bench.samples), len(bench.samples) - len(todo), len(todo))
    given_up = sum(1 for s in bench.samples if store.failed_runs(s.key) > config.retry_failed)
    if given_up:
        runs = config.retry_failed + 1
        logger.warning("%d samples failed in %d runs and are not retried (--overwrite starts over)", given_up, runs)
    timing: dict = {}
    if todo:
        settings, timing = (_run_baseline if config.baseline else _run_model)(config, bench, todo, store)
        run_info["settings"] = settings
        (out / RUN).write_text(json.dumps(run_info, indent=2))
    results = build_results(config, bench, store, run_info.get("settings", {}), timing)
    (out / RESULTS).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    write_report(results, out)
    return results


def _check_identity(path: Path, identity: dict, overwrite: bool) -> dict:
    """Cached predictions are reused only by a run with the same identity; an empty output folder is free to take."""
    has_predictions = (path.parent / PREDICTIONS).exists() and (path.parent / PREDICTIONS).stat().st_size > 0
    if path.exists() and has_predictions and not overwrite:
        try:
            previous = json.loads(path.read_text())
        except json.JSONDecodeError:
            raise EhrR1Error(f"{path}: malformed; delete it or use --overwrite") from None
        diff = {k: (previous["identity"].get(k), v) for k, v in identity.items() if previous["identity"].get(k) != v}
        if diff:
            name, (old, new) = next(iter(diff.items()))
            raise EhrR1Error(
                f"{path.parent} holds predictions of another run ({name}: {old!r} != {new!r}); "
                "use --overwrite or another --output"
            )
        return previous
    info = {"identity": identity}
    path.write_text(json.dumps(info, indent=2))
    return info


def _record(sample: Sample, output: Output, failed_before: int = 0) -> dict:
    record = {"idx": sample.idx, "task": sample.task, "task_type": sample.task_type, "gold": sample.output}
    if output.error:  # no answer: not a prediction (not an empty answer either)
        record |= {"prediction": None, "error": output.error, "failed_runs": failed_before + 1}
        if sample.task_type == RISK_PREDICTION:
            record |= {"p_yes": None, "score_source": None}
    elif sample.task_type == RISK_PREDICTION:
        record |= {"p_yes": output.p_yes, "score_source": output.source, "prediction": output.text}
    else:
        record |= {"prediction": output.text, "items": parse_items(output.text or "")}
        record["f1"] = sample_prf(output.text or "", sample.output)[2]
    record["events_dropped"] = output.events_dropped
    return record


def _ordered(todo: list[Sample]) -> list[list[Sample]]:
    """Risk samples first (fast), then decision-making; longest inputs first within each (less padding, early OOM)."""
    ordered = sorted(todo, key=lambda s: (s.task_type != RISK_PREDICTION, -len(s.input)))
    return [list(group) for _, group in groupby(ordered, key=lambda s: s.task_type)]


def _run_model(config: EvalConfig, bench: Bench, todo: list[Sample], store: PredictionStore) -> tuple[dict, dict]:
    start = time.perf_counter()
    backend = make_backend(config)
    loaded = time.perf_counter()
    n_failed = n_batches = 0
    with tqdm(total=len(todo), desc="ehr-r1 eval", unit="sample") as bar:
        for group in _ordered(todo):
            for batch in backend.batches(group):
                risk = batch[0].task_type == RISK_PREDICTION
                outputs = backend.score_risk(batch) if risk else backend.generate(batch)
                records = [_record(s, o, store.failed_runs(s.key)) for s, o in zip(batch, outputs, strict=True)]
                store.append(records)
                n_failed += sum(o.error is not None for o in outputs)
                n_batches += 1
                bar.update(len(batch))
    end = time.perf_counter()
    if n_failed:
        logger.warning("%d samples failed (excluded from the scores; a re-run retries them)", n_failed)
    loop_s, model_s = end - loaded, backend.timer.seconds
    timing = {
        "load_s": round(loaded - start, 3),
        "loop_s": round(loop_s, 3),
        "model_s": round(model_s, 3),
        "overhead_fraction": round(1 - model_s / loop_s, 4) if loop_s > 0 else None,
        "samples": len(todo),
        "batches": n_batches,
    }
    return {"backend": backend.name, **backend.settings()}, timing


def _run_baseline(config: EvalConfig, bench: Bench, todo: list[Sample], store: PredictionStore) -> tuple[dict, dict]:
    from ehr_r1.evaluation.baselines import run_baseline

    start = time.perf_counter()
    train = load_bench(config.train, unique=False).samples if config.train else None
    outputs = run_baseline(config.baseline, bench.samples, train, seed=config.seed, folds=config.cv_folds)
    store.append([_record(s, outputs[s.key]) for s in todo])
    settings = {"baseline": config.baseline, "train": config.train, "cv_folds": config.cv_folds}
    return settings, {"loop_s": round(time.perf_counter() - start, 3), "samples": len(todo)}


def build_results(config: EvalConfig, bench: Bench, store: PredictionStore, settings: dict, timing: dict) -> dict:
    """results.json from the stored predictions of the bench's samples (cached and new alike); failed ones are counted."""
    records = [store.records[s.key] for s in bench.samples]
    answered = [(r, s) for r, s in zip(records, bench.samples, strict=True) if not r.get("error")]
    scored = score_bench(
        tasks=[r["task"] for r, _ in answered],
        predictions=[
            r.get("p_yes") if r["task_type"] == RISK_PREDICTION else r.get("prediction") for r, _ in answered
        ],
        references=[s.output for _, s in answered],
        task_types=[r["task_type"] for r, _ in answered],
        n_resamples=config.n_resamples,
        seed=config.seed,
        confidence=config.confidence,
    )
    failed = [r for r in records if r.get("error")]
    failed_per_task = Counter(r["task"] for r in failed)
    for record in records:  # tasks whose every sample failed have no score
        if record["task"] not in scored["tasks"]:
            metric = "auroc" if record["task_type"] == RISK_PREDICTION else "f1"
            empty = {"score": None, "ci_low": None, "ci_high": None, "n": 0, "metric": metric, "n_unparseable": 0}
            scored["tasks"][record["task"]] = {"task_type": record["task_type"], **empty}
    if any(e["n"] == 0 for e in scored["tasks"].values()):
        logger.warning("no answer for any sample of: %s", sorted(t for t, e in scored["tasks"].items() if e["n"] == 0))
    for task, entry in scored["tasks"].items():
        entry["n_failed"] = failed_per_task[task]
        entry["n_truncated"] = sum(r.get("events_dropped", 0) > 0 for r in records if r["task"] == task)
    for kind, entry in scored["aggregates"].items():
        entry["n_failed"] = sum(failed_per_task[t] for t, e in scored["tasks"].items() if e["task_type"] == kind)
    failures = {
        "n_failed": len(failed),
        "by_reason": dict(Counter(_reason_kind(r["error"]) for r in failed).most_common()),
        "note": "failed samples got no answer after their retries: they are left out of the scores",
    }
    decoding = {
        "greedy": True,
        "max_new_tokens": config.max_new_tokens,
        "think_decision_making": config.think,
        "think_risk_prediction": False,
        "risk_score": "P(yes)/(P(yes)+P(no)) of the first answer token",
        "protocol": config.protocol,
        "prompt": PROTOCOL_PROMPTS[config.protocol],
        "batch_size": config.batch_size,
        "max_batch_tokens": config.max_batch_tokens if config.backend == "transformers" else None,
    }
    return {
        "ehr_r1_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": config.model,
        "backend": None if config.baseline else config.backend,
        "baseline": config.baseline,
        "protocol": _protocol(config),
        "bench": {
            "path": str(bench.path),
            "fingerprint": bench.fingerprint,
            "n_samples": len(bench.samples),
            "tasks": bench.tasks,
            "limit": config.limit,
        },
        "decoding": None if config.baseline else decoding,
        "settings": settings,
        "bootstrap": {"n_resamples": config.n_resamples, "seed": config.seed, "confidence": config.confidence},
        "aggregates": scored["aggregates"],
        "tasks": dict(sorted(scored["tasks"].items())),
        "failures": failures,
        "timing": timing,
        "config": _public_config(config),
    }


def _protocol(config: EvalConfig) -> str | None:
    """The prompt protocol of the run (``None`` for baselines, which read no prompt)."""
    return None if config.baseline else config.protocol


def _reason_kind(reason: str) -> str:
    """The kind of a failure reason: ``timeout``, ``HTTP 503``, ``bad response: content is null``, ..."""
    fields = reason.split(" (", 1)[0].split(": ")
    return ": ".join(fields[:2]) if fields[0] == "bad response" else fields[0]


def _public_config(config: EvalConfig) -> dict:
    """The config as written to results.json: credentials in ``base_url`` masked."""
    return asdict(config) | {"base_url": redact_url(config.base_url)}

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``ehr-r1 eval`` loop: load the bench, skip cached samples, score the rest batch by batch, write the results."""

import json
import logging
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from ehr_r1 import __version__
from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import Output, make_backend
from ehr_r1.evaluation.bench import Bench, Sample, check_labelled, load_bench
from ehr_r1.evaluation.config import EvalConfig
from ehr_r1.evaluation.report import write_report
from ehr_r1.evaluation.scoring import sample_prf, score_bench
from ehr_r1.evaluation.store import PredictionStore
from ehr_r1.prompting import RISK_PREDICTION, parse_items


logger = logging.getLogger(__name__)

PREDICTIONS, RESULTS, RUN = "predictions.jsonl", "results.json", "run.json"
# Settings that change predictions: cached predictions are reused only when these match.
IDENTITY = ("model", "backend", "baseline", "train", "think", "candidate_prompt", "max_new_tokens", "max_model_len")


def evaluate_bench(config: EvalConfig) -> dict:
    """Run one evaluation and return results.json's content (also written to ``config.output``)."""
    bench = load_bench(config.bench, config.tasks, config.limit)
    check_labelled(bench.samples)
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    identity = {k: getattr(config, k) for k in IDENTITY} | {"bench_fingerprint": bench.fingerprint}
    run_info = _check_identity(out / RUN, identity, config.overwrite)
    store = PredictionStore(out / PREDICTIONS, reset=config.overwrite)
    todo = [s for s in bench.samples if not store.done(s.key)]
    logger.info("%d samples, %d cached, %d to score", len(bench.samples), len(bench.samples) - len(todo), len(todo))
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


def _record(sample: Sample, output: Output) -> dict:
    record = {"idx": sample.idx, "task": sample.task, "task_type": sample.task_type, "gold": sample.output}
    if sample.task_type == RISK_PREDICTION:
        record |= {"p_yes": output.p_yes, "score_source": output.source, "prediction": output.text}
    else:
        record |= {"prediction": output.text, "items": parse_items(output.text or "")}
        record["f1"] = sample_prf(output.text or "", sample.output)[2]
    record["events_dropped"] = output.events_dropped
    if output.error:
        record["error"] = output.error
    return record


def _batches(todo: list[Sample], size: int) -> list[list[Sample]]:
    """Risk samples first (fast), then decision-making; longest inputs first within each (less padding, early OOM)."""
    ordered = sorted(todo, key=lambda s: (s.task_type != RISK_PREDICTION, -len(s.input)))
    batches = []
    for i in range(0, len(ordered), size):
        chunk = ordered[i : i + size]
        batches.extend([[s for s in chunk if s.task_type == t] for t in dict.fromkeys(s.task_type for s in chunk)])
    return batches


def _run_model(config: EvalConfig, bench: Bench, todo: list[Sample], store: PredictionStore) -> tuple[dict, dict]:
    start = time.perf_counter()
    backend = make_backend(config)
    loaded = time.perf_counter()
    n_errors = 0
    with tqdm(total=len(todo), desc="ehr-r1 eval", unit="sample") as bar:
        for batch in _batches(todo, max(1, config.batch_size)):
            risk = batch[0].task_type == RISK_PREDICTION
            outputs = backend.score_risk(batch) if risk else backend.generate(batch)
            store.append([_record(s, o) for s, o in zip(batch, outputs, strict=True)])
            n_errors += sum(o.error is not None for o in outputs)
            bar.update(len(batch))
    end = time.perf_counter()
    if n_errors:
        logger.warning("%d requests failed (recorded as unparseable; re-run to retry them)", n_errors)
    loop_s, model_s = end - loaded, backend.timer.seconds
    timing = {
        "load_s": round(loaded - start, 3),
        "loop_s": round(loop_s, 3),
        "model_s": round(model_s, 3),
        "overhead_fraction": round(1 - model_s / loop_s, 4) if loop_s > 0 else None,
        "samples": len(todo),
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
    """results.json from the stored predictions of the bench's samples (cached and new alike)."""
    records = [store.records[s.key] for s in bench.samples]
    scored = score_bench(
        tasks=[r["task"] for r in records],
        predictions=[r.get("p_yes") if r["task_type"] == RISK_PREDICTION else r.get("prediction") for r in records],
        references=[s.output for s in bench.samples],
        task_types=[r["task_type"] for r in records],
        n_resamples=config.n_resamples,
        seed=config.seed,
        confidence=config.confidence,
    )
    for task, entry in scored["tasks"].items():
        mine = [r for r in records if r["task"] == task]
        entry["n_errors"] = sum(bool(r.get("error")) for r in mine)
        entry["n_truncated"] = sum(r.get("events_dropped", 0) > 0 for r in mine)
    decoding = {
        "greedy": True,
        "max_new_tokens": config.max_new_tokens,
        "think_decision_making": config.think,
        "think_risk_prediction": False,
        "risk_score": "P(yes)/(P(yes)+P(no)) of the first answer token",
        "candidate_prompt": config.candidate_prompt,
        "batch_size": config.batch_size,
    }
    return {
        "ehr_r1_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": config.model,
        "backend": None if config.baseline else config.backend,
        "baseline": config.baseline,
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
        "tasks": scored["tasks"],
        "timing": timing,
        "config": asdict(config),
    }

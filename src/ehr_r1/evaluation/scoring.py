# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR-Bench scoring math (spec §8.2): set P/R/F1, AUROC, bootstrap CIs and the two headline aggregates.

Shared by ``ehr-r1 eval`` and the ``evaluate_metrics/`` modules, which are thin wrappers around this file. Answers are
parsed with :mod:`ehr_r1.prompting` only (the one-parser rule).

Bootstrap: per task, ``n_resamples`` resamples of the task's samples with replacement (risk tasks resample positives and
negatives separately, so every resample has both classes). Aggregates are the macro mean over tasks of the per-task
replicates with the same resample number, i.e. a bootstrap stratified by task; CIs are percentile intervals.
"""

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ehr_r1.prompting import (
    DECISION_MAKING,
    RISK_PREDICTION,
    YES,
    gold_items,
    is_risk_label,
    is_yes,
    parse_items,
    parse_risk,
    set_prf,
)


logger = logging.getLogger(__name__)

DEFAULT_RESAMPLES, DEFAULT_SEED, DEFAULT_CONFIDENCE = 1000, 0, 0.95
_CHUNK = 128  # bootstrap resamples per vectorised chunk (bounds memory at _CHUNK x n floats)


@dataclass
class TaskScore:
    """Score of one task (or one aggregate) with its bootstrap CI."""

    score: float
    ci_low: float
    ci_high: float
    n: int
    metric: str
    n_unparseable: int = 0
    extra: dict = field(default_factory=dict)
    replicates: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("replicates", "extra")}
        return {**{k: _clean(v) for k, v in out.items()}, **{k: _clean(v) for k, v in self.extra.items()}}


def _clean(value):
    """JSON-friendly numbers: numpy scalars to Python, NaN to None."""
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------------------------------------------ per-sample scores
def sample_prf(prediction: str | Sequence[str], reference: str | Sequence[str]) -> tuple[float, float, float]:
    """Set precision/recall/F1 of one answer (model text, parsed after the last ``</think>``, or a list of items)."""
    items = parse_items(prediction) if isinstance(prediction, str) else list(prediction)
    return set_prf(items, gold_items(reference))


def risk_label(reference: str | int | bool) -> int:
    """1 for ``yes`` / 1 / True, 0 for ``no`` / 0 / False; ValueError otherwise."""
    if isinstance(reference, str):
        if not is_risk_label(reference):
            raise ValueError(f"risk reference must be 'yes' or 'no', got {reference!r}")
        return int(is_yes(reference))
    return int(bool(reference))


def risk_score(prediction: str | float | None) -> float | None:
    """P(yes) from a number, a number as text, or a yes/no answer text (hard 1.0 / 0.0); None if unparseable."""
    if prediction is None:
        return None
    if isinstance(prediction, (int, float)):
        return None if math.isnan(prediction) else float(prediction)
    try:
        value = float(prediction.strip())
        return None if math.isnan(value) else value
    except ValueError:
        answer = parse_risk(prediction)
        return None if answer is None else float(answer == YES)


def worst_case(scores: Sequence[float | None], labels: Sequence[int]) -> np.ndarray:
    """Replace missing scores by the wrong extreme (0 for positives, 1 for negatives): unparseable counts as wrong."""
    return np.array([(1.0 - y) if s is None else s for s, y in zip(scores, labels, strict=True)], dtype=float)


# -------------------------------------------------------------------------------------------------------- statistics
def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve (ties count 1/2, as ``sklearn.metrics.roc_auc_score``); NaN with one class only."""
    return float(_auroc_rows(np.asarray(scores, dtype=float)[None, :], np.asarray(labels, dtype=bool)[None, :])[0])


def _auroc_rows(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row-wise Mann-Whitney AUROC of (B, n) score and boolean label matrices."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)
    n_pos = labels.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (ranks * labels).sum(axis=1) - n_pos * (n_pos + 1) / 2
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def _percentile_ci(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(values: Sequence[float], n_resamples: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of the mean of ``values``."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    if values.size == 0:
        return np.full(n_resamples, np.nan)
    out = []
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        out.append(values[rng.integers(0, values.size, (size, values.size))].mean(axis=1))
    return np.concatenate(out)


def bootstrap_auroc(scores: Sequence[float], labels: Sequence[int], n_resamples: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of AUROC, resampling positives and negatives separately (stratified by label)."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    pos, neg = scores[labels], scores[~labels]
    if pos.size == 0 or neg.size == 0:
        return np.full(n_resamples, np.nan)
    rng = np.random.default_rng(seed)
    row_labels = np.concatenate([np.ones(pos.size, bool), np.zeros(neg.size, bool)])
    out = []
    for start in range(0, n_resamples, _CHUNK):
        size = min(_CHUNK, n_resamples - start)
        sample = np.concatenate(
            [pos[rng.integers(0, pos.size, (size, pos.size))], neg[rng.integers(0, neg.size, (size, neg.size))]],
            axis=1,
        )
        out.append(_auroc_rows(sample, np.broadcast_to(row_labels, sample.shape)))
    return np.concatenate(out)


# ------------------------------------------------------------------------------------------------------ task scores
def score_decision_making(
    predictions: Sequence[str | Sequence[str]],
    references: Sequence[str | Sequence[str]],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> TaskScore:
    """Mean per-sample set F1 (plus mean precision / recall) of one task; empty answers count as unparseable."""
    prf = np.array([sample_prf(p, r) for p, r in zip(predictions, references, strict=True)], dtype=float).reshape(
        -1, 3
    )
    n_unparseable = sum(1 for p in predictions if not (parse_items(p) if isinstance(p, str) else list(p)))
    reps = bootstrap_mean(prf[:, 2], n_resamples, seed)
    low, high = _percentile_ci(reps, confidence)
    mean = prf.mean(axis=0) if len(prf) else np.full(3, np.nan)
    extra = {"precision": float(mean[0]), "recall": float(mean[1])}
    return TaskScore(float(mean[2]), low, high, len(prf), "f1", n_unparseable, extra, reps)


def score_risk(
    scores: Sequence[float | None],
    references: Sequence[str | int | bool],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> TaskScore:
    """AUROC of P(yes) scores for one task; missing scores (None) count as unparseable and as maximally wrong."""
    labels = [risk_label(r) for r in references]
    filled = worst_case(scores, labels)
    value = auroc(filled, labels) if labels else math.nan
    reps = bootstrap_auroc(filled, labels, n_resamples, seed)
    low, high = _percentile_ci(reps, confidence)
    n_unparseable = sum(s is None for s in scores)
    extra = {"prevalence": float(np.mean(labels)) if labels else math.nan}
    return TaskScore(value, low, high, len(labels), "auroc", n_unparseable, extra, reps)


def aggregate(task_scores: dict[str, TaskScore], metric: str, confidence: float = DEFAULT_CONFIDENCE) -> TaskScore:
    """Macro mean over tasks with a task-stratified bootstrap CI; tasks with an undefined score are left out."""
    usable = {name: s for name, s in task_scores.items() if not math.isnan(s.score)}
    if len(usable) < len(task_scores):
        logger.warning(
            "left out of the %s aggregate (undefined score): %s", metric, sorted(set(task_scores) - set(usable))
        )
    if not usable:
        return TaskScore(math.nan, math.nan, math.nan, 0, metric, extra={"n_tasks": 0})
    value = float(np.mean([s.score for s in usable.values()]))
    reps = np.nanmean(np.stack([s.replicates for s in usable.values()]), axis=0)
    low, high = _percentile_ci(reps, confidence)
    n = sum(s.n for s in usable.values())
    n_unparseable = sum(s.n_unparseable for s in usable.values())
    return TaskScore(value, low, high, n, metric, n_unparseable, {"n_tasks": len(usable)}, reps)


def _task_seed(seed: int, task: str) -> int:
    """A per-task seed that does not depend on task order or on Python's hash seed."""
    return (seed * 1_000_003 + sum((i + 1) * ord(c) for i, c in enumerate(task))) % (2**32)


def _task_scorer(task: str):
    """A task's own scorer (its module's metric), or None for the set F1 / AUROC defaults: MIMIC-IV-CDM's
    ``cdm_diagnosis`` (``ehr_r1.evaluation.cdm``)."""
    from ehr_r1.evaluation import cdm

    return cdm.task_scorer(task)


def is_risk_task(references: Sequence[str]) -> bool:
    """A task is a risk task when every reference is ``yes`` or ``no``."""
    return bool(references) and all(is_risk_label(str(r)) for r in references)


def score_bench(
    tasks: Sequence[str],
    predictions: Sequence,
    references: Sequence,
    task_types: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict:
    """Per-task scores and the headline aggregates of EHR-Bench.

    Args:
        tasks: task name of every sample.
        predictions: decision-making: the model's answer text (or item list); risk: P(yes) (a number or a number
            as text) or a yes/no answer text (scored 1.0 / 0.0); ``None`` when unparseable.
        references: gold ``output`` of every sample.
        task_types: ``decision_making`` / ``risk_prediction`` per sample; inferred per task when omitted (a task whose
            references are all ``yes`` / ``no`` is a risk task).

    Returns:
        ``{"tasks": {name: {...}}, "aggregates": {"decision_making": {...}, "risk_prediction": {...}}}``.
    """
    if not (len(tasks) == len(predictions) == len(references)):
        raise ValueError("tasks, predictions and references must have the same length")
    groups: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        groups.setdefault(task, []).append(i)
    per_task: dict[str, TaskScore] = {}
    types: dict[str, str] = {}
    for task in sorted(groups):
        rows = groups[task]
        refs = [references[i] for i in rows]
        kind = task_types[rows[0]] if task_types is not None else None
        kind = kind or (RISK_PREDICTION if is_risk_task(refs) else DECISION_MAKING)
        kw = dict(n_resamples=n_resamples, seed=_task_seed(seed, task), confidence=confidence)
        scorer = _task_scorer(task)
        if scorer is not None and kind == DECISION_MAKING:
            per_task[task] = scorer([predictions[i] or "" for i in rows], refs, **kw)
        elif kind == RISK_PREDICTION:
            per_task[task] = score_risk([risk_score(predictions[i]) for i in rows], refs, **kw)
        else:
            per_task[task] = score_decision_making([predictions[i] or "" for i in rows], refs, **kw)
        types[task] = kind
    aggregates = {}
    for kind, metric in ((DECISION_MAKING, "f1"), (RISK_PREDICTION, "auroc")):
        members = {t: s for t, s in per_task.items() if types[t] == kind}
        if members:
            aggregates[kind] = aggregate(members, metric, confidence).to_dict()
    return {
        "tasks": {t: {"task_type": types[t], **s.to_dict()} for t, s in per_task.items()},
        "aggregates": aggregates,
    }

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``cdm_diagnosis`` metric of MIMIC-IV-CDM (Hager et al. 2024; EHR-R1's zero-shot diagnosis benchmark).

One task per pathology (``cdm_appendicitis``, ``cdm_cholecystitis``, ``cdm_diverticulitis``, ``cdm_pancreatitis``);
the gold ``output`` of a sample is its admission's ICU diagnosis titles, one per line. Per sample:

- **accuracy**: 1 when the pathology's name, lower-cased, is a substring of the lower-cased answer (the text after
  the last ``</think>``), as the reference's ``calculate_cdm``;
- **set precision / recall / F1** of the answer's items against the ICD titles (``ehr_r1.prompting``'s parser, as
  every decision-making task).

A task's ``score`` is its mean set F1 (so the decision-making aggregate stays a mean F1); ``accuracy`` and its
bootstrap CI sit beside it in ``results.json``. ``ehr_r1.evaluation.scoring.score_bench`` scores these tasks with
:func:`score_cdm_diagnosis` (``TASK_SCORERS``).
"""

from collections.abc import Sequence

import numpy as np

from ehr_r1.evaluation.scoring import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    TaskScore,
    _percentile_ci,
    bootstrap_mean,
    score_decision_making,
)
from ehr_r1.prompting import extract_answer


METRIC = "cdm_diagnosis"
PATHOLOGIES = ("appendicitis", "cholecystitis", "diverticulitis", "pancreatitis")
TASK_PREFIX = "cdm_"
CDM_TASKS = {f"{TASK_PREFIX}{p}": p for p in PATHOLOGIES}


def cdm_accuracy(prediction: str | None, pathology: str) -> float:
    """1.0 when ``pathology`` (lower-cased) occurs in the answer text (lower-cased), else 0.0."""
    return float(pathology.lower() in extract_answer(prediction or "").lower())


def score_cdm_diagnosis(
    predictions: Sequence[str | None],
    references: Sequence[str],
    pathology: str,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> TaskScore:
    """Set F1 against the ICD titles (the score) plus the pathology accuracy, with bootstrap CIs, of one task."""
    texts = [p or "" for p in predictions]
    task = score_decision_making(texts, references, n_resamples, seed, confidence)
    accuracy = np.array([cdm_accuracy(p, pathology) for p in texts], dtype=float)
    low, high = _percentile_ci(bootstrap_mean(accuracy, n_resamples, seed), confidence)
    task.extra.update(
        accuracy=float(accuracy.mean()) if accuracy.size else float("nan"),
        accuracy_ci_low=low,
        accuracy_ci_high=high,
        pathology=pathology,
        cdm_metric=METRIC,
    )
    return task


def task_scorer(task: str):
    """The scorer of a CDM task name (``cdm_<pathology>``), or None for any other task."""
    pathology = CDM_TASKS.get(task)
    if pathology is None:
        return None
    return lambda predictions, references, **kw: score_cdm_diagnosis(predictions, references, pathology, **kw)

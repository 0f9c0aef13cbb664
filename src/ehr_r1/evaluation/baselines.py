# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Simple baselines, scored exactly like a model (``ehr-r1 eval --baseline frequency|logreg``).

- ``frequency``: decision-making tasks predict the task's k most frequent labels, k = the median gold set size;
  risk tasks score every sample with the label prior (a constant, so AUROC = 0.5 by construction: the floor).
- ``logreg``: risk tasks fit a logistic regression on binary bag-of-codes/words features of ``input``
  (scikit-learn ``CountVectorizer`` + ``LogisticRegression``); decision-making tasks use ``frequency``.

Both are fitted on ``--train`` (a bench-layout or EHR-Ins folder, or JSONL) when given. Without it, ``frequency``
counts labels on the bench itself (a logged warning: this leaks test labels and flatters the baseline) and ``logreg``
is cross-fitted on the bench (k-fold: each sample is scored by a model that never saw it).
"""

import logging
import statistics
from collections import Counter, defaultdict

import numpy as np

from ehr_r1.evaluation.backends import Output
from ehr_r1.evaluation.bench import Sample
from ehr_r1.prompting import RISK_PREDICTION, gold_items, is_yes, normalize_item


logger = logging.getLogger(__name__)

BASELINES = ("frequency", "logreg")
TOKEN_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"  # words and codes such as 427.31, I10, 0SRC0J9


def run_baseline(name: str, bench: list[Sample], train: list[Sample] | None, seed: int = 0, folds: int = 5) -> dict:
    """Outputs of baseline ``name`` for every bench sample, keyed by ``Sample.key``."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}")
    by_task: dict[str, list[Sample]] = defaultdict(list)
    for s in bench:
        by_task[s.task].append(s)
    train_by_task: dict[str, list[Sample]] = defaultdict(list)
    for s in train or []:
        train_by_task[s.task].append(s)
    if train is None:
        logger.warning(
            "no --train data: label frequencies and priors come from the bench itself (test-label leakage)%s",
            "; logistic regressions are cross-fitted on the bench" if name == "logreg" else "",
        )
    outputs: dict[str, Output] = {}
    for task, samples in sorted(by_task.items()):
        fit = train_by_task.get(task)
        if train is not None and not fit:
            logger.warning("task %s has no --train samples: fitting on the bench itself", task)
        if samples[0].task_type == RISK_PREDICTION:
            scores = _logreg(samples, fit, seed, folds) if name == "logreg" else _prior(samples, fit)
            outputs.update({s.key: Output(p_yes=float(p), source=name) for s, p in zip(samples, scores, strict=True)})
        else:
            answer = "\n".join(_top_labels(fit or samples))
            outputs.update({s.key: Output(text=answer) for s in samples})
    return outputs


def _top_labels(samples: list[Sample]) -> list[str]:
    counts: Counter = Counter()
    spelling: dict[str, str] = {}
    sizes = []
    for s in samples:
        items = {normalize_item(i): i.strip() for i in gold_items(s.output)}
        counts.update(items.keys())
        for key, text in items.items():
            spelling.setdefault(key, text)
        sizes.append(len(items))
    k = max(1, round(statistics.median(sizes))) if sizes else 1
    ranked = sorted(counts, key=lambda key: (-counts[key], key))  # ties broken alphabetically: deterministic
    return [spelling[key] for key in ranked[:k]]


def _labels(samples: list[Sample]) -> np.ndarray:
    return np.array([is_yes(s.output) for s in samples], dtype=int)


def _prior(samples: list[Sample], fit: list[Sample] | None) -> np.ndarray:
    return np.full(len(samples), _labels(fit or samples).mean())


def _logreg(samples: list[Sample], fit: list[Sample] | None, seed: int, folds: int) -> np.ndarray:
    if fit:
        return _fit_predict(fit, samples, seed)
    y = _labels(samples)
    n_splits = min(folds, int(np.bincount(y, minlength=2).min()))
    if n_splits < 2:
        logger.warning("%s: too few samples of one class to cross-fit; scoring with the prior", samples[0].task)
        return np.full(len(samples), y.mean())
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(samples))
    for train_idx, test_idx in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        scores[test_idx] = _fit_predict([samples[i] for i in train_idx], [samples[i] for i in test_idx], seed)
    return scores


def _fit_predict(train: list[Sample], test: list[Sample], seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    y = _labels(train)
    if y.min() == y.max():
        return np.full(len(test), float(y[0]))
    vectorizer = CountVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, binary=True, max_features=50000)
    x_train = vectorizer.fit_transform([s.input for s in train])
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(x_train, y)
    return model.predict_proba(vectorizer.transform([s.input for s in test]))[:, 1]

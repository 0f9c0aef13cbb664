# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Scoring math and the local ``evaluate`` metrics, against hand-computed values and scikit-learn."""

import doctest
import importlib
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ehr_r1.evaluation import scoring


REPO = __import__("pathlib").Path(__file__).resolve().parents[1]
METRICS = ("ehr_set_f1", "ehr_auroc", "ehr_bench")


# --------------------------------------------------------------------------------------------------- set F1
@pytest.mark.parametrize(
    "prediction, reference, expected",
    [
        # thinking is stripped up to the last </think>; items case-folded and stripped
        ("<think>Hemoglobin?</think> x </think>\n Hemoglobin \nSODIUM\n", "hemoglobin\nPotassium", (0.5, 0.5, 0.5)),
        ("Hemoglobin\\nPotassium", "Potassium\nHemoglobin", (1.0, 1.0, 1.0)),  # literal backslash-n
        ("A\nA\nB", "A", (0.5, 1.0, 2 / 3)),  # duplicates collapse into a set
        ("", "A", (0.0, 0.0, 0.0)),
        ("<think>A</think>", "A", (0.0, 0.0, 0.0)),  # the answer after </think> is empty
        (["a", "b", "c"], ["A", "D"], (1 / 3, 0.5, 0.4)),
    ],
)
def test_sample_prf(prediction, reference, expected):
    assert scoring.sample_prf(prediction, reference) == pytest.approx(expected)


def test_decision_making_mean_and_unparseable():
    task = scoring.score_decision_making(["A\nB", "", "C"], ["A", "A", "C\nD"], n_resamples=200)
    # per-sample F1: 2/3, 0, 2/3 -> mean 4/9; precision 1/2, 0, 1 -> 1/2; recall 1, 0, 1/2 -> 1/2
    assert task.score == pytest.approx(4 / 9)
    assert task.extra == pytest.approx({"precision": 0.5, "recall": 0.5})
    assert task.n == 3 and task.n_unparseable == 1
    assert 0.0 <= task.ci_low <= task.score <= task.ci_high <= 2 / 3


# ---------------------------------------------------------------------------------------------------- AUROC
def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    for n in (5, 40, 333):
        labels = rng.integers(0, 2, n)
        labels[:2] = [0, 1]
        scores = np.round(rng.random(n) + 0.3 * labels, 1)  # rounding creates ties
        assert scoring.auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auroc_hand_computed_and_degenerate():
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered -> 0.75 (the sklearn docs example)
    assert scoring.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert scoring.auroc([0.5, 0.5], [0, 1]) == 0.5
    assert math.isnan(scoring.auroc([0.1, 0.2], [1, 1]))


def test_bootstrap_auroc_replicates_match_sklearn_on_the_same_resample():
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2]), np.array([0, 0, 1, 1, 1, 0])
    reps = scoring.bootstrap_auroc(scores, labels, n_resamples=50, seed=3)
    rng = np.random.default_rng(3)  # replay the same stratified draw for the first replicate
    pos, neg = scores[labels == 1], scores[labels == 0]
    sample_pos, sample_neg = pos[rng.integers(0, 3, (50, 3))][0], neg[rng.integers(0, 3, (50, 3))][0]
    expected = roc_auc_score([1, 1, 1, 0, 0, 0], np.concatenate([sample_pos, sample_neg]))
    assert reps[0] == pytest.approx(expected)
    assert np.isfinite(reps).all()


def test_risk_ci_seeded_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    scores = rng.random(2000) + 0.5 * labels
    small = scoring.score_risk(list(scores[:100]), list(labels[:100]), n_resamples=300, seed=5)
    again = scoring.score_risk(list(scores[:100]), list(labels[:100]), n_resamples=300, seed=5)
    large = scoring.score_risk(list(scores), list(labels), n_resamples=300, seed=5)
    assert (small.ci_low, small.ci_high) == (again.ci_low, again.ci_high)
    assert small.ci_low < small.score < small.ci_high
    assert large.ci_high - large.ci_low < small.ci_high - small.ci_low
    assert small.score == pytest.approx(roc_auc_score(labels[:100], scores[:100]))


def test_unparseable_risk_counts_as_wrong():
    # a missing score for the positive becomes 0.0: the positive ranks below every negative
    task = scoring.score_risk([0.9, None, 0.2, 0.1], ["yes", "YES ", "no", "no"], n_resamples=50)
    assert task.n_unparseable == 1
    assert task.score == pytest.approx(roc_auc_score([1, 1, 0, 0], [0.9, 0.0, 0.2, 0.1]))  # = 0.5


def test_risk_score_parsing():
    assert scoring.risk_score(0.25) == 0.25
    assert scoring.risk_score(" 0.7 ") == 0.7
    assert scoring.risk_score("<think>\n\n</think>\n\nYes.") == 1.0
    assert scoring.risk_score("no") == 0.0
    assert scoring.risk_score("maybe") is None and scoring.risk_score(None) is None


# ----------------------------------------------------------------------------------------------- aggregates
def test_score_bench_macro_means():
    tasks = ["dm1", "dm1", "dm2", "r1", "r1", "r1", "r1", "r2", "r2"]
    predictions = ["A", "A\nB", "X", "0.9", "0.2", "0.6", "0.7", "yes", "no"]
    references = ["A", "B", "Y", "yes", "no", "yes", "no", "no", "yes"]
    out = scoring.score_bench(tasks, predictions, references, n_resamples=200)
    # dm1: F1 1 and 2/3 -> 5/6; dm2: 0 -> macro (5/6 + 0) / 2
    assert out["tasks"]["dm1"]["score"] == pytest.approx(5 / 6)
    assert out["aggregates"]["decision_making"]["score"] == pytest.approx(5 / 12)
    # r1: positives 0.9, 0.6 vs negatives 0.2, 0.7: 3/4; r2: hard scores, reversed: 0 -> mean 3/8
    assert out["tasks"]["r1"]["score"] == pytest.approx(0.75)
    assert out["tasks"]["r2"]["score"] == 0.0
    assert out["aggregates"]["risk_prediction"]["score"] == pytest.approx(0.375)
    assert out["aggregates"]["risk_prediction"]["n_tasks"] == 2 and out["aggregates"]["decision_making"]["n"] == 3
    assert {t["task_type"] for n, t in out["tasks"].items() if n.startswith("r")} == {"risk_prediction"}
    agg = out["aggregates"]["decision_making"]
    assert agg["ci_low"] <= agg["score"] <= agg["ci_high"]


def test_score_bench_is_order_independent():
    tasks = ["a"] * 5 + ["b"] * 5
    preds = ["0.1", "0.8", "0.3", "0.9", "0.5", "x", "y", "x", "z", "x"]
    refs = ["no", "yes", "no", "yes", "yes", "x", "y", "z", "z", "x"]
    first = scoring.score_bench(tasks, preds, refs, n_resamples=100, seed=2)
    order = list(reversed(range(10)))
    second = scoring.score_bench(*([v[i] for i in order] for v in (tasks, preds, refs)), n_resamples=100, seed=2)
    for task in ("a", "b"):
        assert first["tasks"][task]["score"] == pytest.approx(second["tasks"][task]["score"])
    assert (
        first["tasks"]["a"]["task_type"] == "risk_prediction" and first["tasks"]["b"]["task_type"] == "decision_making"
    )


# -------------------------------------------------------------------------------------- evaluate modules
@pytest.fixture
def load_metric(monkeypatch):
    import evaluate

    monkeypatch.chdir(REPO)  # the doctests load metrics by their repo-relative folder
    return lambda name: evaluate.load(f"evaluate_metrics/{name}")


@pytest.mark.parametrize("name", METRICS)
def test_metric_doctests(load_metric, name):
    import evaluate

    module = importlib.import_module(type(load_metric(name)).__module__)
    result = doctest.testmod(module, extraglobs={"evaluate": evaluate}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0


def test_metric_modules_wrap_scoring(load_metric):
    f1 = load_metric("ehr_set_f1")
    for pred, ref in [("a\nb", "a"), ("</think>c", "c\nd"), ("", "e")]:
        f1.add_batch(predictions=[pred], references=[ref])
    assert f1.compute() == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 4 / 9, "n_unparseable": 1})
    lists = f1.compute(predictions=[["A", "b"]], references=[["a"]], return_ci=True, n_resamples=20)
    assert lists["f1"] == pytest.approx(2 / 3) and lists["f1_ci_low"] == pytest.approx(2 / 3)

    rng = np.random.default_rng(4)
    labels, scores = rng.integers(0, 2, 60), rng.random(60)
    auroc = load_metric("ehr_auroc").compute(predictions=list(scores), references=list(labels), n_resamples=100)
    assert auroc["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert auroc["ci_low"] < auroc["roc_auc"] < auroc["ci_high"]

    bench = load_metric("ehr_bench").compute(
        tasks=["t", "t", "r", "r"], predictions=["A", "B", "0.3", "0.6"], references=["A", "A", "no", "yes"]
    )
    assert bench["decision_making"]["score"] == 0.5 and bench["risk_prediction"]["score"] == 1.0


@pytest.mark.parametrize("name", METRICS)
def test_metric_card_examples(load_metric, name):
    import evaluate

    card = (REPO / "evaluate_metrics" / name / "README.md").read_text()
    for section in ("## Metric Description", "### Inputs", "### Output Values", "## Limitations and Bias"):
        assert section in card
    test = doctest.DocTestParser().get_doctest(card, {"evaluate": evaluate}, name, str(name), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert test.examples and runner.summarize(verbose=False).failed == 0

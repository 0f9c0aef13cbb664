# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR AUROC: area under the ROC curve of P(yes) risk scores, with a bootstrap confidence interval."""

import datasets
import evaluate

from ehr_r1.evaluation import scoring


_CITATION = """\
@article{ehr_r1_2025,
  title={EHR-R1: A Reasoning-Enhanced Foundational Language Model for Electronic Health Record Analysis},
  year={2025}
}
"""

_DESCRIPTION = """\
AUROC of EHR-Bench risk-prediction scores. A score is P(yes) = P(yes) / (P(yes) + P(no)) of the first answer token
(`ehr-r1 eval` computes it from logits or server logprobs). The value equals `sklearn.metrics.roc_auc_score`; the 95%
CI is a percentile bootstrap that resamples positives and negatives separately (so every resample has both classes).
A missing score (`None`, an unparseable answer) counts as maximally wrong: 0 for a positive, 1 for a negative.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `float`): P(yes) per sample, or `None` when unparseable.
    references (`list` of `int` (1/0) or of `str` ("yes"/"no")): gold labels.
    n_resamples (`int`, defaults to 1000): bootstrap resamples.
    seed (`int`, defaults to 0): bootstrap seed.
    confidence (`float`, defaults to 0.95): CI level.
Returns:
    roc_auc (`float`): in [0, 1], higher is better, 0.5 is chance; NaN with a single class.
    ci_low, ci_high (`float`): bootstrap percentile interval.
    n_unparseable (`int`): missing scores.
Examples:
    >>> metric = evaluate.load("evaluate_metrics/ehr_auroc")
    >>> results = metric.compute(predictions=[0.1, 0.4, 0.35, 0.8], references=[0, 0, 1, 1], n_resamples=200)
    >>> print(round(results["roc_auc"], 4), results["ci_low"] <= results["roc_auc"] <= results["ci_high"])
    0.75 True
    >>> results = metric.compute(predictions=[0.9, 0.1], references=["yes", "no"], n_resamples=10)
    >>> print(results["roc_auc"])
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EhrAuroc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("int32")}),
                datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("string")}),
            ],
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.roc_auc_score.html"],
        )

    def _compute(self, predictions, references, n_resamples=1000, seed=0, confidence=0.95):
        task = scoring.score_risk(predictions, references, n_resamples, seed, confidence)
        return {
            "roc_auc": task.score,
            "ci_low": task.ci_low,
            "ci_high": task.ci_high,
            "n_unparseable": task.n_unparseable,
        }

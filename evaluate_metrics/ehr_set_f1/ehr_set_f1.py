# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR set F1: per-sample set precision / recall / F1 of decision-making answers, averaged over samples."""

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
Set precision, recall and F1 of EHR-Bench decision-making answers. The answer is the text after the last `</think>`,
split into items on newlines (and on a literal backslash-n), each item stripped and case-folded; the per-sample set
P/R/F1 is 0 when either side is empty; the metric is the mean over samples. The parser is `ehr_r1.prompting`, shared
with `ehr-r1 eval` and the GRPO rewards.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `str` or of `list[str]`): model outputs (thinking allowed) or already-split item lists.
    references (`list` of `str` or of `list[str]`): gold `output` values (newline-joined) or item lists.
    return_ci (`bool`, defaults to `False`): also return a bootstrap CI of the mean F1.
    n_resamples (`int`, defaults to 1000), seed (`int`, defaults to 0), confidence (`float`, defaults to 0.95).
Returns:
    precision (`float`), recall (`float`), f1 (`float`): means over samples, in [0, 1], higher is better.
    n_unparseable (`int`): predictions with no item (scored 0).
    f1_ci_low, f1_ci_high (`float`): with `return_ci=True`.
Examples:
    >>> metric = evaluate.load("evaluate_metrics/ehr_set_f1")
    >>> results = metric.compute(
    ...     predictions=["<think>\\nlabs first\\n</think>\\n\\nHemoglobin\\nsodium", "MED"],
    ...     references=["hemoglobin\\nPotassium", "SURG"],
    ... )
    >>> print({k: round(v, 4) for k, v in results.items()})
    {'precision': 0.25, 'recall': 0.25, 'f1': 0.25, 'n_unparseable': 0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EhrSetF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
                datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value("string")),
                        "references": datasets.Sequence(datasets.Value("string")),
                    }
                ),
            ],
            reference_urls=["https://github.com/MAGIC-AI4Med/EHR-R1"],
        )

    def _compute(self, predictions, references, return_ci=False, n_resamples=1000, seed=0, confidence=0.95):
        task = scoring.score_decision_making(
            [p if p is not None else "" for p in predictions], references, n_resamples, seed, confidence
        )
        out = {
            "precision": task.extra["precision"],
            "recall": task.extra["recall"],
            "f1": task.score,
            "n_unparseable": task.n_unparseable,
        }
        if return_ci:
            out.update(f1_ci_low=task.ci_low, f1_ci_high=task.ci_high)
        return out

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR-Bench: per-task scores and the headline aggregates (decision-making mean F1, risk mean AUROC) with CIs."""

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
EHR-Bench scores. Decision-making tasks (gold: newline-joined items) get the mean per-sample set F1 (as `ehr_set_f1`);
risk-prediction tasks (gold: "yes"/"no") get AUROC of P(yes) (as `ehr_auroc`). Headline aggregates: the macro mean F1
over decision-making tasks and the mean AUROC over risk tasks, each with a bootstrap CI stratified by task (samples are
resampled within each task and the per-task replicates are averaged).
"""

_KWARGS_DESCRIPTION = """
Args:
    tasks (`list` of `str`): task name of every sample.
    predictions (`list` of `str`): decision-making: the model output; risk: P(yes) as text (e.g. "0.83"), or a
        yes/no answer (scored 1.0 / 0.0). Empty / unparseable answers count as wrong.
    references (`list` of `str`): gold `output` values. A task whose references are all yes/no is a risk task.
    n_resamples (`int`, defaults to 1000), seed (`int`, defaults to 0), confidence (`float`, defaults to 0.95).
Returns:
    decision_making (`dict`): score (macro mean F1), ci_low, ci_high, n_tasks, n, n_unparseable.
    risk_prediction (`dict`): score (mean AUROC), ci_low, ci_high, n_tasks, n, n_unparseable.
    tasks (`dict`): per task: task_type, metric, score, ci_low, ci_high, n, n_unparseable (+ precision/recall or
        prevalence).
Examples:
    >>> metric = evaluate.load("evaluate_metrics/ehr_bench")
    >>> results = metric.compute(
    ...     tasks=["services", "services", "ICU_Readmission", "ICU_Readmission", "ICU_Readmission"],
    ...     predictions=["MED", "</think>\\nSURG\\nMED", "0.9", "0.2", "no"],
    ...     references=["MED", "SURG", "yes", "no", "no"],
    ...     n_resamples=100,
    ... )
    >>> print(round(results["decision_making"]["score"], 4), results["risk_prediction"]["score"])
    0.8333 1.0
    >>> print(sorted(results["tasks"]), results["tasks"]["services"]["n"])
    ['ICU_Readmission', 'services'] 2
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EhrBench(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "tasks": datasets.Value("string"),
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                }
            ),
            reference_urls=["https://github.com/MAGIC-AI4Med/EHR-R1"],
        )

    def _compute(self, tasks, predictions, references, n_resamples=1000, seed=0, confidence=0.95):
        scored = scoring.score_bench(tasks, predictions, references, None, n_resamples, seed, confidence)
        return {**scored["aggregates"], "tasks": scored["tasks"]}

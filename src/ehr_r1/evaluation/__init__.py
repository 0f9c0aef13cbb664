# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR-Bench evaluation: bench loading, model backends, scoring, reports and baselines (``ehr-r1 eval``).

Importing this package is cheap: torch and transformers are imported only by the transformers backend.
"""

from ehr_r1.evaluation.config import EvalConfig


__all__ = ["EvalConfig", "evaluate_bench"]


def evaluate_bench(config: EvalConfig) -> dict:
    """Run ``ehr-r1 eval`` from Python; returns results.json's content."""
    from ehr_r1.evaluation.runner import evaluate_bench as run

    return run(config)

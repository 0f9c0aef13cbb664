# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Model backends of ``ehr-r1 eval``: the common interface and the factory.

A backend turns a batch of samples into :class:`Output` s: decision-making samples are generated greedily; risk samples
get P(yes) = P(yes) / (P(yes) + P(no)) from the next-token distribution after the assistant prefix, without generation.
"""

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.bench import Sample
from ehr_r1.prompting import NO, RISK_LABELS, YES, normalize_item


# Spellings of the answers whose probabilities are summed: yes, Yes, YES, " yes", " Yes" (and likewise for no).
YES_NO_VARIANTS = tuple(
    v for label in RISK_LABELS for v in (label, label.title(), label.upper(), f" {label}", f" {label.title()}")
)


@dataclass
class Output:
    """What a backend returns for one sample."""

    text: str | None = None
    p_yes: float | None = None
    source: str | None = None  # risk: "logits", "logprobs" or "text" (hard 0/1 from the answer)
    events_dropped: int = 0
    error: str | None = None  # why the sample failed (no answer): it is excluded from the scores and retried later


@dataclass
class Timer:
    """Accumulates model-compute seconds (the rest of the wall time is harness overhead)."""

    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start


class Backend:
    """Interface: ``generate`` for decision-making, ``score_risk`` for risk prediction."""

    name = "base"
    timer: Timer
    batch_size: int = 1

    def batches(self, samples: list[Sample]) -> Iterator[list[Sample]]:
        """Batches of samples of one task type, in the given order (default: ``batch_size`` at a time)."""
        size = max(1, self.batch_size)
        for start in range(0, len(samples), size):
            yield samples[start : start + size]

    def generate(self, samples: list[Sample]) -> list[Output]:
        raise NotImplementedError

    def score_risk(self, samples: list[Sample]) -> list[Output]:
        raise NotImplementedError

    def settings(self) -> dict:
        """Decoding settings written to results.json."""
        return {}


def yes_probability(token_logprobs: Iterable[tuple[str, float]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) from (token, logprob) pairs; case/space variants are summed. None if neither."""
    mass = dict.fromkeys(RISK_LABELS, 0.0)
    for token, logprob in token_logprobs:
        key = normalize_item(token)
        if key in mass and logprob is not None and not math.isnan(logprob):
            mass[key] += math.exp(logprob)
    total = mass[YES] + mass[NO]
    return mass[YES] / total if total > 0 else None


def make_backend(config) -> Backend:
    """The backend named by ``config.backend`` (imports torch / transformers only for the transformers backend)."""
    if config.backend == "transformers":
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as err:
            raise EhrR1Error(
                f"the transformers backend needs torch and transformers ({err}): pip install 'ehr-r1[train]'"
            ) from None
        from ehr_r1.evaluation.hf_backend import TransformersBackend

        return TransformersBackend(config)
    if config.backend == "openai":
        from ehr_r1.evaluation.openai_backend import OpenAIBackend

        return OpenAIBackend(config)
    raise ValueError(f"unknown backend {config.backend!r}")

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Evaluation prompts: the training prompt (:mod:`ehr_r1.prompting`) plus the think switch and event-aware truncation."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ehr_r1.evaluation.bench import Sample
from ehr_r1.prompting import RISK_PREDICTION, build_messages, default_think, truncate_input


logger = logging.getLogger(__name__)

# The EHR-R1-72B card: templates without ``enable_thinking`` get this block appended to force a direct answer.
EMPTY_THINK = "<think>\n\n</think>\n"


@dataclass
class Prompt:
    """The chat messages of one sample, the think switch used and how many events truncation dropped."""

    messages: list[dict[str, str]]
    think: bool
    events_dropped: int = 0


def sample_think(sample: Sample, dm_think: bool = True) -> bool:
    """Think switch of a sample: risk never thinks (one forward pass); decision-making follows training by default."""
    if sample.task_type == RISK_PREDICTION:
        return False
    return default_think(sample.task_type) and dm_think


def make_prompt(
    sample: Sample,
    think: bool,
    candidate_prompt: bool = False,
    fits: Callable[[list[dict[str, str]]], bool] | None = None,
) -> Prompt:
    """Messages for ``sample``; with ``fits``, drop whole oldest events (never the header) until the prompt fits."""

    def messages(input_text: str) -> list[dict[str, str]]:
        return build_messages(
            input_text,
            sample.instruction,
            think=think,
            task_type=sample.task_type,
            candidates=sample.candidates,
            baseline_prompt=candidate_prompt,
        )

    text, dropped = sample.input, 0
    if fits is not None:
        text, dropped = truncate_input(sample.input, lambda t: fits(messages(t)))
        if dropped:
            logger.debug("%s: dropped %d oldest events to fit the context", sample.key, dropped)
    return Prompt(messages(text), think, dropped)

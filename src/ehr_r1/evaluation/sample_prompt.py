# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""One sample's request: the shared prompt format (:mod:`ehr_r1.prompting`) plus the eval-time choices around it.

:mod:`ehr_r1.prompting` is *the* prompt format of training and evaluation. This module decides, per sample, the think
switch and the protocol's extra lines, and fits the input to the context with :mod:`ehr_r1.truncation` (whole oldest
events dropped, never the header).

Protocols (``--protocol``):

- ``official``, the released evaluation scripts (``scripts/test/*.sh`` run ``test.py --prompt``, without
  ``--think_prompt``): the user turn is ``{input}\\n{instruction}``, then ``Candidate List: [...]`` when the sample has
  candidates, then the answer-format note of its task type (``prompting.official_prompt_lines``); no think switch.
- ``plain``, the training format: ``{input}\\n{instruction}`` and the think switch (``\\n/think`` or ``\\n/no_think``).

In both, decision-making is generated with ``enable_thinking`` (``--think``, default on) and risk is scored without
thinking, as ``test.py`` does.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.config import OFFICIAL, PLAIN
from ehr_r1.prompting import RISK_PREDICTION, build_messages, default_think, official_prompt_lines
from ehr_r1.truncation import BlockedInput, TokenCounter, blocks_of_text, fit_blocks


logger = logging.getLogger(__name__)
Chat = list[dict[str, str]]
PROTOCOL_PROMPTS = {  # what each protocol sends, as results.json and report.md describe it
    OFFICIAL: "released test.py --prompt: {input}\\n{instruction}, the candidate list (when the sample has one) and "
    "the answer-format note; no think switch",
    PLAIN: "training format: {input}\\n{instruction} and \\n/think (decision-making) or \\n/no_think (risk); "
    "no candidate list",
}


@dataclass
class Prompt:
    """The chat messages of one sample, the think switch used and how many events truncation dropped."""

    messages: Chat
    think: bool
    events_dropped: int = 0


def sample_think(sample: Sample, dm_think: bool = True) -> bool:
    """Think switch of a sample: risk never thinks (one forward pass); decision-making follows training by default."""
    if sample.task_type == RISK_PREDICTION:
        return False
    return default_think(sample.task_type) and dm_think


def chat_of(sample: Sample, think: bool, protocol: str = OFFICIAL) -> Callable[[str], Chat]:
    """The chat of ``sample`` for a given ``input`` text under ``protocol``."""
    if protocol == OFFICIAL:
        instruction = "\n".join([sample.instruction, *official_prompt_lines(sample.task_type, sample.candidates)])
        switch = None
    elif protocol == PLAIN:
        instruction, switch = sample.instruction, think
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    return lambda input_text: build_messages(input_text, instruction, think=switch)


def make_prompts(
    samples: Sequence[Sample],
    thinks: Sequence[bool],
    protocol: str = OFFICIAL,
    counter: Callable[[bool], TokenCounter] | None = None,
    budget: int | None = None,
) -> list[Prompt]:
    """Prompts for ``samples``; with ``counter`` (think switch -> its token counter) and ``budget``, each input loses
    whole oldest events until its rendered chat fits ``budget`` tokens. Samples are fitted together, one call of
    :func:`ehr_r1.truncation.fit_blocks` per think setting, so each distinct event block is tokenised once."""
    chats = [chat_of(s, t, protocol) for s, t in zip(samples, thinks, strict=True)]
    fitted = [(s.input, 0) for s in samples]
    if counter is not None and budget is not None:
        for think in sorted(set(thinks)):
            rows = [k for k, t in enumerate(thinks) if t == think]
            items = [BlockedInput(*blocks_of_text(samples[k].input), chats[k]) for k in rows]
            results = fit_blocks(items, counter(think), budget, progress=False)
            for k, item, (text, dropped) in zip(rows, items, results, strict=True):
                fitted[k] = text, dropped
                if dropped:
                    logger.debug("%s: dropped %d oldest events to fit the context", samples[k].key, dropped)
                if dropped and dropped == len(item.units()[1]):
                    _warn_if_over(samples[k], item.chat(text), counter(think), budget)
    return [
        Prompt(chat(text), think, dropped) for chat, think, (text, dropped) in zip(chats, thinks, fitted, strict=True)
    ]


def _warn_if_over(sample: Sample, chat: Chat, counter: TokenCounter, budget: int) -> None:
    if counter.count_chats([chat])[0] > budget:
        logger.warning("%s: prompt exceeds %d tokens even with all events dropped", sample.key, budget)


def make_prompt(
    sample: Sample,
    think: bool,
    protocol: str = OFFICIAL,
    counter: Callable[[bool], TokenCounter] | None = None,
    budget: int | None = None,
) -> Prompt:
    """``make_prompts`` for one sample."""
    return make_prompts([sample], [think], protocol, counter, budget)[0]

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The one place for the prompt format and the answer parser (spec §5), shared by training, evaluation and metrics.

Conventions, fixed here once (the reference code disagrees with itself, spec §11.2):

- system prompt ``You are a helpful assistant.``; user turn ``"{input}\\n{instruction}"`` plus a think switch;
- the switch is ``\\n/think`` or ``\\n/no_think`` in training *and* evaluation (the reference omits the newline for
  ``/no_think`` in training only);
- the answer is the text after the **last** ``</think>`` whatever the model name; decision-making items are split on
  newlines and on a literal backslash-n, stripped, empties dropped; comparisons are case-insensitive;
- risk answers are ``yes`` / ``no``, compared after stripping whitespace and case-folding;
- evaluation's ``official`` protocol adds the released ``test.py --prompt`` lines (``official_prompt_lines``).
"""

import re
from collections.abc import Sequence


SYSTEM_PROMPT = "You are a helpful assistant."
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
DECISION_MAKING, RISK_PREDICTION = "decision_making", "risk_prediction"
TASK_TYPES = (DECISION_MAKING, RISK_PREDICTION)
YES, NO = "yes", "no"
RISK_LABELS = (YES, NO)

_ITEM_SPLIT = re.compile(r"\r?\n|\\n")


def default_think(task_type: str) -> bool:
    """Decision-making tasks reason (``/think``); risk tasks answer directly (``/no_think``), as in GRPO (spec §5.2)."""
    return task_type == DECISION_MAKING


def think_suffix(think: bool | None) -> str:
    """The user-turn suffix of the Qwen3 think switch; ``None`` adds nothing (stage-1 format)."""
    if think is None:
        return ""
    return "\n/think" if think else "\n/no_think"


# The lines the released evaluation script adds with ``--prompt`` (``test.py``), byte for byte.
OFFICIAL_CANDIDATE_PROMPT = "You should choose the item from the candidate list below. Candidate List: {candidates}."
OFFICIAL_FORMAT_PROMPTS = {
    DECISION_MAKING: (
        "Note that you should directly output the answer without any other information. If there are several items "
        "in the prediction, please separate them by `\\n`. For all predicted items, please use the item name instead "
        "of the item code. Do not output the code like ICD10 or ICD9."
    ),
    RISK_PREDICTION: (
        "Note that you should directly output the answer without any other information. You can only choose one "
        "answer from the Candidate List."
    ),
}


def official_prompt_lines(task_type: str, candidates: Sequence[str] | None) -> list[str]:
    """The released ``test.py --prompt`` lines that follow the instruction: the candidate list (a Python list repr,
    only when the sample has candidates), then the answer-format note of the task type."""
    lines = [OFFICIAL_CANDIDATE_PROMPT.format(candidates=list(candidates))] if candidates else []
    return [*lines, OFFICIAL_FORMAT_PROMPTS[task_type]]


def user_content(input_text: str, instruction: str, think: bool | None = None) -> str:
    """The user turn of training and ``--protocol plain``: ``{input}\\n{instruction}`` [+ think switch]."""
    return f"{input_text}\n{instruction}" + think_suffix(think)


def build_messages(input_text: str, instruction: str, completion: str | None = None, **kwargs) -> list[dict[str, str]]:
    """Chat messages for one sample; ``completion`` appends the assistant turn (SFT). kwargs go to ``user_content``."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_content(input_text, instruction, **kwargs)},
    ]
    if completion is not None:
        messages.append({"role": "assistant", "content": completion})
    return messages


def assistant_target(output: str, reasoning: str | None = None, think: bool | None = None) -> str:
    """Assistant text for SFT: ``<think>\\n{reasoning}\\n</think>\\n\\n{output}``, an empty think block, or bare output."""
    if reasoning:
        return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{output}"
    if think is False:
        return f"{THINK_OPEN}\n\n{THINK_CLOSE}\n\n{output}"
    return output


# ----------------------------------------------------------------------------------------------------------- parsing
def completion_text(completion: str | Sequence[dict] | dict | None) -> str:
    """Text of a completion given as a string, a chat message, or a list of chat messages (TRL conversational)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    return "".join(str(m.get("content") or "") for m in completion if m.get("role", "assistant") == "assistant")


def extract_answer(text: str) -> str:
    """The answer part: the text after the last ``</think>`` (the whole text when there is none), stripped."""
    _, sep, tail = text.rpartition(THINK_CLOSE)
    return (tail if sep else text).strip()


def normalize_item(item: str) -> str:
    """Comparison key of one answer item: stripped and case-folded."""
    return item.strip().casefold()


def parse_items(text: str, after_think: bool = True) -> list[str]:
    """Answer items in order: split on newlines and literal ``\\n``, stripped, empties dropped (duplicates kept)."""
    answer = extract_answer(text) if after_think else text
    return [item.strip() for item in _ITEM_SPLIT.split(answer) if item.strip()]


def set_prf(predicted: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """Set precision, recall and F1 on normalised items; 0 when either side is empty (spec §8.2 ``calculate_em``)."""
    pred = {normalize_item(p) for p in predicted if p.strip()}
    true = {normalize_item(g) for g in gold if g.strip()}
    hits = len(pred & true)
    if not pred or not true or not hits:
        return 0.0, 0.0, 0.0
    precision, recall = hits / len(pred), hits / len(true)
    return precision, recall, 2 * precision * recall / (precision + recall)


def parse_risk(text: str) -> str | None:
    """``"yes"`` / ``"no"`` if the answer is one of them (case-insensitive, trailing punctuation allowed), else None."""
    answer = normalize_item(extract_answer(text)).rstrip(".!")
    return answer if answer in RISK_LABELS else None


def risk_correct(text: str, label: str) -> bool:
    """Whether a risk answer matches the label, after stripping whitespace and case-folding both."""
    parsed = parse_risk(text)
    return parsed is not None and parsed == normalize_item(label)


def risk_label(positive: bool) -> str:
    """The label string of a risk outcome."""
    return YES if positive else NO


def is_yes(label: str) -> bool:
    """Whether a risk label (or answer) says yes, after stripping whitespace and case-folding (the one yes/no rule)."""
    return normalize_item(label) == YES


def is_risk_label(label: str) -> bool:
    """Whether ``label`` is a valid risk label (yes or no, any case and surrounding whitespace)."""
    return normalize_item(label) in RISK_LABELS


def gold_items(output: str | Sequence[str]) -> list[str]:
    """Gold items of a dataset ``output`` column (newline-joined string, or already a list)."""
    return [o.strip() for o in output if o.strip()] if not isinstance(output, str) else parse_items(output, False)

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""GRPO rewards for EHR-Ins, with TRL's reward signature (use them by dotted path in a recipe's ``reward_funcs``).

They read the ``output`` and ``task_type`` columns of the ``grpo`` config of EHR-Ins, and take completions as strings
or as chat messages (``[{"role": "assistant", "content": ...}]``). All parsing is ``ehr_r1.prompting``'s, so the reward
scores exactly what the evaluation scores.

Fixes of the reference reward (recipes/README.md): the answer is stripped before it is compared (the reference compared
``"\\n\\nyes"`` with ``startswith("yes")`` and so paid almost nothing on risk tasks), risk answers are compared
case-insensitively, and the format reward exists as a function that a recipe actually lists in ``reward_funcs``.

Reward hacking does not pay:

- listing every candidate: decision-making accuracy is the set-F1, so precision collapses (≈0.06 for 3 gold items
  among 100 answers, against 1.0 for the gold answer);
- answering inside the think block: only the text after ``</think>`` is an answer, and a completion without a closed
  think block scores 0 (the GRPO prompts are rendered with thinking enabled, so every well-formed completion has one);
- repeating items: accuracy counts a set, so repeats gain nothing, and the format reward drops to 0;
- hedging on risk: the answer must be exactly ``yes`` or ``no`` (``"yes\\nno"`` scores 0).
"""

from collections.abc import Sequence

from ehr_r1.prompting import (
    DECISION_MAKING,
    RISK_PREDICTION,
    THINK_CLOSE,
    THINK_OPEN,
    completion_text,
    extract_answer,
    gold_items,
    normalize_item,
    parse_items,
    parse_risk,
    risk_correct,
    set_prf,
)


def ehr_accuracy_reward(
    completions: Sequence, output: Sequence[str], task_type: Sequence[str], **kwargs
) -> list[float | None]:
    r"""Set-F1 against the gold items for decision-making, 1/0 correctness for risk prediction.

    Args:
        completions: generated completions, strings or lists of chat messages.
        output: the dataset's gold answers: newline-joined items (or a list) for decision-making, ``yes`` / ``no`` for
            risk prediction.
        task_type: ``decision_making`` or ``risk_prediction`` per sample.
        **kwargs: the other dataset columns and TRL's extras (unused).

    Returns:
        One reward in [0, 1] per completion; 0 when the completion has no ``</think>``; ``None`` (TRL: "does not
        apply") for other task types.

    Example:
    >>> ehr_accuracy_reward(["<think>\nok\n</think>\n\nAnemia\nSepsis", "<think>\n\n</think>\n\nYes"],
    ...                     output=["anemia\nsepsis", "yes"], task_type=["decision_making", "risk_prediction"])
    [1.0, 1.0]
    """
    rewards: list[float | None] = []
    for completion, gold, kind in zip(completions, output, task_type, strict=True):
        text = completion_text(completion)
        if kind not in (DECISION_MAKING, RISK_PREDICTION):
            rewards.append(None)
        elif THINK_CLOSE not in text:
            rewards.append(0.0)
        elif kind == DECISION_MAKING:
            rewards.append(set_prf(parse_items(text), gold_items(gold))[2])
        else:
            rewards.append(float(risk_correct(text, gold)))
    return rewards


def ehr_format_reward(completions: Sequence, task_type: Sequence[str] | None = None, **kwargs) -> list[float]:
    r"""1.0 for a well-formed completion, else 0.0.

    Well formed: it opens with ``<think>``, has exactly one ``<think>`` and one ``</think>``, a non-empty answer after
    ``</think>``, and no answer item twice (compared case-insensitively). When ``task_type`` is given, a risk answer
    must also be exactly ``yes`` or ``no``. The reference's required reasoning headings (``## Extraction`` ...) are not
    checked: ``/no_think`` risk prompts have an empty think block, which the reference format reward always failed.

    Example:
    >>> ehr_format_reward(["<think>\nok\n</think>\n\nAnemia", "<think>\n</think>\n\nAnemia\nanemia", "Anemia"])
    [1.0, 0.0, 0.0]
    """
    kinds = task_type if task_type is not None else [None] * len(completions)
    return [float(_well_formed(completion_text(c), kind)) for c, kind in zip(completions, kinds, strict=True)]


def _well_formed(text: str, task_type: str | None) -> bool:
    if not text.lstrip().startswith(THINK_OPEN) or text.count(THINK_OPEN) != 1 or text.count(THINK_CLOSE) != 1:
        return False
    if not extract_answer(text):
        return False
    if task_type == RISK_PREDICTION:
        return parse_risk(text) is not None
    items = [normalize_item(item) for item in parse_items(text)]
    return len(items) == len(set(items))


REGISTRY = {fn.__name__: fn for fn in (ehr_accuracy_reward, ehr_format_reward)}
"""Reward name -> function, for code that picks rewards by name (recipes use the dotted paths)."""

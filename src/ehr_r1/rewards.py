# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""GRPO rewards for EHR-Ins, with TRL's reward signature (use them by dotted path in a recipe's ``reward_funcs``).

They read the ``output`` and ``task_type`` columns of the ``grpo`` config of EHR-Ins (and ``task`` when present), and
take completions as strings or as chat messages (``[{"role": "assistant", "content": ...}]``). All parsing is
``ehr_r1.prompting``'s, so the reward scores exactly what the evaluation scores.

Fixes of the reference reward (recipes/README.md): the answer is stripped before it is compared (the reference compared
``"\\n\\nyes"`` with ``startswith("yes")`` and so paid almost nothing on risk tasks), risk answers are compared
case-insensitively, and the format reward exists as a function that a recipe actually lists in ``reward_funcs``.

Accuracy, precisely:

- **think block**: a completion earns accuracy only with exactly one think block that opens the completion
  (``<think>…</think>``, leading whitespace allowed) and a non-empty answer after it. No think block, an unclosed or
  second one, or the answer inside it (nothing after ``</think>``) earns 0.
- **decision-making**: set-F1 of the answer items against the gold items (``set_prf``), times
  ``unique items / items`` (each repeat of an item, after normalising, dilutes the reward: ``A\\nA\\nA`` for gold ``A``
  earns 1/3), and 0 when the answer lists more than ``2 * len(gold) + 2`` items (repeats included): an answer that
  lists the candidate list, or pads the gold with guesses, earns nothing. Risk answers need no length cap: anything but
  one ``yes`` / ``no`` already earns 0 (``"yes\\nno"`` included).
- **risk prediction, class-balanced**: a correct answer earns ``1 / (2 * p)``, where ``p`` is the prevalence of its
  gold label, a wrong or unparseable one 0. ``p`` is the dataset's per-task prevalence when the dataset has a
  ``label_prevalence`` column (the share of the sample's label among its task's rows; recommended), else the running
  share of the label among the risk samples of the same ``task`` scored so far by this process, this batch included
  (``SEEN_LABELS``; all risk samples pooled without a ``task`` column). TRL samples prompts uniformly, so the running
  share converges to the dataset's within the first few hundred risk prompts; a per-batch share would not do (a batch
  holds one or two prompts of a task, so its share is 0 or 1). With these weights every constant answer (always
  ``no``, the majority class of almost every risk task, or always ``yes``) and every random guess earns 0.5 in
  expectation, the chance level, and a correct classifier earns 1 (0.5 on a task whose data hold one label only);
  with plain 0/1 correctness always answering ``no`` earned the majority share (0.84 on the MIMIC-IV demo) for
  learning nothing. A correct answer of the rare label earns more than 1; the mean over a task's samples does not.

  Why a reward and not balanced sampling: it needs no change to the data or to TRL's sampler and holds for any label
  mix. Note that TRL's default ``scale_rewards: group`` divides each group (the completions of one prompt, which share
  one label) by its own standard deviation, which cancels a per-label weight; the weights take effect with
  ``scale_rewards: batch`` (or ``none``), which the GRPO recipes should set.

Reward hacking does not pay (``benchmarks/reward_hacks.py`` prints the table, ``tests/test_rewards.py`` checks it):
listing every candidate, padding, repeating items, answering without or inside the think block, hedging or always
answering the majority class on risk tasks.
"""

from collections import Counter
from collections.abc import Sequence

from ehr_r1.prompting import (
    DECISION_MAKING,
    RISK_PREDICTION,
    TASK_TYPES,
    THINK_CLOSE,
    THINK_OPEN,
    completion_text,
    extract_answer,
    gold_items,
    is_yes,
    normalize_item,
    parse_items,
    parse_risk,
    risk_correct,
    set_prf,
)


OVERLONG_FACTOR, OVERLONG_SLACK = 2, 2
"""A decision-making answer with more than ``OVERLONG_FACTOR * len(gold) + OVERLONG_SLACK`` items earns 0."""


def max_items(n_gold: int) -> int:
    """The most items a decision-making answer may list for ``n_gold`` gold items before it earns 0."""
    return OVERLONG_FACTOR * n_gold + OVERLONG_SLACK


def ehr_accuracy_reward(
    completions: Sequence,
    output: Sequence[str],
    task_type: Sequence[str],
    task: Sequence[str] | None = None,
    label_prevalence: Sequence[float] | None = None,
    **kwargs,
) -> list[float | None]:
    r"""Penalised set-F1 for decision-making, class-balanced correctness for risk prediction (module docstring).

    Args:
        completions: generated completions, strings or lists of chat messages.
        output: the dataset's gold answers: newline-joined items (or a list) for decision-making, ``yes`` / ``no`` for
            risk prediction.
        task_type: ``decision_making`` or ``risk_prediction`` per sample.
        task: the task name per sample; risk label prevalence is counted per task (optional).
        label_prevalence: the dataset's prevalence of each sample's gold label within its task, in (0, 1]
            (optional; without it the running prevalence of ``SEEN_LABELS`` is used and updated).
        **kwargs: the other dataset columns and TRL's extras (unused).

    Returns:
        One reward per completion: in [0, 1] for decision-making, ``0`` or ``1 / (2 * prevalence)`` for risk; 0 without
        exactly one think block before a non-empty answer; ``None`` (TRL: "does not apply") for other task types.

    Example:
    >>> ehr_accuracy_reward(
    ...     ["<think>\nok\n</think>\n\nAnemia\nSepsis", "<think>\n\n</think>\n\nYes", "no"],
    ...     output=["anemia\nsepsis", "yes", "no"],
    ...     task_type=["decision_making", "risk_prediction", "risk_prediction"],
    ...     label_prevalence=[1.0, 0.25, 0.75],  # a correct "yes" of a task with 25 % yes earns 1 / (2 * 0.25)
    ... )
    [1.0, 2.0, 0.0]
    """
    weights = risk_weights(output, task_type, task, label_prevalence)
    rewards: list[float | None] = []
    for completion, gold, kind, weight in zip(completions, output, task_type, weights, strict=True):
        text = completion_text(completion)
        if kind not in TASK_TYPES:
            rewards.append(None)
        elif not has_one_think_block(text):
            rewards.append(0.0)
        elif kind == DECISION_MAKING:
            rewards.append(decision_reward(text, gold))
        else:
            rewards.append(weight * float(risk_correct(text, gold)))
    return rewards


def ehr_format_reward(
    completions: Sequence, task_type: Sequence[str] | None = None, output: Sequence | None = None, **kwargs
) -> list[float]:
    r"""1.0 for a well-formed completion, else 0.0.

    Well formed: exactly one think block opening the completion and a non-empty answer after it
    (``has_one_think_block``), and no answer item twice (compared case-insensitively). When ``task_type`` is given, a
    risk answer must also be exactly ``yes`` or ``no``; when ``output`` is given too, a decision-making answer may not
    list more than ``max_items(len(gold))`` items. The reference's required reasoning headings (``## Extraction`` ...)
    are not checked: ``/no_think`` risk prompts have an empty think block, which the reference format reward always
    failed.

    Example:
    >>> ehr_format_reward(["<think>\nok\n</think>\n\nAnemia", "<think>\n</think>\n\nAnemia\nanemia", "Anemia"])
    [1.0, 0.0, 0.0]
    """
    kinds = task_type if task_type is not None else [None] * len(completions)
    golds = output if output is not None and task_type is not None else [None] * len(completions)
    return [
        float(_well_formed(completion_text(c), kind, gold))
        for c, kind, gold in zip(completions, kinds, golds, strict=True)
    ]


def has_one_think_block(text: str) -> bool:
    """Whether the completion opens with its only ``<think>…</think>`` block and has a non-empty answer after it."""
    if not text.lstrip().startswith(THINK_OPEN) or text.count(THINK_OPEN) != 1 or text.count(THINK_CLOSE) != 1:
        return False
    return bool(extract_answer(text))


def decision_reward(text: str, gold: str | Sequence[str]) -> float:
    """Set-F1 times the share of unique items; 0 for more than ``max_items(len(gold))`` items."""
    items, true = parse_items(text), gold_items(gold)
    if not items or len(items) > max_items(len(true)):
        return 0.0
    unique = len({normalize_item(item) for item in items})
    return set_prf(items, true)[2] * unique / len(items)


class LabelCounts:
    """Running count of risk labels per task, over every batch this process has scored (``SEEN_LABELS``)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, bool]] = Counter()

    def update(self, keys: Sequence[tuple[str, bool]]) -> None:
        self.counts.update(keys)

    def prevalence(self, key: tuple[str, bool]) -> float:
        """Share of the label ``key[1]`` (is yes) among the counted samples of task ``key[0]``."""
        return self.counts[key] / (self.counts[(key[0], True)] + self.counts[(key[0], False)])

    def reset(self) -> None:
        self.counts.clear()


SEEN_LABELS = LabelCounts()
"""The risk labels seen so far by ``ehr_accuracy_reward`` (without a ``label_prevalence`` column); ``reset()`` it to
start a new estimate (tests, a new training run in the same process)."""


def risk_weights(
    output: Sequence[str],
    task_type: Sequence[str],
    task: Sequence[str] | None = None,
    label_prevalence: Sequence[float] | None = None,
) -> list[float]:
    """Weight ``1 / (2 * p)`` of a correct risk answer per sample (1.0 for other task types), ``p`` the prevalence of
    its gold label: ``label_prevalence`` when given, else its running share in ``SEEN_LABELS`` (this batch counted)."""
    risk = [kind == RISK_PREDICTION for kind in task_type]
    if label_prevalence is not None:  # null for decision-making rows (``build-ins`` writes it for risk rows only)
        prevalence = [
            float(p) if r and p is not None else float("nan") for p, r in zip(label_prevalence, risk, strict=True)
        ]
        bad = next((p for p, r in zip(prevalence, risk, strict=True) if r and not 0.0 < p <= 1.0), None)
        if bad is not None:
            raise ValueError(f"label_prevalence must lie in (0, 1], got {bad}")
        return [1.0 / (2.0 * p) if r else 1.0 for p, r in zip(prevalence, risk, strict=True)]
    tasks = task if task is not None else [""] * len(output)
    keys = [(str(t), is_yes(gold)) for t, gold in zip(tasks, output, strict=True)]
    SEEN_LABELS.update([k for k, r in zip(keys, risk, strict=True) if r])
    return [1.0 / (2.0 * SEEN_LABELS.prevalence(k)) if r else 1.0 for k, r in zip(keys, risk, strict=True)]


def _well_formed(text: str, task_type: str | None, gold: str | Sequence[str] | None = None) -> bool:
    if not has_one_think_block(text):
        return False
    if task_type == RISK_PREDICTION:
        return parse_risk(text) is not None
    items = [normalize_item(item) for item in parse_items(text)]
    if task_type == DECISION_MAKING and gold is not None and len(items) > max_items(len(gold_items(gold))):
        return False
    return len(items) == len(set(items))


REGISTRY = {fn.__name__: fn for fn in (ehr_accuracy_reward, ehr_format_reward)}
"""Reward name -> function, for code that picks rewards by name (recipes use the dotted paths)."""

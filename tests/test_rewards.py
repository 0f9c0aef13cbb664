# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR GRPO rewards: scores, the reference bugs fixed, completions as text or messages, and reward hacking cases."""

import doctest
import importlib

import pytest

from ehr_r1.rewards import REGISTRY, ehr_accuracy_reward, ehr_format_reward


DM, RISK = "decision_making", "risk_prediction"
GOLD = "Acute kidney failure, unspecified\nHyperkalemia\nAnemia, unspecified"
CANDIDATES = [f"Diagnosis {i}" for i in range(97)] + GOLD.split("\n")  # 100 candidates, 3 gold


def think(answer: str, reasoning: str = "The creatinine rose from 1.1 to 3.4.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def accuracy(completion, gold=GOLD, kind=DM):
    return ehr_accuracy_reward([completion], output=[gold], task_type=[kind])[0]


def fmt(completion, kind=None):
    return ehr_format_reward([completion], task_type=None if kind is None else [kind])[0]


def test_decision_making_is_set_f1():
    assert accuracy(think(GOLD)) == 1.0
    assert accuracy(think("hyperkalemia\n  ANEMIA, UNSPECIFIED  \nacute kidney failure, unspecified")) == 1.0
    assert accuracy(think("Hyperkalemia")) == pytest.approx(0.5)  # P 1, R 1/3
    assert accuracy(think("Hyperkalemia\nSepsis")) == pytest.approx(0.4)  # P 1/2, R 1/3
    assert accuracy(think("Sepsis")) == 0.0
    assert accuracy(think("Hyperkalemia\\nAnemia, unspecified")) == pytest.approx(0.8)  # literal \n echoed
    assert accuracy(think(GOLD), gold=GOLD.split("\n")) == 1.0  # a list-valued output column


def test_risk_is_stripped_case_insensitive_correctness():
    # recipes/README.md bug: the text after </think> starts with "\n\n" and was never stripped -> reward 0
    assert accuracy("<think>\n\n</think>\n\nyes", gold="yes", kind=RISK) == 1.0
    assert accuracy("<think>\n\n</think>\n\nYes.", gold="yes", kind=RISK) == 1.0
    assert accuracy("<think>\n\n</think>\n\nno\n", gold=" no ", kind=RISK) == 1.0
    assert accuracy("<think>\n\n</think>\n\nno", gold="yes", kind=RISK) == 0.0
    assert accuracy("<think>\n\n</think>\n\nyesterday", gold="yes", kind=RISK) == 0.0  # startswith would pay


def test_completions_as_chat_messages_and_batches():
    completions = [
        [{"role": "assistant", "content": think(GOLD)}],
        [{"role": "assistant", "content": "<think>\n\n</think>\n\nno"}],
        [{"role": "assistant", "content": think("Hyperkalemia")}],
    ]
    rewards = ehr_accuracy_reward(completions, output=[GOLD, "no", GOLD], task_type=[DM, RISK, DM])
    assert rewards == pytest.approx([1.0, 1.0, 0.5])
    assert ehr_format_reward(completions, task_type=[DM, RISK, DM]) == [1.0, 1.0, 1.0]


def test_unknown_task_type_does_not_apply():
    assert ehr_accuracy_reward([think("text")], output=["text"], task_type=["discharge"]) == [None]


def test_hacking_listing_every_candidate_scores_well_below_gold():
    all_candidates = accuracy(think("\n".join(CANDIDATES)))
    assert all_candidates == pytest.approx(2 * 0.03 / 1.03)  # P 3/100, R 1
    assert all_candidates < 0.1 and 0.5 <= accuracy(think("Hyperkalemia")) < accuracy(think(GOLD))
    assert accuracy("<think>\n\n</think>\n\nyes\nno", gold="yes", kind=RISK) == 0.0  # hedging on risk
    assert fmt("<think>\n\n</think>\n\nyes\nno", kind=RISK) == 0.0


def test_hacking_answer_inside_think_block_gets_no_credit():
    assert accuracy(f"<think>\n{GOLD}\n</think>\n\n") == 0.0  # nothing after </think>
    assert accuracy(f"<think>\n{GOLD}") == 0.0  # think block never closed
    assert accuracy(GOLD) == 0.0  # no think block at all
    assert accuracy("<think>\n\n</think>\nyes", gold="yes", kind=RISK) == 1.0
    assert accuracy("yes", gold="yes", kind=RISK) == 0.0
    assert fmt(f"<think>\n{GOLD}\n</think>\n\n") == 0.0


def test_hacking_repeating_items_gains_nothing():
    repeated = think("Hyperkalemia\nhyperkalemia\nHyperkalemia ")
    assert accuracy(repeated) == accuracy(think("Hyperkalemia"))
    assert fmt(repeated) == 0.0 and fmt(think("Hyperkalemia")) == 1.0


def test_format_reward_cases():
    assert fmt(think(GOLD)) == 1.0
    assert fmt("\n<think>\n\n</think>\n\nno", kind=RISK) == 1.0
    assert fmt("<think>\n\n</think>\n\nmaybe", kind=RISK) == 0.0
    assert fmt("<think>a</think>b<think>c</think>\n\nAnemia") == 0.0  # two think blocks
    assert fmt("<think>a</think></think>Anemia") == 0.0
    assert fmt("Anemia</think>\n\nAnemia") == 0.0  # not opened
    assert fmt("") == 0.0 and fmt([]) == 0.0


def test_trl_call_convention_and_registry():
    extras = dict(
        prompts=[[{"role": "user", "content": "x"}]] * 2,
        completion_ids=[[1, 2], [3]],
        task=["diagnosis", "mortality"],
        trainer_state=None,
        log_extra=lambda *a: None,
        log_metric=lambda *a: None,
    )
    completions = [[{"role": "assistant", "content": think(GOLD)}], [{"role": "assistant", "content": "no"}]]
    assert ehr_accuracy_reward(completions=completions, output=[GOLD, "no"], task_type=[DM, RISK], **extras) == [
        1.0,
        0.0,
    ]
    assert ehr_format_reward(completions=completions, output=[GOLD, "no"], task_type=[DM, RISK], **extras) == [
        1.0,
        0.0,
    ]
    assert set(REGISTRY) == {"ehr_accuracy_reward", "ehr_format_reward"}
    for name, fn in REGISTRY.items():  # what `trl grpo --reward_funcs ehr_r1.rewards.<name>` resolves
        assert getattr(importlib.import_module("ehr_r1.rewards"), name) is fn and fn.__name__ == name


def test_docstring_examples():
    import ehr_r1.rewards

    assert doctest.testmod(ehr_r1.rewards).failed == 0

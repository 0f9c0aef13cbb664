# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR GRPO rewards: scores, the reference bugs fixed, completions as text or messages, and reward hacking cases."""

import doctest
import importlib
import random

import pytest

from ehr_r1.rewards import REGISTRY, SEEN_LABELS, ehr_accuracy_reward, ehr_format_reward, max_items


DM, RISK = "decision_making", "risk_prediction"
GOLD = "Acute kidney failure, unspecified\nHyperkalemia\nAnemia, unspecified"
CANDIDATES = [f"Diagnosis {i}" for i in range(97)] + GOLD.split("\n")  # 100 candidates, 3 gold


def think(answer: str, reasoning: str = "The creatinine rose from 1.1 to 3.4.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


@pytest.fixture(autouse=True)
def fresh_label_counts():
    SEEN_LABELS.reset()
    yield
    SEEN_LABELS.reset()


def accuracy(completion, gold=GOLD, kind=DM, prevalence=0.5):
    """One completion's accuracy; a risk label of prevalence 0.5 makes the class-balanced reward plain correctness."""
    return ehr_accuracy_reward([completion], output=[gold], task_type=[kind], label_prevalence=[prevalence])[0]


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
    assert rewards == pytest.approx([1.0, 0.5, 0.5])  # the only label seen so far: prevalence 1, weight 1/2
    assert ehr_format_reward(completions, task_type=[DM, RISK, DM]) == [1.0, 1.0, 1.0]


def test_unknown_task_type_does_not_apply():
    assert ehr_accuracy_reward([think("text")], output=["text"], task_type=["discharge"]) == [None]


def test_hacking_listing_every_candidate_scores_well_below_gold():
    all_candidates = accuracy(think("\n".join(CANDIDATES)))
    assert all_candidates == 0.0  # 100 items > max_items(3) = 8 (plain set-F1 paid 2 * 0.03 / 1.03 = 0.058)
    assert 0.5 <= accuracy(think("Hyperkalemia")) < accuracy(think(GOLD))
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
    assert accuracy(repeated) == pytest.approx(accuracy(think("Hyperkalemia")) / 3)  # 1 unique item of 3
    assert accuracy(think("\n".join(g for g in GOLD.split("\n") for _ in range(2)))) == pytest.approx(0.5)
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
    assert SEEN_LABELS.prevalence(("mortality", False)) == 1.0  # counted per `task` column
    assert ehr_format_reward(completions=completions, output=[GOLD, "no"], task_type=[DM, RISK], **extras) == [
        1.0,
        0.0,
    ]
    assert set(REGISTRY) == {"ehr_accuracy_reward", "ehr_format_reward"}
    for name, fn in REGISTRY.items():  # what `trl grpo --reward_funcs ehr_r1.rewards.<name>` resolves
        assert getattr(importlib.import_module("ehr_r1.rewards"), name) is fn and fn.__name__ == name


# ---------------------------------------------------------------------------------------------- class-balanced risk
# A realistic label mix, as the MIMIC-IV demo's EHR-Ins (--max-per-task 50): rare deaths, a balanced length of stay.
MIX = {"ICU_Mortality_1day": (34, 1), "ICU_Mortality_14day": (34, 4), "Inpatient_Mortality": (50, 4),
       "LengthOfStay_3day": (50, 28), "ICU_Stay_14day": (34, 0)}  # fmt: skip
BOTH = [t for t, (n, yes) in MIX.items() if 0 < yes < n]


def risk_rows(seed=0):
    rows = [(t, "yes" if i < yes else "no", (yes if i < yes else n - yes) / n) for t, (n, yes) in MIX.items()
            for i in range(n)]  # fmt: skip
    random.Random(seed).shuffle(rows)
    return rows


def risk_answers(rows, answer, prevalence=True, prompts=8, generations=2):
    """Per-task mean accuracy of ``answer(gold)`` scored in TRL-shaped batches (prompts x generations)."""
    scores = {t: [] for t in MIX}
    for start in range(0, len(rows), prompts):
        batch = [r for r in rows[start : start + prompts] for _ in range(generations)]
        columns = dict(output=[g for _, g, _ in batch], task_type=[RISK] * len(batch), task=[t for t, _, _ in batch])
        extra = dict(label_prevalence=[p for _, _, p in batch]) if prevalence else {}
        completions = [think(answer(gold), "") for _, gold, _ in batch]
        for (t, _, _), r in zip(batch, ehr_accuracy_reward(completions, **columns, **extra), strict=True):
            scores[t].append(r)
    return {t: sum(v) / len(v) for t, v in scores.items()}


def test_risk_majority_class_pays_chance_and_a_classifier_pays_one():
    rows = risk_rows()
    majority, minority, correct = (risk_answers(rows, a) for a in (lambda g: "no", lambda g: "yes", lambda g: g))
    for task in BOTH:
        assert majority[task] == pytest.approx(0.5) and minority[task] == pytest.approx(0.5)
        assert correct[task] == pytest.approx(1.0)
    assert majority["ICU_Stay_14day"] == correct["ICU_Stay_14day"] == pytest.approx(0.5)  # one label: no contrast
    plain = sum(n - yes for n, yes in MIX.values()) / sum(n for n, _ in MIX.values())
    assert plain > 0.8  # what always "no" earned with 0/1 correctness


def test_risk_random_guess_pays_chance():
    rng = random.Random(1)
    rows = risk_rows() * 20
    coin = risk_answers(rows, lambda g: rng.choice(("yes", "no")))
    assert all(abs(coin[t] - 0.5) < 0.05 for t in BOTH), coin  # expectation exactly 0.5
    assert coin["ICU_Stay_14day"] == pytest.approx(0.25, abs=0.05)  # one label: half the guesses right, weight 1/2


def test_risk_running_prevalence_without_column():
    rows = risk_rows(seed=3)
    majority = risk_answers(rows * 3, lambda g: "no", prevalence=False)
    SEEN_LABELS.reset()
    correct = risk_answers(rows * 3, lambda g: g, prevalence=False)
    assert all(abs(majority[t] - 0.5) < 0.1 for t in BOTH), majority
    assert all(correct[t] > 0.85 for t in BOTH), correct
    n, yes = MIX["LengthOfStay_3day"]
    assert SEEN_LABELS.prevalence(("LengthOfStay_3day", True)) == pytest.approx(yes / n)


def test_risk_weight_is_inverse_prevalence_and_checked():
    assert accuracy(think("yes", ""), gold="yes", kind=RISK, prevalence=0.1) == pytest.approx(5.0)
    assert accuracy(think("no", ""), gold="no", kind=RISK, prevalence=0.9) == pytest.approx(1 / 1.8)
    assert accuracy(think("no", ""), gold="yes", kind=RISK, prevalence=0.1) == 0.0
    with pytest.raises(ValueError, match="label_prevalence"):
        accuracy(think("no", ""), gold="no", kind=RISK, prevalence=0.0)


# --------------------------------------------------------------------------------------------- the hack -> reward table
WRONG = CANDIDATES[:97]
HACKS = [  # (hack, completion, gold, task type, accuracy reward, format reward)
    ("gold answer", think(GOLD), GOLD, DM, 1.0, 1.0),
    ("every candidate listed", think("\n".join(CANDIDATES)), GOLD, DM, 0.0, 0.0),
    ("gold + 5 wrong (at the cap)", think("\n".join(GOLD.split("\n") + WRONG[:5])), GOLD, DM, 6 / 11, 1.0),
    ("gold + 6 wrong (over the cap)", think("\n".join(GOLD.split("\n") + WRONG[:6])), GOLD, DM, 0.0, 0.0),
    ("gold, each item twice", think("\n".join(GOLD.split("\n") * 2)), GOLD, DM, 0.5, 0.0),
    ("gold, each item 3 times (9 > 8 items)", think("\n".join(GOLD.split("\n") * 3)), GOLD, DM, 0.0, 0.0),
    ("gold, no think block", GOLD, GOLD, DM, 0.0, 0.0),
    ("gold, inside the think block", f"<think>\n{GOLD}\n</think>\n\n", GOLD, DM, 0.0, 0.0),
    ("gold, think block not first", f"Sure.\n{think(GOLD)}", GOLD, DM, 0.0, 0.0),
    ("gold, after a second think block", think(think(GOLD)), GOLD, DM, 0.0, 0.0),
    ("gold, unclosed think block", f"<think>\n{GOLD}", GOLD, DM, 0.0, 0.0),
    ("risk correct", "<think>\n\n</think>\n\nyes", "yes", RISK, 1.0, 1.0),
    ("risk hedge yes/no", "<think>\n\n</think>\n\nyes\nno", "yes", RISK, 0.0, 0.0),
    ("risk, no think block", "yes", "yes", RISK, 0.0, 0.0),
    ("risk, inside the think block", "<think>yes</think>", "yes", RISK, 0.0, 0.0),
    ("risk, two think blocks", "<think></think><think></think>yes", "yes", RISK, 0.0, 0.0),
]


@pytest.mark.parametrize(
    ("completion", "gold", "kind", "acc", "form"), [h[1:] for h in HACKS], ids=[h[0] for h in HACKS]
)
def test_hack_table(completion, gold, kind, acc, form):
    assert accuracy(completion, gold=gold, kind=kind) == pytest.approx(acc)
    assert ehr_format_reward([completion], task_type=[kind], output=[gold]) == [form]


def test_overlong_cap():
    assert max_items(3) == 8 and max_items(1) == 4
    assert accuracy(think("\n".join(["Hyperkalemia"] + WRONG[:3])), gold="Hyperkalemia") == pytest.approx(0.4)
    assert accuracy(think("\n".join(["Hyperkalemia"] + WRONG[:4])), gold="Hyperkalemia") == 0.0


def test_docstring_examples():
    import ehr_r1.rewards

    assert doctest.testmod(ehr_r1.rewards).failed == 0


def test_label_prevalence_is_null_on_decision_making_rows_as_build_ins_writes_it():
    from ehr_r1.rewards import risk_weights

    weights = risk_weights(["yes", "anemia"], ["risk_prediction", "decision_making"], ["T", "D"], [0.25, None])
    assert weights == [2.0, 1.0]
    with pytest.raises(ValueError, match="label_prevalence"):
        risk_weights(["yes"], ["risk_prediction"], ["T"], [None])

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Risk label rules (docs/tasks.md): the registry ``RISK_RULES`` of anchor event, context window and outcome.

A rule is evaluated over an *anchor frame*: one row per anchor event with its context ``[begin, end)`` and these
facts (``ehr_r1.tasks.index.risk_anchor_frames`` computes them for every anchor type):

- ``t`` anchor start, ``aux_time`` the anchor's second time (admission: discharge time; ED / ICU stay: out time),
  ``hadm_id`` the anchor's admission, ``dod`` the patient's date of death, ``ctx_last_t`` the start of the last
  context event, ``hadm_last`` the last event start of the anchor's admission;
- ``next_icu`` (ICU anchors): start of the next ICU stay of the same admission; ``admit_t`` / ``icu_t`` (ED anchors):
  start of the first later admission / ICU stay of the same admission; ``next_ed``: start of the next ED stay;
  ``next_admit`` (discharge-note anchors): start of the next admission.

Adding a rule: one ``RiskRule`` here (using these facts) and one ``RiskTask`` naming it in the catalogue.
"""

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


# Context windows of the anchor types (``window_hours`` is the index's, 24 h by default):
AFTER_ANCHOR = "after_anchor"  # the anchor plus same-admission events starting less than window_hours after it
UNTIL_AUX_TIME = "until_aux_time"  # the anchor up to the last event starting before the anchor's aux_time (ED out)
BEFORE_ANCHOR = "before_anchor"  # same-admission events less than window_hours before the anchor, anchor included
ANCHOR_WINDOWS = {
    "admissions": AFTER_ANCHOR,
    "icustays": AFTER_ANCHOR,
    "edstays": UNTIL_AUX_TIME,
    "discharge": BEFORE_ANCHOR,
}


def hours_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (a - b).dt.total_seconds() / 3600


@dataclass(frozen=True)
class RiskRule:
    """How one family of risk tasks is labelled.

    Args:
        anchor (`str`): event type that creates the samples (a key of ``ANCHOR_WINDOWS``).
        outcome (`Callable[[float | None], pl.Expr]`): the "yes" condition over an anchor frame, given the task's
            threshold in hours (``None`` for rules without one).
        keep (`Callable[[], pl.Expr] | None`): which anchors yield a sample at all (default: every anchor).
        uses_hours (`bool`): whether tasks of this rule must give ``hours``.
    """

    anchor: str
    outcome: Callable[[float | None], pl.Expr]
    keep: Callable[[], pl.Expr] | None = None
    uses_hours: bool = False

    def expressions(self, hours: float | None) -> tuple[pl.Expr, pl.Expr]:
        """(label, keep) boolean expressions, nulls read as False."""
        keep = self.keep() if self.keep else pl.lit(True)
        return self.outcome(hours).fill_null(False), keep.fill_null(False)


def _ed_mortality(_: float | None = None) -> pl.Expr:
    died = pl.col("dod").is_not_null() & pl.col("hadm_id").is_not_null()
    return died & (pl.col("hadm_last") >= pl.col("dod"))


def _ed_icu(hours: float | None) -> pl.Expr:
    return pl.col("icu_t").is_not_null() & (hours_between(pl.col("icu_t"), pl.col("aux_time")) < hours)


def _discharged() -> pl.Expr:
    return pl.col("aux_time").is_not_null()


RISK_RULES: dict[str, RiskRule] = {
    "ed_hospitalization": RiskRule(
        "edstays", lambda _: pl.col("admit_t").is_not_null() & pl.col("hadm_id").is_not_null()
    ),
    "ed_mortality": RiskRule("edstays", _ed_mortality),
    "ed_icu": RiskRule("edstays", _ed_icu, uses_hours=True),
    "ed_reattendance": RiskRule(
        "edstays",
        lambda h: pl.col("next_ed").is_not_null() & (hours_between(pl.col("next_ed"), pl.col("aux_time")) < h),
        uses_hours=True,
    ),
    "ed_critical": RiskRule("edstays", lambda h: _ed_icu(h) | _ed_mortality(), uses_hours=True),
    # generated only if discharge is after the context
    "los": RiskRule(
        "admissions",
        lambda h: hours_between(pl.col("aux_time"), pl.col("t")) > h,
        keep=lambda: (pl.col("aux_time") > pl.col("ctx_last_t")) & _discharged(),
        uses_hours=True,
    ),
    "inpatient_mortality": RiskRule(
        "admissions", lambda _: pl.col("dod").is_not_null() & (pl.col("aux_time") >= pl.col("dod")), _discharged
    ),
    "icu_mortality": RiskRule(
        "icustays",
        lambda h: pl.col("dod").is_not_null() & (hours_between(pl.col("dod"), pl.col("ctx_last_t")) < h),
        uses_hours=True,
    ),
    "icu_stay": RiskRule(
        "icustays", lambda h: hours_between(pl.col("aux_time"), pl.col("t")) >= h, _discharged, uses_hours=True
    ),
    "icu_readmission": RiskRule("icustays", lambda _: pl.col("next_icu").is_not_null()),
    "readmission": RiskRule(
        "discharge",
        lambda h: pl.col("next_admit").is_not_null() & (hours_between(pl.col("next_admit"), pl.col("t")) < h),
        uses_hours=True,
    ),
}


def register_rule(name: str, rule: RiskRule) -> None:
    """Add a rule to ``RISK_RULES`` (its anchor must be a known anchor type)."""
    if name in RISK_RULES:
        raise ValueError(f"risk rule {name!r} exists already")
    if rule.anchor not in ANCHOR_WINDOWS:
        raise ValueError(f"risk rule {name!r}: unknown anchor {rule.anchor!r}; known: {sorted(ANCHOR_WINDOWS)}")
    RISK_RULES[name] = rule

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Leakage audit of every build: does the mere presence of an event type in a risk input give its label away?

For each risk task and each event type (``## <Event Name> [`` headers of the input, header blocks included), the
share of positive and of negative samples whose input holds it. A type whose shares differ by at least
``threshold`` (default 0.5) with a Fisher exact test p-value below ``p_value`` (default 0.001: far beyond chance,
also for a rare class) is flagged; the manifest and the card report the flags. (A rendered admission header for an
ED stay that led to the admission once separated ``ED_Hospitalization`` perfectly.)
"""

import polars as pl
from scipy.stats import fisher_exact

from ehr_r1.prompting import RISK_PREDICTION, YES


THRESHOLD, P_VALUE = 0.5, 1e-3
_HEADER = r"(?m)^## ([^\[\n]+) \["


def event_shares(rows: pl.DataFrame) -> pl.DataFrame:
    """(task, event, share_yes, share_no, n_yes, n_no) over the risk samples of ``rows``."""
    risk = rows.filter(pl.col("task_type") == RISK_PREDICTION).select(
        "task", yes=pl.col("output") == YES, event=pl.col("input").str.extract_all(_HEADER).list.unique()
    )
    sizes = risk.group_by("task").agg(n_yes=pl.col("yes").sum(), n_no=(~pl.col("yes")).sum())
    present = (
        risk.explode("event")
        .drop_nulls("event")
        .with_columns(pl.col("event").str.slice(3).str.strip_chars_end(" ["))
        .group_by("task", "event")
        .agg(k_yes=pl.col("yes").sum(), k_no=(~pl.col("yes")).sum())
    )
    return (
        present.join(sizes, on="task")
        .select(
            "task",
            "event",
            share_yes=pl.col("k_yes") / pl.col("n_yes").clip(1),
            share_no=pl.col("k_no") / pl.col("n_no").clip(1),
            n_yes="n_yes",
            n_no="n_no",
        )
        .sort("task", "event")
    )


def _p_value(share_yes: float, share_no: float, n_yes: int, n_no: int) -> float:
    k_yes, k_no = round(share_yes * n_yes), round(share_no * n_no)
    return float(fisher_exact([[k_yes, n_yes - k_yes], [k_no, n_no - k_no]])[1])


def leakage_audit(rows: pl.DataFrame, threshold: float = THRESHOLD, p_value: float = P_VALUE) -> dict:
    """The manifest's ``leakage_audit``: flagged (task, event type) pairs and every share, rounded."""
    shares = event_shares(rows)
    candidates = shares.filter((pl.col("share_yes") - pl.col("share_no")).abs() >= threshold)
    flagged = []
    for task, event, p_yes, p_no, n_yes, n_no in candidates.iter_rows():
        p = _p_value(p_yes, p_no, n_yes, n_no)
        if p < p_value:
            flagged.append(
                {"task": task, "event": event, "share_yes": round(p_yes, 3), "share_no": round(p_no, 3), "p": p}
            )
    tasks: dict[str, dict[str, list[float]]] = {}
    for task, event, p_yes, p_no, *_ in shares.iter_rows():
        tasks.setdefault(task, {})[event] = [round(p_yes, 3), round(p_no, 3)]
    return {"threshold": threshold, "p_value": p_value, "flagged": flagged, "shares": tasks}

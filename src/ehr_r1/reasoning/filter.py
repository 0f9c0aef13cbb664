# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Quality filter of reasoning chains (``docs/reasoning.md`` §5), vectorised over all completions.

A completion passes when (in this order of reasons) it has the three sections (``missing_sections``), contains no
leak phrase (``leak``), and at least ``min_recall`` of the gold items appear, case-insensitively, in its Final Results
section (``low_recall``); for the ``free`` variant, in the text after the last "the answer is". A sample is kept when
at least one completion passes; all passing completions are kept, SFT uses the first.
"""

import polars as pl

from ehr_r1.reasoning.config import SECTIONS, FilterConfig


def judge(completions: pl.DataFrame, cfg: FilterConfig, variant: str = "graph") -> pl.DataFrame:
    """Add ``recall`` and ``verdict`` (``pass`` or the first failed reason) to ``completions``.

    Args:
        completions: one row per completion with ``cid`` (unique id), ``text`` and ``gold`` (list of gold items).
    """
    text = pl.col("text").fill_null("")
    lower = text.str.to_lowercase()
    if variant == "free":
        answer = lower.str.split("the answer is").list.last()
        sections = pl.lit(True)
    else:
        answer = lower.str.split("final results").list.last()
        sections = pl.all_horizontal([text.str.contains(s, literal=True) for s in SECTIONS])
        sections = sections if cfg.require_sections else pl.lit(True)
    leak = pl.any_horizontal(
        [lower.str.contains(p.lower(), literal=True) for p in cfg.leak_phrases] or [pl.lit(False)]
    )
    base = completions.with_columns(_answer=answer, _sections=sections, _leak=leak)
    items = base.select("cid", "_answer", item=pl.col("gold")).explode("item").drop_nulls("item")
    items = items.with_columns(hit=pl.col("_answer").str.contains(pl.col("item").str.to_lowercase(), literal=True))
    recall = items.group_by("cid").agg(recall=pl.col("hit").mean())
    out = base.join(recall, on="cid", how="left").with_columns(pl.col("recall").fill_null(0.0))
    verdict = (
        pl.when(~pl.col("_sections"))
        .then(pl.lit("missing_sections"))
        .when(pl.col("_leak"))
        .then(pl.lit("leak"))
        .when(pl.col("recall") < cfg.min_recall)
        .then(pl.lit("low_recall"))
        .otherwise(pl.lit("pass"))
    )
    return out.with_columns(verdict=verdict).drop("_answer", "_sections", "_leak")

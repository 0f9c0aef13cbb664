# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL-ready configs of EHR-Ins: ``sft`` (stage 1), ``reasoning`` (stage 2), ``grpo`` (stage 3), from dataset rows.

Texts come from ``ehr_r1.prompting`` (the one prompt format); polars only assembles the message structs.
"""

from pathlib import Path

import polars as pl

from ehr_r1 import prompting
from ehr_r1.errors import EhrR1Error


def _messages(*turns: tuple[str, pl.Expr]) -> pl.Expr:
    return pl.concat_list([pl.struct(role=pl.lit(role), content=content) for role, content in turns])


def _prevalence() -> pl.Expr:
    """Risk rows: the share of their task's rows with the same label (the class-balanced GRPO reward reads it)."""
    label = pl.col("output").str.strip_chars().str.to_lowercase()
    share = pl.len().over("task", label) / pl.len().over("task")
    return pl.when(pl.col("task_type") == prompting.RISK_PREDICTION).then(share).otherwise(None).cast(pl.Float64)


def reasoning_mix(has_chain: pl.Series, share: float, seed: int, idx: pl.Series) -> pl.Series:
    """Which rows the stage-2 ``reasoning`` config holds: every row with a chain, plus non-reasoning rows making up
    ``share`` of the config (drawn by a seeded hash of ``idx``, so the same build gives the same mix)."""
    n_chains = int(has_chain.sum())
    n_plain = min(round(n_chains * share / (1 - share)), len(has_chain) - n_chains)
    order = pl.DataFrame({"idx": idx, "chain": has_chain}).with_row_index("_row")
    order = order.with_columns(_key=pl.col("idx").hash(seed)).sort("chain", "_key")
    plain = set(order.filter(~pl.col("chain")).head(n_plain)["_row"].to_list())
    return pl.Series([c or r in plain for r, c in enumerate(has_chain.to_list())])


def trl_frames(
    rows: pl.DataFrame, reasoning: dict[str, str], no_think_share: float = 0.1, seed: int = 42
) -> dict[str, pl.DataFrame]:
    """TRL-ready configs: ``sft`` (stage 1, every row), ``reasoning`` (stage 2: the rows with a reasoning chain,
    ``/think``, plus ``no_think_share`` of ``/no_think`` rows; omitted without chains), ``grpo`` (stage 3)."""
    records = rows.select("idx", "input", "instruction", "output", "task_type").to_dict(as_series=False)
    chains = [reasoning.get(i) for i in records["idx"]]
    columns = zip(
        records["input"], records["instruction"], records["output"], records["task_type"], chains, strict=True
    )
    user, user_switch, user_grpo, target = [], [], [], []
    for inp, ins, out, task_type, chain in columns:
        user.append(prompting.user_content(inp, ins))
        user_switch.append(prompting.user_content(inp, ins, think=bool(chain)))
        user_grpo.append(prompting.user_content(inp, ins, think=prompting.default_think(task_type)))
        target.append(prompting.assistant_target(out, chain, think=False))
    texts = rows.select("idx", "task", "task_type", "output").with_columns(
        _user=pl.Series(user), _switch=pl.Series(user_switch), _grpo=pl.Series(user_grpo), _target=pl.Series(target)
    )
    system = ("system", pl.lit(prompting.SYSTEM_PROMPT))
    keep = ("idx", "task", "task_type")
    frames = {
        "sft": texts.select(
            *keep, messages=_messages(system, ("user", pl.col("_user")), ("assistant", pl.col("output")))
        ),
        "grpo": texts.select(
            *keep, prompt=_messages(system, ("user", pl.col("_grpo"))), output="output", label_prevalence=_prevalence()
        ),
    }
    has_chain = pl.Series([bool(c) for c in chains], dtype=pl.Boolean)
    if has_chain.any():
        mixed = texts.filter(reasoning_mix(has_chain, no_think_share, seed, texts["idx"]))
        frames["reasoning"] = mixed.select(
            *keep,
            think=pl.col("_switch").str.ends_with(prompting.think_suffix(True)),
            messages=_messages(system, ("user", pl.col("_switch")), ("assistant", pl.col("_target"))),
        )
    return {name: frames[name] for name in ("sft", "reasoning", "grpo") if name in frames}


def read_reasoning(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    if not Path(path).is_file():
        raise EhrR1Error(f"{path}: reasoning file not found (make one with `ehr-r1 build-reasoning`)")
    if not Path(path).read_text(encoding="utf-8").strip():
        return {}
    frame = pl.read_ndjson(path)
    for col in ("idx", "reasoning"):
        if col not in frame.columns:
            raise EhrR1Error(f"{path} (column {col!r}): missing column")
    return dict(frame.select("idx", "reasoning").iter_rows())

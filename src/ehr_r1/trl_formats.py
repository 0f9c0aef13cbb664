# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL-ready configs of EHR-Ins: ``sft`` (stage 1), ``reasoning`` (stage 2), ``grpo`` (stage 3), from dataset rows.

Texts come from ``ehr_r1.prompting`` (the one prompt format); polars only assembles the message structs.
"""

import polars as pl

from ehr_r1 import prompting
from ehr_r1.errors import EhrR1Error


def _messages(*turns: tuple[str, pl.Expr]) -> pl.Expr:
    return pl.concat_list([pl.struct(role=pl.lit(role), content=content) for role, content in turns])


def trl_frames(rows: pl.DataFrame, reasoning: dict[str, str]) -> dict[str, pl.DataFrame]:
    """TRL-ready configs: ``sft`` (stage 1), ``reasoning`` (stage 2), ``grpo`` (stage 3).

    Texts come from ``ehr_r1.prompting`` (the one prompt format); polars only assembles the message structs.
    """
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
    return {
        "sft": texts.select(
            *keep, messages=_messages(system, ("user", pl.col("_user")), ("assistant", pl.col("output")))
        ),
        "reasoning": texts.select(
            *keep, messages=_messages(system, ("user", pl.col("_switch")), ("assistant", pl.col("_target")))
        ),
        "grpo": texts.select(*keep, prompt=_messages(system, ("user", pl.col("_grpo"))), output="output"),
    }


def read_reasoning(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    frame = pl.read_ndjson(path)
    for col in ("idx", "reasoning"):
        if col not in frame.columns:
            raise EhrR1Error(f"{path} (column {col!r}): missing column")
    return dict(frame.select("idx", "reasoning").iter_rows())

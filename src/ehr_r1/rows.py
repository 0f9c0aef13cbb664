# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Selected index entries → dataset rows (``idx, task, task_type, instruction, input, output, candidates, …``).

Only the events a sample shows are rendered; every field except ``input`` and ``candidates`` is computed column-wise.
"""

import random
from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from ehr_r1 import prompting
from ehr_r1.render import event_texts, render_input
from ehr_r1.sampling import candidates_for, text_seed
from ehr_r1.tasks.catalogue import ALL_TASKS


TASK_INFO = pl.Struct({
    "task": pl.String, "task_type": pl.String, "event": pl.String, "target_key": pl.String, "metric": pl.String,
    "bid_events": pl.List(pl.String), "labels": pl.List(pl.String),
})  # fmt: skip
ROW_SCHEMA = {
    "idx": pl.String, "task": pl.String, "task_type": pl.String, "instruction": pl.String, "input": pl.String,
    "output": pl.String, "candidates": pl.List(pl.String), "task_info": TASK_INFO, "subject_id": pl.Int64,
    "hadm_id": pl.Int64,
}  # fmt: skip


def needed_events(samples: pl.DataFrame) -> pl.DataFrame:
    """(subject_id, event_idx) of every event the samples show: demographics, history, admission, context."""
    context = samples.select("subject_id", event_idx=pl.int_ranges("begin", "end", dtype=pl.Int32)).explode(
        "event_idx"
    )
    extra = [
        samples.select("subject_id", event_idx=pl.col(c).cast(pl.Int32))
        for c in ("admissions_id", "last_discharge_id")
    ]
    first = samples.select("subject_id", event_idx=pl.lit(0, pl.Int32))
    return pl.concat([context, first, *extra]).drop_nulls().unique()


def _task_attr(name: str, values: dict, dtype=pl.String) -> pl.Expr:
    return pl.col("task").replace_strict(values, return_dtype=dtype).alias(name)


def _columns(part: pl.DataFrame) -> pl.DataFrame:
    """Every field that depends only on the task spec and the labels."""
    tasks = {t: ALL_TASKS[t] for t in part["task"].unique()}
    info = pl.struct(
        "task", "task_type",
        _task_attr("event", {n: t.table for n, t in tasks.items()}),
        _task_attr("target_key", {n: getattr(t, "target_key", "label") for n, t in tasks.items()}),
        _task_attr("metric", {n: t.metric for n, t in tasks.items()}),
        _task_attr("bid_events", {n: list(t.bid_events) for n, t in tasks.items()}, pl.List(pl.String)),
        "labels",
    )  # fmt: skip
    return part.with_columns(
        idx=pl.concat_str(
            "task", pl.col("subject_id").cast(pl.String), pl.col("target_idx").cast(pl.String), separator="-"
        ),
        task_type=_task_attr("task_type", {n: t.task_type for n, t in tasks.items()}),
        instruction=_task_attr("instruction", {n: t.instruction for n, t in tasks.items()}),
        output=pl.col("labels").list.join("\n"),
    ).with_columns(task_info=info)


def _inputs(part: pl.DataFrame, texts: pl.DataFrame) -> list[str]:
    by_subject: dict[int, tuple[dict[int, str], dict[int, str]]] = {}
    for s, i, text, table in texts.select("subject_id", "event_idx", "text", "table").iter_rows():
        patient = by_subject.setdefault(s, ({}, {}))
        patient[0][i], patient[1][i] = text, table
    out = []
    for s, task, begin, end, adm, hist in part.select(
        "subject_id", "task", "begin", "end", "admissions_id", "last_discharge_id"
    ).iter_rows():
        text, tables = by_subject[s]
        bid = ALL_TASKS[task].bid_events
        out.append(render_input(text, tables, begin, end, adm, hist, hide=bid, with_admission=task != "admissions"))
    return out


def _candidates(part: pl.DataFrame, vocab: dict[str, list[str]], seed: int, limit: int) -> list[list[str]]:
    out = []
    for task, task_type, s, target, labels in part.select(
        "task", "task_type", "subject_id", "target_idx", "labels"
    ).iter_rows():
        if task_type == prompting.RISK_PREDICTION:
            out.append(list(prompting.RISK_LABELS))
        else:
            rng = random.Random(f"{seed}-{text_seed(task)}-{s}-{target}")
            out.append(candidates_for(labels, vocab.get(task, []), rng, limit))
    return out


def render_samples(
    selected: pl.DataFrame, shards: list[Path], vocab: dict[str, list[str]], seed: int, max_candidates: int
) -> pl.DataFrame:
    """The dataset rows of the selected samples (which carry their ``shard``), rendered shard by shard."""
    frames = []
    for shard, path in enumerate(tqdm(shards, desc="rendering samples", unit="shard")):
        part = selected.filter(pl.col("shard") == shard)
        if part.is_empty():
            continue
        timeline = pl.read_parquet(path).join(needed_events(part), on=["subject_id", "event_idx"], how="semi")
        part = _columns(part)
        frames.append(part.with_columns(
            input=pl.Series(_inputs(part, event_texts(timeline)), dtype=pl.String),
            candidates=pl.Series(_candidates(part, vocab, seed, max_candidates), dtype=pl.List(pl.String)),
        ))  # fmt: skip
    if not frames:
        return pl.DataFrame(schema=ROW_SCHEMA)
    return pl.concat(frames).select(list(ROW_SCHEMA)).cast(ROW_SCHEMA).sort("task", "subject_id", "idx")

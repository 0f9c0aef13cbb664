# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Selected index entries → dataset rows (``idx, task, task_type, instruction, input, output, candidates, …``).

One pass over the timeline shards renders every sample's blocks, fits them to the token budget (if any) and, when
asked, the whole-timeline CPT texts. Only the events a sample shows are rendered (all of them with CPT); every field
except ``input`` and ``candidates`` is computed column-wise.
"""

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from tqdm.auto import tqdm

from ehr_r1 import prompting
from ehr_r1.render import BLOCK_JOIN, event_texts, input_blocks, join_blocks
from ehr_r1.sampling import candidates_for, splitmix64, text_seed
from ehr_r1.tasks.catalogue import ALL_TASKS
from ehr_r1.truncation import BlockedInput, Chat, TokenCounter, fit_blocks


_IDX_SEED = 0x5EED1D  # fixed: ids must not depend on the build seed
TASK_INFO = pl.Struct({
    "task": pl.String, "task_type": pl.String, "event": pl.String, "target_key": pl.String, "metric": pl.String,
    "bid_event": pl.List(pl.String), "labels": pl.List(pl.String),
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


def sample_ids(part: pl.DataFrame) -> pl.Series:
    """A sample's id within its task: 16 hex digits of a keyed hash of (subject_id, target event), so that released
    files name no patient. Stable across runs, machines and library versions (``sampling.splitmix64``)."""
    key = part["subject_id"].to_numpy().astype(np.int64) * 1_000_003 + part["target_idx"].to_numpy().astype(np.int64)
    return pl.Series([f"{h:016x}" for h in splitmix64(key, _IDX_SEED)], dtype=pl.String)


def _task_attr(name: str, values: dict, dtype=pl.String) -> pl.Expr:
    return pl.col("task").replace_strict(values, return_dtype=dtype).alias(name)


def _columns(part: pl.DataFrame) -> pl.DataFrame:
    """Every field that depends only on the task spec and the labels."""
    tasks = {t: ALL_TASKS[t] for t in part["task"].unique()}
    info = pl.struct(
        "task", "task_type",
        _task_attr("event", {n: t.table for n, t in tasks.items()}),
        _task_attr("target_key", {n: t.reference_target_key for n, t in tasks.items()}),
        _task_attr("metric", {n: t.metric for n, t in tasks.items()}),
        _task_attr("bid_event", {n: list(t.bid_events) for n, t in tasks.items()}, pl.List(pl.String)),
        "labels",
    )  # fmt: skip
    return part.with_columns(
        idx=pl.concat_str("task", pl.lit("-"), sample_ids(part)),
        task_type=_task_attr("task_type", {n: t.task_type for n, t in tasks.items()}),
        instruction=_task_attr("instruction", {n: t.instruction for n, t in tasks.items()}),
        output=pl.col("labels").list.join("\n"),
    ).with_columns(task_info=info)


@dataclass
class TokenBudget:
    """Fit every sample's longest training chat into ``max_length`` tokens counted by ``counter``."""

    counter: TokenCounter
    max_length: int


def training_chat(input_text: str, instruction: str, output: str) -> Chat:
    """The longest training form of a sample: think switch in the user turn, empty think block before the answer."""
    target = prompting.assistant_target(output, think=False)
    return prompting.build_messages(input_text, instruction, completion=target, think=False)


def _blocks(part: pl.DataFrame, texts: pl.DataFrame) -> list[tuple[list[str], list[str]]]:
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
        out.append(input_blocks(text, tables, begin, end, adm, hist, hide=bid, with_admission=task != "admissions"))
    return out


def _inputs(part: pl.DataFrame, texts: pl.DataFrame, budget: TokenBudget | None) -> tuple[list[str], list[int]]:
    """(input, events dropped) per sample of ``part``."""
    blocks = _blocks(part, texts)
    if budget is None:
        return [join_blocks(h, e) for h, e in blocks], [0] * len(blocks)
    items = [
        BlockedInput(h, e, lambda text, ins=ins, out=out: training_chat(text, ins, out))
        for (h, e), ins, out in zip(blocks, part["instruction"], part["output"], strict=True)
    ]
    fitted = fit_blocks(items, budget.counter, budget.max_length, progress=False)
    return [t for t, _ in fitted], [d for _, d in fitted]


def _cpt(texts: pl.DataFrame) -> pl.DataFrame:
    """One ``text`` per patient: the whole rendered timeline (continued pretraining)."""
    texts = texts.filter(pl.col("text") != "")
    return texts.group_by("subject_id", maintain_order=True).agg(text=pl.col("text").str.join(BLOCK_JOIN))


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
    selected: pl.DataFrame,
    shards: list[Path],
    vocab: dict[str, list[str]],
    seed: int,
    max_candidates: int,
    budget: TokenBudget | None = None,
    cpt: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The dataset rows of the selected samples (which carry their ``shard``), rendered shard by shard, with an
    ``events_dropped`` column; and, with ``cpt``, the whole-timeline texts (``text, subject_id``) of every patient."""
    frames, cpt_parts = [], []
    for shard, path in enumerate(tqdm(shards, desc="rendering samples", unit="shard")):
        part = selected.filter(pl.col("shard") == shard)
        if part.is_empty() and not cpt:
            continue
        timeline = pl.read_parquet(path)
        if not cpt:
            timeline = timeline.join(needed_events(part), on=["subject_id", "event_idx"], how="semi")
        texts = event_texts(timeline)
        if cpt:
            cpt_parts.append(_cpt(texts))
        if part.is_empty():
            continue
        part = _columns(part)
        inputs, dropped = _inputs(part, texts, budget)
        frames.append(part.with_columns(
            input=pl.Series(inputs, dtype=pl.String),
            events_dropped=pl.Series(dropped, dtype=pl.Int32),
            candidates=pl.Series(_candidates(part, vocab, seed, max_candidates), dtype=pl.List(pl.String)),
        ))  # fmt: skip
    cpt_texts = pl.concat(cpt_parts).sort("subject_id").select("text", "subject_id") if cpt_parts else None
    schema = {**ROW_SCHEMA, "events_dropped": pl.Int32}
    if not frames:
        return pl.DataFrame(schema=schema), cpt_texts
    return pl.concat(frames).select(list(schema)).cast(schema).sort("task", "subject_id", "idx"), cpt_texts

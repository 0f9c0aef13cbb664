# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Canonical patient timelines: ordered rows grouped into events (spec §2.3–§2.4), as patient-sharded parquet.

The canonical schema (``TIMELINE_SCHEMA``) is one row per source row, ordered by ``(subject_id, event_idx, row)``:

- ``event_idx`` counts events per patient from 0 (``patients`` is always event 0);
- ``table``, ``start`` (event start: first row's time), ``hadm_id`` and ``stay_id`` are the event's;
- ``time`` is the row's own time, ``aux_time`` a second time used by risk labels (dischtime, outtime, dod);
- ``cells`` holds the rendered values in the table's key order joined by ``CELL_SEP`` (one string per row is far
  cheaper than a list column); ``multi`` holds list labels (radiology exams).

Build: (1) every table is streamed once from CSV into ``rows/<table>/shard=<k>/`` parquet; (2) each shard is
ordered and grouped in memory and written as ``timelines/shard-<k>.parquet``. Memory is bounded by a shard.
"""

import logging
import shutil
from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from ehr_r1.sources.mimic import CELL_SEP, LookupTables, MimicLayout, diagnose, table_rows
from ehr_r1.sources.tables import UNTIMED_RANK


logger = logging.getLogger(__name__)
TIMELINE_SCHEMA = {
    "subject_id": pl.Int64,
    "event_idx": pl.Int32,
    "table": pl.String,
    "start": pl.Datetime("us"),
    "hadm_id": pl.Int64,
    "stay_id": pl.Int64,
    "time": pl.Datetime("us"),
    "aux_time": pl.Datetime("us"),
    "cells": pl.String,
    "multi": pl.List(pl.String),
}
_LAST = 2**62  # position of untimed rows whose admission has no timed row: the end of the trajectory


def default_num_shards(layout: MimicLayout, kept: float = 1.0, rows_per_shard: int = 1_000_000) -> int:
    """About one shard per 1M kept rows, estimated from file sizes (≈25 compressed bytes per row).

    ``kept`` is the share of patients built (a split); memory is bounded by a shard, whatever the input size.
    """
    total = sum(p.stat().st_size for p in layout.files.values())
    per_row = 25 if any(str(p).endswith(".gz") for p in layout.files.values()) else 100
    return max(1, min(4096, round(total * kept / per_row / rows_per_shard)))


def stage_rows(
    layout: MimicLayout, lookups: LookupTables, work: Path, num_shards: int, subjects: pl.DataFrame | None = None
) -> list[str]:
    """Stream every event table into ``work/rows/<table>/shard=<k>/*.parquet``; returns the tables written."""
    written = []
    for spec in tqdm(layout.event_tables, desc="reading MIMIC-IV tables", unit="table"):
        lf = table_rows(layout, spec, lookups, subjects).with_columns(shard=pl.col("subject_id") % num_shards)
        target = work / "rows" / spec.name
        try:
            lf.sink_parquet(pl.PartitionBy(target, key="shard", include_key=False), mkdir=True, compression="lz4")
        except (pl.exceptions.PolarsError, OSError) as err:
            raise diagnose(layout, spec, err) from None
        written.append(spec.name)
    return written


def order_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Order one shard's rows (spec §2.3): patients first, stable time sort, untimed rows after their admission."""
    is_timed = pl.col("time").is_not_null() & (pl.col("table") != "patients")
    timed = rows.filter(is_timed).sort("subject_id", "time", "source_rank", "tie", "table_rank", "row_nr")
    timed = timed.with_columns(pos=pl.int_range(pl.len(), dtype=pl.Int64).over("subject_id"))
    last = (
        timed.filter(pl.col("hadm_id").is_not_null()).group_by("subject_id", "hadm_id").agg(last=pl.col("pos").max())
    )
    untimed = rows.filter(~is_timed).join(last, on=["subject_id", "hadm_id"], how="left")
    untimed = untimed.with_columns(
        pos=pl.when(pl.col("table") == "patients").then(-1).otherwise(pl.col("last").fill_null(_LAST)).cast(pl.Int64)
    ).drop("last")
    rank = pl.col("table").replace_strict(UNTIMED_RANK, default=-1, return_dtype=pl.Int8)
    both = pl.concat([timed.with_columns(untimed_rank=pl.lit(-1, pl.Int8)), untimed.with_columns(untimed_rank=rank)])
    return both.sort("subject_id", "pos", "untimed_rank", "table_rank", "tie", "row_nr")


def group_events(ordered: pl.DataFrame) -> pl.DataFrame:
    """Merge consecutive same-table rows into events (spec §2.4); returns ``TIMELINE_SCHEMA`` rows."""
    new_event = (pl.col("table") != pl.col("table").shift(1).over("subject_id")).fill_null(True)
    frame = ordered.with_columns(event_idx=(new_event.cast(pl.Int32).cum_sum().over("subject_id") - 1))
    first = pl.col("start", "hadm_id", "stay_id").first().over("subject_id", "event_idx")
    return frame.with_columns(first).select(list(TIMELINE_SCHEMA)).cast(TIMELINE_SCHEMA)


def build_shard(work: Path, tables: list[str], shard: int) -> pl.DataFrame:
    files = [f for t in tables for f in sorted((work / "rows" / t / f"shard={shard}").glob("*.parquet"))]
    if not files:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    rows = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
    return group_events(order_rows(rows))


def build_timelines(
    layout: MimicLayout,
    lookups: LookupTables,
    output: Path,
    num_shards: int | None = None,
    work: Path | None = None,
    subjects: pl.DataFrame | None = None,
) -> list[Path]:
    """Write ``output/shard-<k>.parquet`` timelines (of ``subjects`` only, if given); returns the non-empty shards."""
    num_shards = num_shards or default_num_shards(layout)
    work = work or output.parent / f".{output.name}.rows"
    shutil.rmtree(work, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    tables = stage_rows(layout, lookups, work, num_shards, subjects)
    paths = []
    for shard in tqdm(range(num_shards), desc="building timelines", unit="shard"):
        timeline = build_shard(work, tables, shard)
        if timeline.height:
            path = output / f"shard-{shard:05d}.parquet"
            timeline.write_parquet(path, compression="lz4", statistics=False)
            paths.append(path)
        for table in tables:
            shutil.rmtree(work / "rows" / table / f"shard={shard}", ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    logger.debug("wrote %d timeline shards to %s", len(paths), output)
    return paths


def events_of(timeline: pl.DataFrame) -> pl.DataFrame:
    """One row per event: subject_id, event_idx, table, start, end (max row time), hadm_id, stay_id, aux_time, n_rows."""
    return timeline.group_by("subject_id", "event_idx", maintain_order=True).agg(
        pl.col("table", "start", "hadm_id", "stay_id", "aux_time").first(),
        end=pl.col("time").max(),
        n_rows=pl.len(),
    )


def cell(index: int, column: str = "cells") -> pl.Expr:
    """The ``index``-th rendered value of each row (null when the row has fewer)."""
    return pl.col(column).str.splitn(CELL_SEP, index + 2).struct.field(f"field_{index}")

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Patient timelines: contract rows ordered and grouped into events (docs/ehr-text-format.md#ordering-and-grouping), as patient-sharded parquet.

The schema (``ehr_r1.events.TIMELINE_SCHEMA``) is one row per source row, ordered by ``(subject_id, event_idx,
row)``: ``event_idx`` counts events per patient from 0 (demographics are always event 0); ``table``, ``start`` (the
first row's time), ``hadm_id`` and ``stay_id`` are the event's; ``cells`` holds the row's encoded values (one string
per row is far cheaper than a list column); ``multi`` holds list labels (radiology exams).

Build from any ``ehr_r1.events.EventSource``: (1) every event type's rows are streamed once into
``rows/<type>/shard=<k>/`` parquet; (2) each shard is ordered and grouped in memory and written as
``shard-<k>.parquet``. Memory is bounded by a shard. This module never imports a source.
"""

import logging
import shutil
from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from ehr_r1.events import DEMOGRAPHICS, TIMELINE_SCHEMA, UNTIMED_ORDER, EventSource
from ehr_r1.io import disk_error


logger = logging.getLogger(__name__)
_LAST = 2**62  # position of untimed rows whose admission has no timed row: the end of the trajectory


ROWS_PER_SHARD = 1_000_000


def default_num_shards(input_bytes: int, gzip: bool, kept: float = 1.0) -> int:
    """About one shard per ``ROWS_PER_SHARD`` kept rows, estimated from input size (≈25 gzip bytes per row).

    ``kept`` is the share of patients built (a split); memory is bounded by a shard, whatever the input size.
    """
    per_row = 25 if gzip else 100
    return max(1, min(4096, round(input_bytes * kept / per_row / ROWS_PER_SHARD)))


def stage_rows(source: EventSource, work: Path, num_shards: int, subjects: pl.DataFrame | None = None) -> list[str]:
    """Stream every event type's rows into ``work/rows/<type>/shard=<k>/*.parquet``; returns the types written."""
    written = []
    for name in tqdm(source.event_types(), desc="reading source tables", unit="table"):
        lf = source.rows(name, subjects).with_columns(shard=pl.col("subject_id") % num_shards)
        target = work / "rows" / name
        try:
            lf.sink_parquet(pl.PartitionBy(target, key="shard", include_key=False), mkdir=True, compression="lz4")
        except (pl.exceptions.PolarsError, OSError) as err:
            raise disk_error(err, work) or source.explain(name, err) from None
        written.append(name)
    return written


def order_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Order one shard's rows (docs/ehr-text-format.md#ordering-and-grouping): patients first, stable time sort, untimed rows after their admission."""
    is_timed = pl.col("time").is_not_null() & (pl.col("table") != DEMOGRAPHICS)
    timed = rows.filter(is_timed).sort("subject_id", "time", "source_rank", "tie", "table_rank", "row_nr")
    timed = timed.with_columns(pos=pl.int_range(pl.len(), dtype=pl.Int64).over("subject_id"))
    last = (
        timed.filter(pl.col("hadm_id").is_not_null()).group_by("subject_id", "hadm_id").agg(last=pl.col("pos").max())
    )
    untimed = rows.filter(~is_timed).join(last, on=["subject_id", "hadm_id"], how="left")
    untimed = untimed.with_columns(
        pos=pl.when(pl.col("table") == DEMOGRAPHICS).then(-1).otherwise(pl.col("last").fill_null(_LAST)).cast(pl.Int64)
    ).drop("last")
    # after every timed row at the same position: listed untimed tables in their order, then any other untimed row
    rank = pl.col("table").replace_strict(UNTIMED_ORDER, default=len(UNTIMED_ORDER), return_dtype=pl.Int8)
    both = pl.concat([timed.with_columns(untimed_rank=pl.lit(-1, pl.Int8)), untimed.with_columns(untimed_rank=rank)])
    return both.sort("subject_id", "pos", "untimed_rank", "table_rank", "tie", "row_nr")


def group_events(ordered: pl.DataFrame) -> pl.DataFrame:
    """Merge consecutive same-table rows into events (docs/ehr-text-format.md#ordering-and-grouping); returns ``TIMELINE_SCHEMA`` rows."""
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
    source: EventSource,
    output: Path,
    num_shards: int,
    work: Path | None = None,
    subjects: pl.DataFrame | None = None,
) -> list[Path]:
    """Write ``output/shard-<k>.parquet`` timelines (of ``subjects`` only, if given); returns the non-empty shards."""
    work = work or output.parent / f".{output.name}.rows"
    shutil.rmtree(work, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    tables = stage_rows(source, work, num_shards, subjects)
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

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR text: events → Markdown blocks and samples → ``input`` strings, byte-compatible with EHR-Bench (spec §4).

- Event block: ``## <Event Name> [YYYY-MM-DD HH:MM:SS]`` (``[None]`` when untimed), a newline, then ``- Key: value``
  bullets (one row) or a Markdown table with six-dash separators (several rows); keys are ``str.title()``-cased.
- ``hcpcsevents`` and ``drgcodes`` render as empty strings (they still occupy a context slot), ``icustays`` as the
  header line plus a newline.
- ``input`` = demographics, previous discharge note (or ""), current admission (or ""), then the context events minus
  admissions and the task's bid events, joined with blank lines; empty parts are kept (spec §4.3).
"""

from collections.abc import Mapping, Sequence

import polars as pl

from ehr_r1.sources.mimic import CELL_SEP
from ehr_r1.sources.tables import TABLE_BY_NAME
from ehr_r1.timeline import cell


SEPARATOR = "------"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
EMPTY_TABLES = ("hcpcsevents", "drgcodes")


def title_keys(table: str) -> list[str]:
    return [k.title() for k in TABLE_BY_NAME[table].display_keys]


def table_head(table: str) -> str:
    keys = title_keys(table)
    return "| " + " | ".join(keys) + " |\n" + "| " + " | ".join([SEPARATOR] * len(keys)) + " |"


def _bullets(keys: list[str]) -> pl.Expr:
    lines = [pl.lit(f"- {k}: ") + cell(i, "first").fill_null("None") for i, k in enumerate(keys)]
    return pl.concat_str(lines, separator="\n")


def _body(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Body text of every event of one table in ``frame`` (rows of those events, in order)."""
    keys = title_keys(table)
    if not keys:
        return frame.group_by("subject_id", "event_idx", maintain_order=True).agg(body=pl.lit(""))
    row_line = pl.lit("| ") + pl.col("cells").str.replace_all(CELL_SEP, " | ", literal=True) + pl.lit(" |")
    grouped = frame.group_by("subject_id", "event_idx", maintain_order=True).agg(
        n=pl.len(), first=pl.col("cells").first(), lines=row_line.str.join("\n")
    )
    body = pl.when(pl.col("n") == 1).then(_bullets(keys)).otherwise(pl.lit(table_head(table) + "\n") + pl.col("lines"))
    return grouped.select("subject_id", "event_idx", body=body)


def event_texts(timeline: pl.DataFrame) -> pl.DataFrame:
    """(subject_id, event_idx, table, text) for every event of ``timeline`` rows, vectorised per table."""
    bodies = [_body(t, rows) for (t,), rows in sorted(timeline.partition_by("table", as_dict=True).items())]
    heads = timeline.group_by("subject_id", "event_idx", maintain_order=True).agg(pl.col("table", "start").first())
    name = pl.col("table").replace_strict({t: s.event_name for t, s in TABLE_BY_NAME.items()}, return_dtype=pl.String)
    stamp = pl.col("start").dt.strftime(TIME_FORMAT).fill_null("None")
    texts = heads.join(pl.concat(bodies), on=["subject_id", "event_idx"], how="left").with_columns(
        text=pl.when(pl.col("table").is_in(EMPTY_TABLES))
        .then(pl.lit(""))
        .otherwise(pl.lit("## ") + name + pl.lit(" [") + stamp + pl.lit("]\n") + pl.col("body").fill_null(""))
    )
    return texts.select("subject_id", "event_idx", "table", "text").sort("subject_id", "event_idx")


def render_input(
    texts: Sequence[str] | Mapping[int, str],
    tables: Sequence[str] | Mapping[int, str],
    begin: int,
    end: int,
    admissions_id: int | None,
    last_discharge_id: int | None,
    hide: tuple[str, ...] = (),
    with_admission: bool = True,
) -> str:
    """The ``input`` of one sample from one patient's event texts and tables (indexed by ``event_idx``)."""
    parts = [
        texts[0],
        texts[last_discharge_id] if last_discharge_id is not None else "",
        texts[admissions_id] if with_admission and admissions_id is not None else "",
    ]
    hidden = ("admissions", *hide)
    parts += [texts[i] for i in range(begin, end) if tables[i] not in hidden]
    return "\n\n".join(parts)

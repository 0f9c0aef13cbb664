# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR text: events → Markdown blocks, samples → header and event blocks (``docs/ehr-text-format.md``, docs/ehr-text-format.md).

- Event block: ``## <Event Name> [YYYY-MM-DD HH:MM:SS]`` (``[None]`` when untimed), a newline, then ``- Key: value``
  bullets (one row) or a Markdown table with six-dash separators (several rows); keys are ``str.title()``-cased.
- Event types without a display name (``hcpcsevents``, ``drgcodes``) render as empty strings (they still occupy a
  context slot), ``icustays`` as the header line plus a newline.
- A sample's blocks: header = demographics, previous discharge note (or ""), current admission (or ""); events =
  the context events minus admissions and the task's bid events. ``input`` joins them with blank lines; empty parts
  are kept (docs/ehr-text-format.md). The token budget (``ehr_r1.truncation``) drops whole event blocks.
"""

from collections.abc import Mapping, Sequence

import polars as pl

from ehr_r1.events import CELL_SEP, EVENT_TYPE, UNMAPPED, cell, display


SEPARATOR = "------"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BLOCK_JOIN = "\n\n"


def title_keys(table: str) -> list[str]:
    return [k.title() for k in EVENT_TYPE[table].key_names]


def table_head(table: str) -> str:
    keys = title_keys(table)
    return "| " + " | ".join(keys) + " |\n" + "| " + " | ".join([SEPARATOR] * len(keys)) + " |"


def _bullets(keys: list[str]) -> pl.Expr:
    lines = [pl.lit(f"- {k}: ") + cell(i, "first").fill_null(UNMAPPED) for i, k in enumerate(keys)]
    return pl.concat_str(lines, separator="\n")


def _body(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Body text of every event of one type in ``frame`` (rows of those events, in order)."""
    keys = title_keys(table)
    if not keys:
        return frame.group_by("subject_id", "event_idx", maintain_order=True).agg(body=pl.lit(""))
    cells = pl.col("cells").str.replace_all("|", "\\|", literal=True)  # a value's own | cannot split a table cell
    row_line = pl.lit("| ") + cells.str.replace_all(CELL_SEP, " | ", literal=True) + pl.lit(" |")
    grouped = frame.group_by("subject_id", "event_idx", maintain_order=True).agg(
        n=pl.len(), first=pl.col("cells").first(), lines=row_line.str.join("\n")
    )
    body = pl.when(pl.col("n") == 1).then(_bullets(keys)).otherwise(pl.lit(table_head(table) + "\n") + pl.col("lines"))
    return grouped.select("subject_id", "event_idx", body=display(body))


def event_texts(timeline: pl.DataFrame) -> pl.DataFrame:
    """(subject_id, event_idx, table, text) for every event of ``timeline`` rows, vectorised per event type."""
    bodies = [_body(t, rows) for (t,), rows in sorted(timeline.partition_by("table", as_dict=True).items())]
    heads = timeline.group_by("subject_id", "event_idx", maintain_order=True).agg(pl.col("table", "start").first())
    names = {t: e.display_name for t, e in EVENT_TYPE.items()}
    name = pl.col("table").replace_strict(names, return_dtype=pl.String)
    stamp = pl.col("start").dt.strftime(TIME_FORMAT).fill_null("None")
    texts = heads.join(pl.concat(bodies), on=["subject_id", "event_idx"], how="left").with_columns(
        text=pl.when(name == "")
        .then(pl.lit(""))
        .otherwise(pl.lit("## ") + name + pl.lit(" [") + stamp + pl.lit("]\n") + pl.col("body").fill_null(""))
    )
    return texts.select("subject_id", "event_idx", "table", "text").sort("subject_id", "event_idx")


def input_blocks(
    texts: Sequence[str] | Mapping[int, str],
    tables: Sequence[str] | Mapping[int, str],
    begin: int,
    end: int,
    admissions_id: int | None,
    last_discharge_id: int | None,
    hide: tuple[str, ...] = (),
    with_admission: bool = True,
) -> tuple[list[str], list[str]]:
    """(header blocks, event blocks) of one sample from one patient's event texts and types (by ``event_idx``)."""
    header = [
        texts[0],
        texts[last_discharge_id] if last_discharge_id is not None else "",
        texts[admissions_id] if with_admission and admissions_id is not None else "",
    ]
    hidden = ("admissions", *hide)
    return header, [texts[i] for i in range(begin, end) if tables[i] not in hidden]


def join_blocks(header: Sequence[str], events: Sequence[str]) -> str:
    """The ``input`` text of a sample's blocks."""
    return BLOCK_JOIN.join([*header, *events])


def render_input(*args, **kwargs) -> str:
    """The ``input`` of one sample (``input_blocks`` joined)."""
    return join_blocks(*input_blocks(*args, **kwargs))

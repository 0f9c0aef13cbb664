# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Concepts of every event of a sample (``docs/reasoning.md`` §1.1), read back from the rendered ``input``
(``docs/ehr-text-format.md``).

- Structured events yield the values a decision-making task would predict from them (lab item names, diagnoses and
  their CCS group, drugs and their ATC class, …): ``EVENT_CONCEPT_KEYS``, derived from the task catalogue.
- Free text (discharge and radiology notes, ED chief complaints) yields every vocabulary term found in it, all matches,
  by one Aho-Corasick pass (polars ``str.extract_many``) on lower-cased, punctuation-free text with word boundaries.
- Target concepts are the gold labels (``output`` lines).

Concepts are case-folded strings (``key``); the first spelling seen, in sort order, is their display form. Blocks
are parsed once per distinct block text: the same event recurs in many samples of a patient.
"""

import polars as pl

from ehr_r1.events import EVENT_TYPE
from ehr_r1.tasks.catalogue import DECISION_TASKS


def _label_keys() -> dict[str, tuple[str, ...]]:
    """Rendered event name → the rendered (``str.title()``) info keys whose values some decision-making task
    predicts, read off the task catalogue (``multi``: radiology's exam names; ``careunit|eventtype``: both keys)."""
    keys: dict[str, list[str]] = {}
    for task in DECISION_TASKS:
        names = ("exam_name",) if task.target_key == "multi" else task.target_key.split("|")
        shown = keys.setdefault(EVENT_TYPE[task.table].display_name, [])
        shown += [n.title() for n in names if n.title() not in shown]
    return {name: tuple(k) for name, k in keys.items()}


EVENT_CONCEPT_KEYS = _label_keys()
TEXT_EVENTS = tuple(EVENT_TYPE[name].display_name for name in ("discharge", "radiology", "triage"))  # free text
MISSING = ("", "nan", "None", "[]")  # how the EHR text spells a missing / unmapped value or an empty list
MIN_TERM_CHARS = 4
STOP_TERMS = frozenset({"none", "other", "text", "note", "unknown", "unspecified", "left", "right", "with", "without"})
_BLOCK_SEP = "\x1e"
_KEYS = pl.DataFrame(
    [(name, key) for name, keys in EVENT_CONCEPT_KEYS.items() for key in keys],
    schema={"name": pl.String, "key": pl.String},
    orient="row",
)


def concept_key(expr: pl.Expr) -> pl.Expr:
    """Identity of a concept: stripped and case-folded."""
    return expr.str.strip_chars().str.to_lowercase()


def normalize_text(expr: pl.Expr) -> pl.Expr:
    """Lower-case words separated by single spaces, padded with one space each side (word-boundary matching)."""
    words = expr.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars()
    return pl.lit(" ") + words + pl.lit(" ")


def split_blocks(samples: pl.DataFrame) -> pl.DataFrame:
    """One row per event block: ``row, pos, hash, name, time, block`` (``samples`` has ``row`` and ``input``)."""
    blocks = samples.select(
        "row", block=pl.col("input").str.replace_all("\n\n## ", f"{_BLOCK_SEP}## ", literal=True).str.split(_BLOCK_SEP)
    )
    blocks = blocks.with_columns(pos=pl.int_ranges(pl.col("block").list.len(), dtype=pl.UInt32)).explode(
        "block", "pos"
    )
    blocks = blocks.with_columns(block=pl.col("block").str.strip_chars("\n")).filter(
        pl.col("block").str.starts_with("## ")
    )
    head = pl.col("block").str.extract_groups(r"^## ([^\n]+?) \[([^\]\n]*)\]")
    return blocks.select(
        "row",
        "pos",
        hash=pl.col("block").hash(0),
        name=head.struct.field("1"),
        time=head.struct.field("2"),
        block="block",
    )


def _explode_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Clean raw cell values; list reprs (``['A', 'B']``, radiology exam names) become one row per item."""
    value = pl.col("value").str.strip_chars()
    listed = value.str.starts_with("['") & value.str.ends_with("']")
    items = (
        pl.when(listed)
        .then(value.str.strip_prefix("['").str.strip_suffix("']").str.split("', '"))
        .otherwise(pl.concat_list(value))
    )
    out = frame.with_columns(value=items).explode("value").with_columns(value=pl.col("value").str.strip_chars())
    return out.filter(~pl.col("value").is_in(MISSING) & pl.col("value").is_not_null())


def structured_concepts(blocks: pl.DataFrame) -> pl.DataFrame:
    """``hash, value`` for the concept keys of structured blocks (bullets or Markdown table)."""
    blocks = blocks.join(_KEYS.select(pl.col("name").unique()), on="name", how="semi")
    body = pl.col("block").str.splitn("\n", 2).struct.field("field_1").fill_null("")
    blocks = blocks.select("hash", "name", body=body)
    is_table = pl.col("body").str.starts_with("| ")

    bullets = blocks.filter(~is_table).select("hash", "name", line=pl.col("body").str.split("\n")).explode("line")
    kv = pl.col("line").str.extract_groups(r"^- ([^:\n]+?): (.*)$")
    bullets = bullets.select("hash", "name", key=kv.struct.field("1"), value=kv.struct.field("2"))
    bullets = bullets.join(_KEYS, on=["name", "key"], how="inner").select("hash", "value")

    tables = blocks.filter(is_table).with_columns(lines=pl.col("body").str.split("\n"))
    header = tables.select(
        "hash", "name", key=pl.col("lines").list.first().str.strip_chars("| ").str.split(" | ")
    ).with_columns(col=pl.int_ranges(pl.col("key").list.len(), dtype=pl.UInt32))
    wanted = header.explode("key", "col").join(_KEYS, on=["name", "key"], how="inner").select("hash", "col")
    rows = tables.select("hash", line=pl.col("lines").list.slice(2)).explode("line")
    rows = rows.filter(pl.col("line").str.starts_with("| ") & pl.col("line").str.ends_with(" |"))
    rows = rows.select("hash", cells=pl.col("line").str.slice(2, pl.col("line").str.len_chars() - 4).str.split(" | "))
    table_values = rows.join(wanted, on="hash", how="inner").select(
        "hash", value=pl.col("cells").list.get(pl.col("col"), null_on_oob=True)
    )
    return _explode_values(pl.concat([bullets, table_values]))


def text_vocabulary(terms: pl.Series | list[str]) -> pl.DataFrame:
    """Matcher vocabulary: ``pattern`` (normalised, space-padded) → ``value`` (one spelling per pattern)."""
    frame = pl.DataFrame({"value": pl.Series(terms, dtype=pl.String)}).drop_nulls()
    frame = frame.with_columns(pattern=normalize_text(pl.col("value")))
    core = pl.col("pattern").str.strip_chars()
    frame = frame.filter(
        (core.str.len_chars() >= MIN_TERM_CHARS) & ~core.is_in(list(STOP_TERMS)) & ~core.str.contains(r"^[0-9 ]+$")
    )
    return frame.sort("pattern", "value").unique("pattern", keep="first", maintain_order=True)


def text_concepts(blocks: pl.DataFrame, vocabulary: pl.DataFrame | None) -> pl.DataFrame:
    """``hash, value`` for every vocabulary term in free-text blocks: all matches, overlapping ones included."""
    empty = pl.DataFrame(schema={"hash": pl.UInt64, "value": pl.String})
    if vocabulary is None or vocabulary.is_empty():
        return empty
    texts = blocks.filter(pl.col("name").is_in(TEXT_EVENTS))
    if texts.is_empty():
        return empty
    body = pl.col("block").str.splitn("\n", 2).struct.field("field_1").fill_null("")
    body = body.str.replace_all(r"(?m)^- [A-Za-z_ ]+: ", " ")  # drop the "- Key: " bullet prefixes
    patterns = vocabulary["pattern"].to_list()
    found = texts.select(
        "hash", pattern=normalize_text(body).str.extract_many(patterns, overlapping=True, ascii_case_insensitive=False)
    )
    found = found.explode("pattern").drop_nulls("pattern").unique()
    return found.join(vocabulary, on="pattern", how="inner").select("hash", "value")


def block_concepts(blocks: pl.DataFrame, vocabulary: pl.DataFrame | None = None) -> pl.DataFrame:
    """``hash, concept, value`` for distinct blocks: structured values plus free-text terms."""
    distinct = blocks.unique("hash").select("hash", "name", "block")
    values = pl.concat([structured_concepts(distinct), text_concepts(distinct, vocabulary)])
    return values.select("hash", concept=concept_key(pl.col("value")), value="value").unique(
        ["hash", "concept", "value"]
    )


def target_concepts(samples: pl.DataFrame) -> pl.DataFrame:
    """``row, concept, value`` of the gold labels (``output`` lines; ``samples`` has ``row`` and ``output``)."""
    items = samples.select("row", value=pl.col("output").str.split("\n")).explode("value")
    items = items.with_columns(value=pl.col("value").str.strip_chars()).filter(pl.col("value") != "")
    return items.select("row", concept=concept_key(pl.col("value")), value="value").unique(["row", "concept"])


def history_concepts(blocks: pl.DataFrame, concepts: pl.DataFrame) -> pl.DataFrame:
    """``row, concept`` (distinct) for every sample: the concepts of all its context blocks."""
    return blocks.select("row", "hash").join(concepts.select("hash", "concept"), on="hash").unique(["row", "concept"])


def display_names(*frames: pl.DataFrame) -> pl.DataFrame:
    """``concept → name``: the first spelling in sort order, so names are stable across runs."""
    both = pl.concat([f.select("concept", "value") for f in frames])
    return both.group_by("concept").agg(name=pl.col("value").min())

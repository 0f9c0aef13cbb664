# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The event contract: event types, their info keys and display, the cell encoding and the timeline schema.

It belongs to no reader. Sources (``ehr_r1.sources``) map their rows into it; timelines, tasks and render read it
and never import a source. See ``docs/ehr-text-format.md`` for the rendered text.

- An **event type** (``EventType``) has an id (``labevents``), the header text of its rendered block, and its info
  keys in display order; each key has a kind that fixes how its values print (``InfoKey``).
- A staged **row** (``ROW_SCHEMA``) is one source row: ids, ordering fields, times and ``cells``, the row's values in
  key order, encoded by ``encode_cells``: values joined by ``CELL_SEP``, a missing value stored as ``MISSING`` and an
  unresolved code as ``UNMAPPED``. Labels test these markers (typed), never display spellings.
- A **timeline** (``TIMELINE_SCHEMA``) is rows ordered and grouped into events per patient (``ehr_r1.timeline``).
- ``aux_time`` is a second time some event types carry: ``patients`` the date of death, ``admissions`` the
  discharge time, ``edstays`` and ``icustays`` the out time.
"""

from dataclasses import dataclass
from typing import Protocol

import polars as pl


CELL_SEP = "\x1f"  # joins the values of one row (ASCII unit separator)
MISSING = (
    "\x1e"  # a value the source does not have; prints ``nan`` (the reference's pandas NaN, docs/ehr-text-format.md)
)
UNMAPPED = "\x1d"  # a code the dictionaries cannot name; prints ``None`` (the reference's failed lookup)
_CONTROL_CHARS = "[\x1d\x1e\x1f]"  # the three markers, replaced by a space inside source values
# Patient text may not speak as the chat: chat-template tokens (``<|im_end|>``, every ``<|...|>`` added token,
# ``<think>``, ``</think>``, ``<tool_call>``, ...) get a backslash after their ``<`` and tokenise as plain text;
# a line starting ``## `` inside a value gets one too, so it cannot pass for an event header.
_CHAT_MARKUP = r"<(\|[^<>\s]*\||/?(?:think|tool_call|tool_response)>)"
_HEADER_LINE = r"(?m)^## "
TEXT, FLOAT, CODE = "text", "float", "code"


@dataclass(frozen=True)
class InfoKey:
    """One rendered key of an event type.

    Args:
        name (`str`): the key before ``str.title()`` (``ref_range_lower`` renders ``Ref_Range_Lower``).
        kind (`str`): ``text`` (printed as given), ``float`` (printed as a float column, ``1`` → ``1.0``) or
            ``code`` (a name looked up from a code, or a key the reference reads with ``dict.get``: missing means
            unresolved or absent and prints ``None``, e.g. ``- Admission_Info: None``).
    """

    name: str
    kind: str = TEXT


@dataclass(frozen=True)
class EventType:
    """An event type of the contract.

    Args:
        name (`str`): event type id (the reference's ``file_name``), e.g. ``labevents``.
        display_name (`str`): the ``## <display name> [time]`` header text; empty for types that render nothing.
        keys (`tuple[InfoKey, ...]`): info keys in display order.
    """

    name: str
    display_name: str
    keys: tuple[InfoKey, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    @property
    def rendered(self) -> bool:
        return bool(self.display_name)

    def position(self, key: str) -> int:
        """Index of ``key`` in the cells of this type's rows."""
        return self.key_names.index(key)


def _keys(*names: str, kind: str = TEXT) -> tuple[InfoKey, ...]:
    return tuple(InfoKey(n, kind) for n in names)


_ITEM = InfoKey("item_name", CODE)
_CCS = InfoKey("CCS Type", CODE)
_ATC = InfoKey("ATC Type", CODE)
_ED_VITALS = _keys("temperature", "heartrate", "resprate", "o2sat", "sbp", "dbp", kind=FLOAT)
_INFUSION = (_ITEM, InfoKey("amount", FLOAT), InfoKey("amountuom"), InfoKey("rate", FLOAT), InfoKey("rateuom"))

# In rank order: same-time ties that nothing else orders keep this order (the reference's directory listing order).
EVENT_TYPES: tuple[EventType, ...] = (
    EventType("admissions", "Admissions", (*_keys("admission_type", "admission_location"), InfoKey("admission_info", CODE))),
    EventType("diagnoses_icd", "Diagnoses on International Classification of Diseases", (InfoKey("diagnoses", CODE), _CCS)),
    EventType("drgcodes", ""),
    EventType("emar", "Electronic Medicine Administration Record", _keys("medication", "event_txt")),
    EventType("hcpcsevents", ""),
    EventType(
        "labevents",
        "Labotary Test Events",
        (
            _ITEM,
            InfoKey("valuenum", FLOAT),
            InfoKey("valueuom"),
            *_keys("ref_range_lower", "ref_range_upper", kind=FLOAT),
            *_keys("flag", "comments"),
        ),
    ),
    EventType(
        "microbiologyevents",
        "Microbiology Test Events",
        _keys("test_name", "dilution_text", "interpretation", "comments", "ab_name"),
    ),
    EventType("omr", "Online Medical Record", _keys("result_name", "result_value")),
    EventType("patients", "Patient Demographics", _keys("anchor_age", "gender")),
    EventType("pharmacy", "Pharmacy", _keys("medication", "proc_type", "status")),
    EventType("poe", "Provider Order Entry", _keys("order_type", "order_subtype")),
    EventType("prescriptions", "Prescriptions", (InfoKey("drug"), _ATC, *_keys("prod_strength", "dose_val_rx", "dose_unit_rx"))),
    EventType("procedures_icd", "Procedures on International Classification of Diseases", (InfoKey("procedures", CODE), _CCS)),
    EventType("services", "Services", _keys("curr_service")),
    EventType("transfers", "Transfers", _keys("eventtype", "careunit")),
    EventType("discharge", "Discharge", _keys("note_type", "text")),
    EventType("radiology", "Radiology Examinations", _keys("note_type", "exam_name", "text")),
    EventType("edstays", "EDstays", _keys("gender", "race")),
    EventType("triage", "Triage", (*_ED_VITALS, InfoKey("pain"), InfoKey("acuity", FLOAT), InfoKey("chiefcomplaint"))),
    EventType("medrecon", "Medrecon", (InfoKey("name"), _ATC)),
    EventType("pyxis", "Pyxis", _keys("name")),
    EventType("vitalsign", "Vitalsign", (*_ED_VITALS, *_keys("pain", "rhythm"))),
    EventType("diagnosis", "ED Diagnoses on International Classification of Diseases", (InfoKey("icd_title"), _CCS)),
    EventType("icustays", "ICUstays"),
    EventType("chartevents", "Chart Events", (_ITEM, InfoKey("valuenum", FLOAT), InfoKey("valueuom"), InfoKey("warning", FLOAT))),
    EventType("datetimeevents", "Datetime Events", (_ITEM,)),
    EventType("ingredientevents", "Ingredient Events", _INFUSION),
    EventType("inputevents", "Input Events", _INFUSION),
    EventType("outputevents", "Output Events", (_ITEM, InfoKey("value", FLOAT), InfoKey("valueuom"))),
    EventType(
        "procedureevents",
        "Procedure Events",
        (_ITEM, InfoKey("value", FLOAT), *_keys("valueuom", "location", "locationcategory")),
    ),
)  # fmt: skip
EVENT_TYPE: dict[str, EventType] = {e.name: e for e in EVENT_TYPES}
EVENT_RANK: dict[str, int] = {e.name: i for i, e in enumerate(EVENT_TYPES)}
DEMOGRAPHICS = "patients"  # always event 0 of a timeline
UNTIMED_ORDER = {"diagnoses_icd": 0, "drgcodes": 1, "hcpcsevents": 2}  # untimed rows after their admission, in order

# One staged source row. ``source_rank``, ``tie`` and ``row_nr`` are the source's own ordering (docs/ehr-text-format.md#ordering-and-grouping): the
# timeline sorts by (time, source_rank, tie, event rank, row_nr).
ROW_SCHEMA = {
    "subject_id": pl.Int64,
    "hadm_id": pl.Int64,
    "stay_id": pl.Int64,
    "table": pl.String,
    "source_rank": pl.Int8,
    "table_rank": pl.Int16,
    "tie": pl.Int64,
    "row_nr": pl.Int64,
    "time": pl.Datetime("us"),
    "start": pl.Datetime("us"),
    "aux_time": pl.Datetime("us"),
    "cells": pl.String,
    "multi": pl.List(pl.String),
}
# The timeline: one row per source row ordered by (subject_id, event_idx, row). ``event_idx`` counts events per
# patient from 0; ``table``, ``start``, ``hadm_id`` and ``stay_id`` are the event's; ``time`` is the row's own.
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


def format_value(expr: pl.Expr, kind: str) -> pl.Expr:
    """One cell of ``kind`` from a source value: floats printed as a float column; in text, the contract's control
    characters replaced, chat markup and header lines escaped; nulls as ``MISSING`` (or ``UNMAPPED`` for codes)."""
    if kind == FLOAT:
        return expr.cast(pl.Float64).cast(pl.String).fill_null(MISSING)
    text = expr.cast(pl.String).str.replace_all(_CONTROL_CHARS, " ")
    text = text.str.replace_all(_CHAT_MARKUP, r"<\$1").str.replace_all(_HEADER_LINE, r"\## ")
    return text.fill_null(UNMAPPED if kind == CODE else MISSING)


def encode_cells(event_type: str, values: dict[str, pl.Expr]) -> pl.Expr:
    """The ``cells`` of rows of ``event_type`` from one expression per info key (every key must be given)."""
    keys = EVENT_TYPE[event_type].keys
    missing = [k.name for k in keys if k.name not in values]
    if missing:
        raise KeyError(f"{event_type}: no value for info key(s) {missing}")
    if not keys:
        return pl.lit("")
    return pl.concat_str([format_value(values[k.name], k.kind) for k in keys], separator=CELL_SEP)


def cell(index: int, column: str = "cells") -> pl.Expr:
    """The ``index``-th encoded cell of each row, markers included (null when the row has fewer)."""
    return pl.col(column).str.splitn(CELL_SEP, index + 2).struct.field(f"field_{index}")


def value(index: int, column: str = "cells") -> pl.Expr:
    """The ``index``-th value of each row; null when missing or unmapped (for labels and statistics)."""
    raw = cell(index, column)
    return pl.when(raw.is_in([MISSING, UNMAPPED])).then(None).otherwise(raw)


def display(text: pl.Expr) -> pl.Expr:
    """Text with the markers spelled as the reference prints them (``nan`` / ``None``)."""
    return text.str.replace_all(MISSING, "nan", literal=True).str.replace_all(UNMAPPED, "None", literal=True)


class EventSource(Protocol):
    """What a source reader offers the timeline builder."""

    def event_types(self) -> list[str]:
        """The event types this source has rows for."""

    def rows(self, event_type: str, subjects: pl.DataFrame | None) -> pl.LazyFrame:
        """Rows (``ROW_SCHEMA``) of one event type, of ``subjects`` only if given."""

    def explain(self, event_type: str, err: Exception) -> Exception:
        """A one-line user error for a failure while reading ``event_type``'s rows."""

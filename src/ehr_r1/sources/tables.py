# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Declarative registry of the MIMIC-IV tables that become events of the contract (``ehr_r1.events``).

One ``TableSpec`` per source table says which module it lives in, which column orders it in time and from which
column each info key of its event type takes its value (the keys, their order and their printing belong to the
contract). Keys whose column is produced by a dictionary or mapping join (``item_name``, ``procedures``,
``CCS Type``, …) name that join in ``lookups``; ``ehr_r1.sources.mimic`` performs it.
"""

from dataclasses import dataclass, field

from ehr_r1.events import EVENT_RANK, EVENT_TYPE


MODULES = (
    "hosp",
    "note",
    "ed",
    "icu",
)  # concatenation order before the global time sort (docs/ehr-text-format.md#ordering-and-grouping)


@dataclass(frozen=True)
class TableSpec:
    """How one MIMIC-IV table becomes timeline rows.

    Args:
        name (`str`): file stem and event type id (``file_name`` in the reference), e.g. ``labevents``.
        module (`str`): ``hosp``, ``icu``, ``ed`` or ``note``.
        keys (`tuple[tuple[str, str | None], ...]`): (info key, source column) pairs in the event type's key order;
            a ``None`` column is a key MIMIC-IV has no column for (always missing).
        time (`str | None`): column that orders the row; ``None`` for untimed tables (placed after their admission).
        stamp (`str | None`): column that stamps the event time when it differs from ``time`` (hcpcsevents).
        aux_time (`str | None`): a second time used by risk labels (dischtime, outtime, dod).
        date_columns (`tuple[str, ...]`): columns holding dates (read as 00:00:00).
        lookups (`tuple[str, ...]`): joins that create derived columns (see ``ehr_r1.sources.mimic``).
        extra (`tuple[str, ...]`): columns kept beside the rendered values (labels, risk definitions).
        time_offset_s (`int`): seconds added to ``time`` (ED triage = intime + 1 s, docs/ehr-text-format.md#ordering-and-grouping).
    """

    name: str
    module: str
    keys: tuple[tuple[str, str], ...]
    time: str | None
    stamp: str | None = None
    aux_time: str | None = None
    date_columns: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    time_offset_s: int = 0
    stay_key: bool = False
    required: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if tuple(k for k, _ in self.keys) != EVENT_TYPE[self.name].key_names:
            raise ValueError(f"{self.name}: keys differ from the event contract's {EVENT_TYPE[self.name].key_names}")

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """Columns read from the CSV (ids, times and the sources of rendered keys that are not derived)."""
        derived = set(DERIVED_COLUMNS)
        cols = ["subject_id"]
        if self.name not in NO_HADM:
            cols.append("hadm_id")
        if self.stay_key:
            cols.append("stay_id")
        for c in (self.time, self.stamp, self.aux_time, *self.extra):
            if c and c not in cols and c not in derived:
                cols.append(c)
        for _, c in self.keys:
            if c and c not in cols and c not in derived:
                cols.append(c)
        for c in LOOKUP_INPUTS.get(self.name, ()):
            if c not in cols:
                cols.append(c)
        return tuple(cols)


# Columns created by lookups rather than read.
DERIVED_COLUMNS = ("item_name", "procedures", "diagnoses", "ccs", "atc", "exam_name", "exam_names", "hadm_id")
NO_HADM = {"patients", "omr", "triage", "vitalsign", "medrecon", "pyxis", "diagnosis"}
LOOKUP_INPUTS = {
    "labevents": ("itemid",),
    "chartevents": ("itemid",),
    "ingredientevents": ("itemid",),
    "inputevents": ("itemid",),
    "datetimeevents": ("itemid",),
    "procedureevents": ("itemid",),
    "outputevents": ("itemid",),
    "procedures_icd": ("icd_code", "icd_version"),
    "diagnoses_icd": ("icd_code", "icd_version"),
    "diagnosis": ("icd_code", "icd_version"),
    "prescriptions": ("ndc",),
    "medrecon": ("ndc",),
    "radiology": ("note_id",),
}
_ITEM = ("item_name", "item_name")
_ICU_INFUSION = (_ITEM, ("amount", "amount"), ("amountuom", "amountuom"), ("rate", "rate"), ("rateuom", "rateuom"))
_ED_VITALS = ("temperature", "heartrate", "resprate", "o2sat", "sbp", "dbp")


def _k(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, n) for n in names)


TABLES: tuple[TableSpec, ...] = (
    # ---- hosp (alphabetical, the order a directory listing gives; ties in time keep this order)
    TableSpec(
        "admissions",
        "hosp",
        (*_k("admission_type", "admission_location"), ("admission_info", None)),  # never created by the reference
        "admittime",
        aux_time="dischtime",
    ),
    TableSpec(
        "diagnoses_icd",
        "hosp",
        (("diagnoses", "diagnoses"), ("CCS Type", "ccs")),
        None,
        lookups=("icd_diagnoses", "ccs_diagnoses"),
        extra=("seq_num",),
    ),
    TableSpec("drgcodes", "hosp", (), None),
    TableSpec("emar", "hosp", _k("medication", "event_txt"), "charttime"),
    TableSpec("hcpcsevents", "hosp", (), None, stamp="chartdate", date_columns=("chartdate",)),
    TableSpec(
        "labevents",
        "hosp",
        (_ITEM, *_k("valuenum", "valueuom", "ref_range_lower", "ref_range_upper", "flag", "comments")),
        "charttime",
        lookups=("d_labitems",),
    ),
    TableSpec(
        "microbiologyevents",
        "hosp",
        _k("test_name", "dilution_text", "interpretation", "comments", "ab_name"),
        "charttime",
    ),
    TableSpec("omr", "hosp", _k("result_name", "result_value"), "chartdate", date_columns=("chartdate",)),
    TableSpec("patients", "hosp", _k("anchor_age", "gender"), None, aux_time="dod", date_columns=("dod",)),
    TableSpec("pharmacy", "hosp", _k("medication", "proc_type", "status"), "entertime"),
    TableSpec("poe", "hosp", _k("order_type", "order_subtype"), "ordertime"),
    TableSpec(
        "prescriptions",
        "hosp",
        (("drug", "drug"), ("ATC Type", "atc"), *_k("prod_strength", "dose_val_rx", "dose_unit_rx")),
        "starttime",
        lookups=("atc",),
    ),
    TableSpec(
        "procedures_icd",
        "hosp",
        (("procedures", "procedures"), ("CCS Type", "ccs")),
        "chartdate",
        date_columns=("chartdate",),
        lookups=("icd_procedures", "ccs_procedures"),
    ),
    TableSpec("services", "hosp", _k("curr_service"), "transfertime"),
    TableSpec("transfers", "hosp", _k("eventtype", "careunit"), "intime"),
    # ---- note
    TableSpec("discharge", "note", _k("note_type", "text"), "charttime", extra=("note_seq",)),
    TableSpec(
        "radiology",
        "note",
        (("note_type", "note_type"), ("exam_name", "exam_name"), ("text", "text")),
        "charttime",
        lookups=("radiology_detail",),
        extra=("note_seq", "exam_names"),
    ),
    # ---- ed (rank order edstays < triage < medrecon < pyxis < vitalsign < diagnosis)
    TableSpec("edstays", "ed", _k("gender", "race"), "intime", aux_time="outtime", stay_key=True),
    TableSpec(
        "triage", "ed", _k(*_ED_VITALS, "pain", "acuity", "chiefcomplaint"), "intime", time_offset_s=1, stay_key=True
    ),
    TableSpec("medrecon", "ed", (("name", "name"), ("ATC Type", "atc")), "charttime", lookups=("atc",), stay_key=True),
    TableSpec("pyxis", "ed", _k("name"), "charttime", stay_key=True),
    TableSpec("vitalsign", "ed", _k(*_ED_VITALS, "pain", "rhythm"), "charttime", stay_key=True),
    TableSpec(
        "diagnosis",
        "ed",
        (("icd_title", "icd_title"), ("CCS Type", "ccs")),
        "outtime",
        lookups=("ccs_diagnoses",),
        stay_key=True,
    ),
    # ---- icu (icustays first within a stay)
    TableSpec("icustays", "icu", (), "intime", aux_time="outtime", stay_key=True),
    TableSpec(
        "chartevents",
        "icu",
        (_ITEM, *_k("valuenum", "valueuom", "warning")),
        "charttime",
        lookups=("d_items",),
        stay_key=True,
    ),
    TableSpec("datetimeevents", "icu", (_ITEM,), "charttime", lookups=("d_items",), stay_key=True),
    TableSpec("ingredientevents", "icu", _ICU_INFUSION, "starttime", lookups=("d_items",), stay_key=True),
    TableSpec("inputevents", "icu", _ICU_INFUSION, "starttime", lookups=("d_items",), stay_key=True),
    TableSpec(
        "outputevents", "icu", (_ITEM, *_k("value", "valueuom")), "charttime", lookups=("d_items",), stay_key=True
    ),
    TableSpec(
        "procedureevents",
        "icu",
        (_ITEM, *_k("value", "valueuom", "location", "locationcategory")),
        "starttime",
        lookups=("d_items",),
        stay_key=True,
    ),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}
TABLE_RANK = EVENT_RANK  # tie-break rank: the contract's event type order (ED and ICU ranks follow it)
SOURCE_RANK = {m: i for i, m in enumerate(MODULES)}
DICTIONARIES = {  # lookup -> (module, file stem)
    "d_labitems": ("hosp", "d_labitems"),
    "d_items": ("icu", "d_items"),
    "icd_diagnoses": ("hosp", "d_icd_diagnoses"),
    "icd_procedures": ("hosp", "d_icd_procedures"),
    "radiology_detail": ("note", "radiology_detail"),
}

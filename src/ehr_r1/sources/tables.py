# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Declarative registry of the MIMIC-IV tables that become timeline events (spec §2.3, §4.2).

One ``TableSpec`` per source table says which module it lives in, which column orders it in time, which keys are
rendered (in display order, before ``str.title()``) and from which column each key's value comes. Keys whose column
is produced by a dictionary or mapping join (``item_name``, ``procedures``, ``CCS Type``, …) name that join in
``lookups``; ``ehr_r1.sources.mimic`` performs it.
"""

from dataclasses import dataclass, field


MODULES = ("hosp", "note", "ed", "icu")  # concatenation order before the global time sort (spec §2.3)


@dataclass(frozen=True)
class TableSpec:
    """How one MIMIC-IV table becomes timeline rows.

    Args:
        name (`str`): file stem and event type id (``file_name`` in the reference), e.g. ``labevents``.
        module (`str`): ``hosp``, ``icu``, ``ed`` or ``note``.
        event_name (`str`): the ``## <Event Name>`` header text.
        keys (`tuple[tuple[str, str], ...]`): rendered (key, source column) pairs in display order.
        time (`str | None`): column that orders the row; ``None`` for untimed tables (placed after their admission).
        stamp (`str | None`): column that stamps the event time when it differs from ``time`` (hcpcsevents).
        aux_time (`str | None`): a second time used by risk labels (dischtime, outtime, dod).
        date_columns (`tuple[str, ...]`): columns holding dates (read as 00:00:00).
        float_columns (`tuple[str, ...]`): numeric columns printed the way pandas prints a float column.
        lookups (`tuple[str, ...]`): joins that create derived columns (see ``ehr_r1.sources.mimic``).
        extra (`tuple[str, ...]`): columns kept beside the rendered values (labels, risk definitions).
        time_offset_s (`int`): seconds added to ``time`` (ED triage = intime + 1 s, spec §2.3).
    """

    name: str
    module: str
    event_name: str
    keys: tuple[tuple[str, str], ...]
    time: str | None
    stamp: str | None = None
    aux_time: str | None = None
    date_columns: tuple[str, ...] = ()
    float_columns: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    time_offset_s: int = 0
    stay_key: bool = False
    required: tuple[str, ...] = field(default=())

    @property
    def display_keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.keys)

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
            if c not in cols and c not in derived:
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
        "Admissions",
        _k("admission_type", "admission_location"),
        "admittime",
        aux_time="dischtime",
    ),
    TableSpec(
        "diagnoses_icd",
        "hosp",
        "Diagnoses on International Classification of Diseases",
        (("diagnoses", "diagnoses"), ("CCS Type", "ccs")),
        None,
        lookups=("icd_diagnoses", "ccs_diagnoses"),
        extra=("seq_num",),
    ),
    TableSpec("drgcodes", "hosp", "", (), None),
    TableSpec("emar", "hosp", "Electronic Medicine Administration Record", _k("medication", "event_txt"), "charttime"),
    TableSpec("hcpcsevents", "hosp", "", (), None, stamp="chartdate", date_columns=("chartdate",)),
    TableSpec(
        "labevents",
        "hosp",
        "Labotary Test Events",
        (_ITEM, *_k("valuenum", "valueuom", "ref_range_lower", "ref_range_upper", "flag", "comments")),
        "charttime",
        float_columns=("valuenum", "ref_range_lower", "ref_range_upper"),
        lookups=("d_labitems",),
    ),
    TableSpec(
        "microbiologyevents",
        "hosp",
        "Microbiology Test Events",
        _k("test_name", "dilution_text", "interpretation", "comments", "ab_name"),
        "charttime",
    ),
    TableSpec(
        "omr",
        "hosp",
        "Online Medical Record",
        _k("result_name", "result_value"),
        "chartdate",
        date_columns=("chartdate",),
    ),
    TableSpec(
        "patients",
        "hosp",
        "Patient Demographics",
        _k("anchor_age", "gender"),
        None,
        aux_time="dod",
        date_columns=("dod",),
    ),
    TableSpec("pharmacy", "hosp", "Pharmacy", _k("medication", "proc_type", "status"), "entertime"),
    TableSpec("poe", "hosp", "Provider Order Entry", _k("order_type", "order_subtype"), "ordertime"),
    TableSpec(
        "prescriptions",
        "hosp",
        "Prescriptions",
        (("drug", "drug"), ("ATC Type", "atc"), *_k("prod_strength", "dose_val_rx", "dose_unit_rx")),
        "starttime",
        lookups=("atc",),
    ),
    TableSpec(
        "procedures_icd",
        "hosp",
        "Procedures on International Classification of Diseases",
        (("procedures", "procedures"), ("CCS Type", "ccs")),
        "chartdate",
        date_columns=("chartdate",),
        lookups=("icd_procedures", "ccs_procedures"),
    ),
    TableSpec("services", "hosp", "Services", _k("curr_service"), "transfertime"),
    TableSpec("transfers", "hosp", "Transfers", _k("eventtype", "careunit"), "intime"),
    # ---- note
    TableSpec("discharge", "note", "Discharge", _k("note_type", "text"), "charttime", extra=("note_seq",)),
    TableSpec(
        "radiology",
        "note",
        "Radiology Examinations",
        (("note_type", "note_type"), ("exam_name", "exam_name"), ("text", "text")),
        "charttime",
        lookups=("radiology_detail",),
        extra=("note_seq", "exam_names"),
    ),
    # ---- ed (rank order edstays < triage < medrecon < pyxis < vitalsign < diagnosis)
    TableSpec("edstays", "ed", "EDstays", _k("gender", "race"), "intime", aux_time="outtime", stay_key=True),
    TableSpec(
        "triage",
        "ed",
        "Triage",
        _k(*_ED_VITALS, "pain", "acuity", "chiefcomplaint"),
        "intime",
        float_columns=(*_ED_VITALS, "acuity"),
        time_offset_s=1,
        stay_key=True,
    ),
    TableSpec(
        "medrecon",
        "ed",
        "Medrecon",
        (("name", "name"), ("ATC Type", "atc")),
        "charttime",
        lookups=("atc",),
        stay_key=True,
    ),
    TableSpec("pyxis", "ed", "Pyxis", _k("name"), "charttime", stay_key=True),
    TableSpec(
        "vitalsign",
        "ed",
        "Vitalsign",
        _k(*_ED_VITALS, "pain", "rhythm"),
        "charttime",
        float_columns=_ED_VITALS,
        stay_key=True,
    ),
    TableSpec(
        "diagnosis",
        "ed",
        "ED Diagnoses on International Classification of Diseases",
        (("icd_title", "icd_title"), ("CCS Type", "ccs")),
        "outtime",
        lookups=("ccs_diagnoses",),
        stay_key=True,
    ),
    # ---- icu (icustays first within a stay)
    TableSpec("icustays", "icu", "ICUstays", (), "intime", aux_time="outtime", stay_key=True),
    TableSpec(
        "chartevents",
        "icu",
        "Chart Events",
        (_ITEM, *_k("valuenum", "valueuom", "warning")),
        "charttime",
        float_columns=("valuenum", "warning"),
        lookups=("d_items",),
        stay_key=True,
    ),
    TableSpec("datetimeevents", "icu", "Datetime Events", (_ITEM,), "charttime", lookups=("d_items",), stay_key=True),
    TableSpec(
        "ingredientevents",
        "icu",
        "Ingredient Events",
        _ICU_INFUSION,
        "starttime",
        float_columns=("amount", "rate"),
        lookups=("d_items",),
        stay_key=True,
    ),
    TableSpec(
        "inputevents",
        "icu",
        "Input Events",
        _ICU_INFUSION,
        "starttime",
        float_columns=("amount", "rate"),
        lookups=("d_items",),
        stay_key=True,
    ),
    TableSpec(
        "outputevents",
        "icu",
        "Output Events",
        (_ITEM, *_k("value", "valueuom")),
        "charttime",
        float_columns=("value",),
        lookups=("d_items",),
        stay_key=True,
    ),
    TableSpec(
        "procedureevents",
        "icu",
        "Procedure Events",
        (_ITEM, *_k("value", "valueuom", "location", "locationcategory")),
        "starttime",
        float_columns=("value",),
        lookups=("d_items",),
        stay_key=True,
    ),
)
TABLE_BY_NAME = {t.name: t for t in TABLES}
TABLE_RANK = {t.name: i for i, t in enumerate(TABLES)}  # tie-break rank (ED and ICU ranks follow the list order)
SOURCE_RANK = {m: i for i, m in enumerate(MODULES)}
UNTIMED_RANK = {"diagnoses_icd": 0, "drgcodes": 1, "hcpcsevents": 2}  # spec §2.3: diagnoses_icd before drgcodes
DICTIONARIES = {  # lookup -> (module, file stem)
    "d_labitems": ("hosp", "d_labitems"),
    "d_items": ("icu", "d_items"),
    "icd_diagnoses": ("hosp", "d_icd_diagnoses"),
    "icd_procedures": ("hosp", "d_icd_procedures"),
    "radiology_detail": ("note", "radiology_detail"),
}

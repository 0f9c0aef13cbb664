# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Hand-written miniature MIMIC-IV folders for edge-case tests (real column names, a handful of rows)."""

import gzip
import shutil
from pathlib import Path

import polars as pl


def write_table(root: Path, module: str, name: str, rows: list[dict] | dict, gz: bool = True) -> Path:
    """Write one table; ``rows`` is a list of dicts or a dict of columns (all values written as text)."""
    frame = pl.DataFrame(rows) if isinstance(rows, dict) else pl.DataFrame(rows, infer_schema_length=None)
    # MIMIC writes missing values as empty unquoted fields
    frame = frame.with_columns(pl.when(pl.col(c).cast(pl.String) != "").then(pl.col(c)) for c in frame.columns)
    folder = root / module
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    frame.write_csv(path)
    if gz:
        with path.open("rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()
        path = Path(f"{path}.gz")
    return path


def mini_mimic(root: Path) -> Path:
    """One patient, two admissions, labs, an untimed diagnosis block, an ICU stay, an ED stay and notes."""
    write_table(
        root,
        "hosp",
        "patients",
        [
            {
                "subject_id": 1,
                "gender": "F",
                "anchor_age": 60,
                "anchor_year": 2150,
                "anchor_year_group": "2008 - 2010",
                "dod": "2150-02-03",
            },
        ],
    )
    write_table(
        root,
        "hosp",
        "admissions",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "admittime": "2150-01-01 08:00:00",
                "dischtime": "2150-01-05 12:00:00",
                "admission_type": "EW EMER.",
                "admission_location": "EMERGENCY ROOM",
            },
            {
                "subject_id": 1,
                "hadm_id": 11,
                "admittime": "2150-02-01 09:00:00",
                "dischtime": "2150-02-03 10:00:00",
                "admission_type": "URGENT",
                "admission_location": "TRANSFER FROM HOSPITAL",
            },
        ],
    )
    write_table(
        root, "hosp", "d_labitems", [{"itemid": 50912, "label": "Creatinine"}, {"itemid": 50971, "label": "Potassium"}]
    )
    write_table(
        root,
        "hosp",
        "labevents",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "itemid": 50912,
                "charttime": "2150-01-01 09:00:00",
                "valuenum": "1",
                "valueuom": "mg/dL",
                "ref_range_lower": "0.4",
                "ref_range_upper": "1.1",
                "flag": "",
                "comments": "",
            },
            {
                "subject_id": 1,
                "hadm_id": 10,
                "itemid": 50971,
                "charttime": "2150-01-01 09:00:00",
                "valuenum": "4.2",
                "valueuom": "mEq/L",
                "ref_range_lower": "3.3",
                "ref_range_upper": "5.1",
                "flag": "",
                "comments": "",
            },
            {
                "subject_id": 1,
                "hadm_id": 10,
                "itemid": 50912,
                "charttime": "2150-01-02 09:00:00",
                "valuenum": "2.5",
                "valueuom": "mg/dL",
                "ref_range_lower": "0.4",
                "ref_range_upper": "1.1",
                "flag": "abnormal",
                "comments": "",
            },
        ],
    )
    write_table(
        root,
        "hosp",
        "services",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "transfertime": "2150-01-01 09:00:00",
                "prev_service": "",
                "curr_service": "MED",
            },
        ],
    )
    write_table(
        root,
        "hosp",
        "diagnoses_icd",
        [
            {"subject_id": 1, "hadm_id": 10, "seq_num": 1, "icd_code": "4280", "icd_version": 9},
            {"subject_id": 1, "hadm_id": 10, "seq_num": 2, "icd_code": "I10", "icd_version": 10},
        ],
    )
    write_table(
        root,
        "hosp",
        "drgcodes",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "drg_type": "HCFA",
                "drg_code": "291",
                "description": "HEART FAILURE",
                "drg_severity": "",
                "drg_mortality": "",
            },
        ],
    )
    write_table(
        root,
        "hosp",
        "d_icd_diagnoses",
        [
            {"icd_code": "4280", "icd_version": 9, "long_title": "Congestive heart failure, unspecified"},
            {"icd_code": "I10", "icd_version": 10, "long_title": "Essential (primary) hypertension"},
        ],
    )
    write_table(
        root,
        "hosp",
        "omr",
        [
            {
                "subject_id": 1,
                "chartdate": "2150-01-01",
                "seq_num": 1,
                "result_name": "BMI (kg/m2)",
                "result_value": "27.1",
            },
        ],
    )
    write_table(
        root,
        "icu",
        "icustays",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "stay_id": 100,
                "first_careunit": "MICU",
                "last_careunit": "MICU",
                "intime": "2150-01-01 10:00:00",
                "outtime": "2150-01-03 10:00:00",
                "los": "2.0",
            },
        ],
    )
    write_table(root, "icu", "d_items", [{"itemid": 220045, "label": "Heart Rate"}])
    write_table(
        root,
        "icu",
        "chartevents",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "stay_id": 100,
                "caregiver_id": 1,
                "charttime": "2150-01-01 10:30:00",
                "storetime": "",
                "itemid": 220045,
                "value": "88",
                "valuenum": "88",
                "valueuom": "bpm",
                "warning": "0",
            },
        ],
    )
    write_table(
        root,
        "ed",
        "edstays",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "stay_id": 500,
                "intime": "2150-01-01 05:00:00",
                "outtime": "2150-01-01 07:30:00",
                "gender": "F",
                "race": "WHITE",
                "arrival_transport": "AMBULANCE",
                "disposition": "ADMITTED",
            },
        ],
    )
    write_table(
        root,
        "ed",
        "triage",
        [
            {
                "subject_id": 1,
                "stay_id": 500,
                "temperature": "98.6",
                "heartrate": "90",
                "resprate": "18",
                "o2sat": "97",
                "sbp": "130",
                "dbp": "80",
                "pain": "3",
                "acuity": "2",
                "chiefcomplaint": "Dyspnea",
            },
        ],
    )
    write_table(
        root,
        "ed",
        "diagnosis",
        [
            {
                "subject_id": 1,
                "stay_id": 500,
                "seq_num": 1,
                "icd_code": "4280",
                "icd_version": 9,
                "icd_title": "CONGESTIVE HEART FAILURE",
            },
        ],
    )
    write_table(
        root,
        "note",
        "discharge",
        [
            {
                "note_id": "1-DS-1",
                "subject_id": 1,
                "hadm_id": 10,
                "note_type": "DS",
                "note_seq": 1,
                "charttime": "2150-01-05 11:00:00",
                "storetime": "",
                "text": "Discharge summary\nStable.",
            },
        ],
    )
    return root

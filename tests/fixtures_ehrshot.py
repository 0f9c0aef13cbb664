# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A small EHRSHOT release in its MEDS layout (made-up patients; the real data is credentialed).

``data/0.parquet`` with OMOP-vocabulary codes (``Gender/``, ``Visit/IP``, ``SNOMED/``, ``LOINC/`` with a ``unit``
column, ``RxNorm/``), ``metadata/codes.parquet`` describing only ``STANFORD_*`` codes (as the release does),
``metadata/subject_splits.parquet``, and the labels of the 14 tasks as ``labels/<task>/labels.parquet``
(``LabelSchema``; lab tasks in ``integer_value``) or, with ``csv_labels``, ``benchmark/<task>/labeled_patients.csv``.
"""

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from ehr_r1.adapters.ehrshot import TASKS


N_SUBJECTS, N_TRAIN = 8, 2  # subjects 1..8; 7 and 8 are train patients
DAY = datetime(2150, 3, 1)
PREDICTION = DAY + timedelta(hours=23, minutes=59)
AFTER_VALUE = 777.0  # a lab result after every prediction time: never in a context


def label_value(task: str, subject: int) -> int:
    """The made-up label: lab tasks a class 0-3 (0 = normal), others 0/1."""
    return (subject + len(task)) % 4 if task.startswith("lab_") else (subject + len(task)) % 2


def _rows(subject: int) -> list[tuple]:
    t = lambda h: DAY + timedelta(hours=h)  # noqa: E731
    return [
        (subject, None, "Gender/F" if subject % 2 else "Gender/M", None, None, None),
        (subject, datetime(2090, 1, 1), "MEDS_BIRTH", None, None, None),
        (subject, t(8), "Visit/IP", None, None, None),
        (subject, t(8), "SNOMED/38341003", None, None, None),  # hypertensive disorder
        (subject, t(9), "LOINC/2823-3", 4.0 + subject / 10, "mmol/L", None),  # potassium
        (subject, t(9), "LOINC/718-7", 110.0 + subject, "g/L", None),  # hemoglobin
        (subject, t(10), "RxNorm/197361", None, None, None),  # amlodipine
        (subject, t(11), "STANFORD_NOTE/discharge", None, None, "seen by cardiology"),
        (subject, t(30), "LOINC/2951-2", AFTER_VALUE, "mmol/L", None),  # sodium, the next day
    ]


def write_ehrshot(root: Path, csv_labels: bool = False, extra_label_subject: int | None = None) -> Path:
    """Write the release; ``extra_label_subject`` adds a ``guo_los`` label for a subject not in the data."""
    schema = {"subject_id": pl.Int64, "time": pl.Datetime("us"), "code": pl.String, "numeric_value": pl.Float32,
              "unit": pl.String, "text_value": pl.String}  # fmt: skip
    rows = [r for s in range(1, N_SUBJECTS + 1) for r in _rows(s)]
    (root / "data").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema=schema, orient="row").write_parquet(root / "data" / "0.parquet")
    (root / "metadata").mkdir(exist_ok=True)
    codes = pl.DataFrame({"code": ["STANFORD_NOTE/discharge"], "description": ["Discharge note"],
                          "parent_codes": [[]]}, schema={"code": pl.String, "description": pl.String,
                                                         "parent_codes": pl.List(pl.String)})  # fmt: skip
    codes.write_parquet(root / "metadata" / "codes.parquet")
    splits = [(s, "train" if s > N_SUBJECTS - N_TRAIN else "held_out") for s in range(1, N_SUBJECTS + 1)]
    pl.DataFrame(splits, schema={"subject_id": pl.Int64, "split": pl.String}, orient="row").write_parquet(
        root / "metadata" / "subject_splits.parquet"
    )
    for task in TASKS:
        subjects = list(range(1, N_SUBJECTS + 1))
        if extra_label_subject is not None and task == "guo_los":
            subjects.append(extra_label_subject)
        values = [label_value(task, s) for s in subjects]
        if csv_labels:
            folder = root / "benchmark" / task
            folder.mkdir(parents=True, exist_ok=True)
            kind = "categorical" if task.startswith("lab_") else "boolean"
            shown = [str(v) if kind == "categorical" else str(bool(v)) for v in values]
            pl.DataFrame({"patient_id": subjects, "prediction_time": [PREDICTION.isoformat()] * len(subjects),
                          "value": shown, "label_type": [kind] * len(subjects)}).write_csv(folder / "labeled_patients.csv")  # fmt: skip
            continue
        folder = root / "labels" / task
        folder.mkdir(parents=True, exist_ok=True)
        lab = task.startswith("lab_")
        pl.DataFrame(
            {"subject_id": subjects, "prediction_time": [PREDICTION] * len(subjects),
             "boolean_value": [None if lab else bool(v) for v in values],
             "integer_value": [v if lab else None for v in values]},
            schema={"subject_id": pl.Int64, "prediction_time": pl.Datetime("us"), "boolean_value": pl.Boolean,
                    "integer_value": pl.Int64},
        ).write_parquet(folder / "labels.parquet")  # fmt: skip
    return root

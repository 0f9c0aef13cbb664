# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Risk tasks from label files (ACES output format): one ``LabelTask`` per ``<task_name>.parquet`` of a folder.

A label file holds ``subject_id`` int64, ``prediction_time`` datetime, ``boolean_value`` bool (ACES's other value
columns are ignored); ``ehr-r1 labels`` writes such folders (``DIR/<task>.parquet``; ACES's own ``DIR/<task>/*.parquet``
layout is read too). A sample's context is cut at ``prediction_time``: only events that end by then, within the
index's window before it (``ehr_r1.tasks.index.label_index``); demographics (static rows) are always shown.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import polars as pl

from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.prompting import RISK_PREDICTION
from ehr_r1.tasks.catalogue import ALL_TASKS, INSTRUCTION_PREFIX


logger = logging.getLogger(__name__)
LABEL_COLUMNS = {"subject_id": pl.Int64, "prediction_time": pl.Datetime("us"), "boolean_value": pl.Boolean}


@dataclass(frozen=True, eq=False)
class LabelTask:
    """A yes/no risk task whose labels come from a file.

    Args:
        name (`str`): task id (the file's stem).
        labels (`pl.DataFrame`): ``subject_id``, ``prediction_time``, ``boolean_value``.
        path (`Path | None`): where the labels were read.
    """

    name: str
    labels: pl.DataFrame = field(repr=False)
    path: Path | None = None
    metric: ClassVar[str] = "aucroc"
    reference_target_key: ClassVar[None] = None
    task_type: ClassVar[str] = RISK_PREDICTION
    bid_events: ClassVar[tuple[str, ...]] = ()
    table: ClassVar[str] = "*"  # anchored on a time, not an event type

    @property
    def instruction(self) -> str:
        return f"{INSTRUCTION_PREFIX}predict whether the outcome {self.name.replace('_', ' ')!r} will occur."


def _label_files(folder: Path) -> dict[str, list[Path]]:
    if not folder.is_dir():
        raise InputError(folder, "label folder not found")
    files = {p.stem: [p] for p in sorted(folder.glob("*.parquet"))}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        shards = sorted(sub.rglob("*.parquet"))
        if shards:
            files.setdefault(sub.name, shards)
    if not files:
        raise InputError(folder, "no label files (expected <task_name>.parquet)")
    return files


def read_label_file(path: Path) -> pl.DataFrame:
    """One label file's (subject_id, prediction_time, boolean_value), checked: columns, types, no nulls."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as err:  # noqa: BLE001 - corrupt parquet raises several types
        raise InputError(path, f"cannot read parquet: {str(err).strip().splitlines()[0][:200]}") from None
    for column, dtype in LABEL_COLUMNS.items():
        if column not in schema:
            raise InputError(path, "missing label column", column)
        ok = isinstance(schema[column], pl.Datetime) if column == "prediction_time" else schema[column] == dtype
        if not ok:
            raise InputError(path, f"wrong type {schema[column]} (labels need {dtype})", column)
    frame = pl.read_parquet(path, columns=list(LABEL_COLUMNS)).cast(LABEL_COLUMNS)
    for column in LABEL_COLUMNS:
        if frame[column].null_count():
            raise InputError(path, "null values in a label file", column)
    return frame


def check_label_subjects(labels: pl.DataFrame, known_subjects: pl.Series, where: object) -> None:
    """A one-line error naming ``where`` when a label's subject is not in ``known_subjects`` (the data's)."""
    unknown = labels.filter(~pl.col("subject_id").is_in(known_subjects.implode()))["subject_id"]
    if unknown.len():
        raise InputError(where, f"label for subject {unknown.min()} ({unknown.n_unique()} subject(s) in all) that is "
                         "not in the MEDS data", "subject_id")  # fmt: skip


def load_label_tasks(folder: str | Path, known_subjects: pl.Series) -> list[LabelTask]:
    """The label tasks of ``folder``; every label's subject must be in ``known_subjects`` (the data's)."""
    tasks = []
    for name, paths in _label_files(Path(folder)).items():
        if name in ALL_TASKS and not isinstance(ALL_TASKS[name], LabelTask):
            raise InputError(paths[0], f"label task name {name!r} is a built-in task: rename the file")
        frames = []
        for path in paths:
            frame = read_label_file(path)
            check_label_subjects(frame, known_subjects, path)
            frames.append(frame)
        labels = pl.concat(frames).unique(maintain_order=True).sort("subject_id", "prediction_time")
        tasks.append(LabelTask(name, labels, paths[0]))
    return tasks


def register_label_tasks(tasks: list[LabelTask]) -> None:
    """Put ``tasks`` into the catalogue (replacing label tasks of the same name from an earlier build)."""
    for task in tasks:
        existing = ALL_TASKS.get(task.name)
        if existing is not None and not isinstance(existing, LabelTask):
            raise EhrR1Error(f"label task {task.name!r} would replace the built-in task of that name")
        ALL_TASKS[task.name] = task

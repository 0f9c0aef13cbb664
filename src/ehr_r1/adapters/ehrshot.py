# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHRSHOT (Stanford, ``EHRSHOT_MEDS``) → an EHR-Bench-layout folder of EHR-R1's 14 binary EHRSHOT tasks.

Input: the MEDS release (``data/**/*.parquet``, ``metadata/codes.parquet``, ``metadata/subject_splits.parquet``)
and its labels, either MEDS label files ``labels/<task>/*.parquet`` (``boolean_value``; the lab tasks'
4-class label in ``integer_value``) or the original ``benchmark/<task>/labeled_patients.csv`` (``patient_id,
prediction_time, value, label_type``).

Labels are made binary as EHR-R1 does (docs/adapters.md): boolean tasks keep their value; the lab tasks' class ``0``
(normal) is ``yes`` and mild / moderate / severe are ``no`` (the instruction asks whether the lab comes back normal).
``chexpert`` is not one of the 14. The context of a sample is the patient's MEDS timeline cut at the label's
``prediction_time`` (``ehr_r1.sources.meds.MedsSource`` with the ``omop`` vocabulary, the label-task index of
``ehr_r1.tasks.index``); demographics always show. Only the ``held_out`` split (EHRSHOT's test patients) by default.
"""

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ehr_r1.adapters import write_bench
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.io import atomic_output_dir
from ehr_r1.labels import check_subjects
from ehr_r1.sources.meds import discover
from ehr_r1.tasks.catalogue import ALL_TASKS, INSTRUCTION_PREFIX


logger = logging.getLogger(__name__)

COMMAND, DATASET = "adapt-ehrshot", "ehrshot"
SOURCE = "EHRSHOT (Stanford, EHRSHOT Data Set License; credentialed)"
SPLITS = ("held_out", "tuning", "train", "all")
_LABS = {  # task -> (lab, normal range as EHRSHOT defines it)
    "lab_anemia": ("hemoglobin", "hemoglobin >= 120 g/L"),
    "lab_hyperkalemia": ("potassium", "potassium <= 5.5 mmol/L"),
    "lab_hypoglycemia": ("glucose", "glucose >= 3.9 mmol/L"),
    "lab_hyponatremia": ("sodium", "sodium >= 135 mmol/L"),
    "lab_thrombocytopenia": ("platelet count", "platelets >= 150 x 10^9/L"),
}
_NEW = {
    "new_acutemi": "acute myocardial infarction",
    "new_celiac": "celiac disease",
    "new_hyperlipidemia": "hyperlipidemia",
    "new_hypertension": "hypertension",
    "new_lupus": "lupus",
    "new_pancan": "pancreatic cancer",
}
OUTCOMES = {
    "guo_icu": "the patient will be transferred to the intensive care unit during this visit.",
    "guo_los": "the patient will stay in the hospital for 7 days or more.",
    "guo_readmission": "the patient will be readmitted to the hospital within 30 days after discharge.",
    **{t: f"the patient's next {lab} result will come back as normal ({rng})." for t, (lab, rng) in _LABS.items()},
    **{t: f"the patient will be newly diagnosed with {d} within the next year." for t, d in _NEW.items()},
}
TASKS = tuple(sorted(OUTCOMES))  # EHR-R1's 14 (no chexpert)
LABEL_COLUMNS = {"subject_id": pl.Int64, "prediction_time": pl.Datetime("us"), "boolean_value": pl.Boolean}


@dataclass
class EhrshotConfig:
    """Options of ``ehr-r1 adapt-ehrshot``."""

    ehrshot_dir: str = field(metadata={"help": "EHRSHOT MEDS root (data/, metadata/; labels/ unless --labels-dir)."})
    output: str = field(metadata={"help": "Output folder (EHR-Bench layout), scored by `ehr-r1 eval --bench`."})
    labels_dir: str | None = field(
        default=None,
        metadata={"help": "Labels: <task>/*.parquet (MEDS) or <task>/labeled_patients.csv (default: EHRSHOT/labels, "
                  "else EHRSHOT/benchmark)."},
    )  # fmt: skip
    tasks: list[str] | None = field(default=None, metadata={"help": "Only these tasks (default: all 14)."})
    split: str = field(
        default="held_out", metadata={"help": "Patients of this split (metadata/subject_splits.parquet).", "choices": list(SPLITS)}
    )  # fmt: skip
    max_per_task: int | None = field(default=None, metadata={"help": "At most N labels per task (seeded sample)."})
    window_hours: float = field(default=24.0, metadata={"help": "Context: events within this many hours before it."})
    vocab: str = field(default="omop", metadata={"help": "MEDS vocabulary (shipped name or YAML) of the codes."})
    seed: int = field(default=42, metadata={"help": "Seed of the --max-per-task sample."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})

    def __post_init__(self):
        unknown = sorted(set(self.tasks or ()) - set(TASKS))
        if unknown:
            raise EhrR1Error(f"--tasks: unknown EHRSHOT task {unknown[0]!r} (choose from {', '.join(TASKS)})")
        if self.split not in SPLITS:
            raise EhrR1Error(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.max_per_task is not None and self.max_per_task < 1:
            raise EhrR1Error(f"--max-per-task must be >= 1, got {self.max_per_task}")
        if not self.window_hours > 0:
            raise EhrR1Error(f"--window-hours must be > 0, got {self.window_hours}")


# ------------------------------------------------------------------------------------------------------- labels
def _binary(frame: pl.DataFrame, task: str, path: Path) -> pl.DataFrame:
    """(subject_id, prediction_time, boolean_value): lab classes → normal (0) is True."""
    if task in _LABS:
        column = next((c for c in ("integer_value", "value") if c in frame.columns), None)
        values = frame[column].cast(pl.Int64, strict=False) if column else None
        if values is None or values.null_count():
            raise InputError(path, "lab task labels need a class 0-3", column=column or "integer_value")
        value = values == 0
    else:
        column = next((c for c in ("boolean_value", "value") if c in frame.columns), None)
        raw = frame[column] if column else None
        if raw is not None and raw.dtype == pl.String:
            raw = raw.str.to_lowercase().replace_strict(
                {"true": True, "false": False, "1": True, "0": False}, default=None
            )
        if raw is None or raw.cast(pl.Boolean, strict=False).null_count():
            raise InputError(path, "binary task labels need true / false values", column=column or "boolean_value")
        value = raw.cast(pl.Boolean)
    subject = "subject_id" if "subject_id" in frame.columns else "patient_id"
    for column in (subject, "prediction_time"):
        if column not in frame.columns:
            raise InputError(path, "missing column", column=column)
    times = frame["prediction_time"]
    times = times.str.to_datetime(strict=False) if times.dtype == pl.String else times
    out = pl.DataFrame({"subject_id": frame[subject].cast(pl.Int64, strict=False), "prediction_time": times,
                        "boolean_value": value})  # fmt: skip
    for column in ("subject_id", "prediction_time"):
        if out[column].null_count():
            raise InputError(path, "unreadable or null values", column=subject if column == "subject_id" else column)
    return out.cast(LABEL_COLUMNS)


def label_files(cfg: EhrshotConfig) -> dict[str, list[Path]]:
    """The label files of each wanted task (MEDS ``<task>/*.parquet`` or ``<task>/labeled_patients.csv``)."""
    root = Path(cfg.ehrshot_dir)
    folders = [Path(cfg.labels_dir)] if cfg.labels_dir else [root / "labels", root / "benchmark"]
    folder = next((f for f in folders if f.is_dir()), None)
    if folder is None:
        raise InputError(folders[0], "EHRSHOT label folder not found (labels/<task>/ or benchmark/<task>/)")
    files = {}
    for task in cfg.tasks or TASKS:
        found = sorted((folder / task).glob("*.parquet")) or sorted((folder / task).glob("labeled_patients.csv"))
        if not found:
            raise InputError(folder / task, f"no labels for EHRSHOT task {task} (*.parquet or labeled_patients.csv)")
        files[task] = found
    return files


def read_task_labels(task: str, paths: list[Path], meds_dir: str | Path) -> pl.DataFrame:
    """One task's binary labels; every subject must be in the MEDS data (a named error otherwise)."""
    frames = []
    for path in paths:
        try:
            raw = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
        except Exception as err:  # noqa: BLE001 - any reader failure is a corrupt file for the user
            raise InputError(path, f"cannot read labels: {str(err).strip().splitlines()[0][:200]}") from None
        frame = _binary(raw, task, path)
        check_subjects(frame, meds_dir, path)
        frames.append(frame)
    return pl.concat(frames).unique(maintain_order=True).sort("subject_id", "prediction_time")


def _split_subjects(meds_dir: Path, split: str) -> pl.DataFrame | None:
    if split == "all":
        return None
    path = meds_dir / "metadata" / "subject_splits.parquet"
    if not path.is_file():
        raise InputError(path, f"file not found (needed for --split {split}; --split all takes every patient)")
    splits = pl.read_parquet(path)
    return splits.filter(pl.col("split") == split).select(pl.col("subject_id").cast(pl.Int64))


# -------------------------------------------------------------------------------------------------------- tasks
def ehrshot_tasks(labels: dict[str, pl.DataFrame]):
    """Label tasks with EHR-R1-style instructions (one per EHRSHOT task), for the label-task index."""
    from ehr_r1.tasks.labels import LabelTask

    @dataclass(frozen=True, eq=False)
    class EhrshotTask(LabelTask):
        @property
        def instruction(self) -> str:
            return f"{INSTRUCTION_PREFIX}predict whether {OUTCOMES[self.name]}"

    return [EhrshotTask(name, frame) for name, frame in labels.items()]


def _render(cfg: EhrshotConfig, tasks, work: Path) -> pl.DataFrame:
    """The bench rows of ``tasks``: MEDS timelines of the labelled patients, label-task index, rendering."""
    from ehr_r1.rows import render_samples
    from ehr_r1.sources.meds import MedsSource
    from ehr_r1.tasks.index import IndexConfig, build_index
    from ehr_r1.timeline import build_timelines

    source = MedsSource(cfg.ehrshot_dir, cfg.vocab)
    subjects = pl.concat([t.labels.select("subject_id") for t in tasks]).unique().sort("subject_id")
    shards = build_timelines(source, work / "timelines", 1, subjects=subjects)
    index_cfg = IndexConfig(window_hours=cfg.window_hours, min_context_events=0, max_context_events=10**6,
                            max_patient_events=10**9)  # fmt: skip
    selected = pl.concat(
        [build_index(pl.read_parquet(p), index_cfg, tasks).with_columns(shard=pl.lit(i)) for i, p in enumerate(shards)]
    )
    rows, _ = render_samples(selected.sort("task", "subject_id", "target_idx"), shards, {}, cfg.seed, 0)
    return rows.drop("events_dropped")


def adapt_ehrshot(cfg: EhrshotConfig) -> dict:
    """Write the EHRSHOT bench folder ``cfg.output``; returns its manifest."""
    meds_dir = Path(cfg.ehrshot_dir)
    discover(meds_dir)  # a one-line error before any work when it is not a MEDS folder
    files = label_files(cfg)
    split = _split_subjects(meds_dir, cfg.split)
    labels = {}
    for task, paths in files.items():  # every label is checked before any work
        frame = read_task_labels(task, paths, meds_dir)
        frame = frame if split is None else frame.join(split, on="subject_id", how="semi")
        if cfg.max_per_task and frame.height > cfg.max_per_task:
            frame = frame.sample(cfg.max_per_task, seed=cfg.seed).sort("subject_id", "prediction_time")
        labels[task] = frame
    labels = {t: f for t, f in labels.items() if f.height}
    if not labels:
        raise EhrR1Error(f"{cfg.ehrshot_dir}: no labels of the {cfg.split} split")
    tasks = ehrshot_tasks(labels)
    used = [p for paths in files.values() for p in paths]
    with atomic_output_dir(cfg.output, cfg.overwrite, [cfg.ehrshot_dir, cfg.labels_dir], COMMAND) as tmp:
        previous = {t.name: ALL_TASKS.get(t.name) for t in tasks}
        ALL_TASKS.update({t.name: t for t in tasks})  # rendering reads instructions from the catalogue
        try:
            rows = _render(cfg, tasks, tmp / ".work")
        finally:
            for name, task in previous.items():
                ALL_TASKS.pop(name) if task is None else ALL_TASKS.__setitem__(name, task)
        shutil.rmtree(tmp / ".work")
        if rows.is_empty():
            raise EhrR1Error(f"{cfg.ehrshot_dir}: no label has events within {cfg.window_hours} h before it")
        counts = {t.name: t.labels.height for t in tasks}
        manifest = write_bench(tmp, rows, name=DATASET, source=SOURCE, command=COMMAND, inputs=used,
                               extra={"ehrshot_split": cfg.split, "labels_read": counts,
                                      "window_hours": cfg.window_hours})  # fmt: skip
    logger.info("wrote %d EHRSHOT samples (%d tasks) to %s", rows.height, rows["task"].n_unique(), cfg.output)
    return manifest

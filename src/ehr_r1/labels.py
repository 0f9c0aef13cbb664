# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Risk-task labels on MEDS data: ACES task configs → ``<task_name>.parquet`` label files (``ehr-r1 labels``).

A label folder holds one binary task per file, in the MEDS ``LabelSchema`` that ACES writes (``subject_id`` int64,
``prediction_time`` datetime[us], ``boolean_value`` bool, plus the schema's empty ``integer_value``,
``float_value`` and ``categorical_value``), and a ``manifest.json`` with the counts. ``build-bench --labels DIR``
reads such folders; ``ehr_r1.tasks.labels`` reads and checks them (``read_label_file``, ``check_label_subjects``).

ACES (``es-aces``) runs in-process on each shard of ``data/**/*.parquet``: its predicates, query and label-schema
code, without its Hydra command line (no ``.logs`` folders, one process). A MEDS-DEV task config whose predicates are
``???`` takes them from ``--predicates`` (a MEDS-DEV ``datasets/<dataset>/predicates.yaml``, or ours in
``dataset_builders/aces/``).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from ehr_r1 import __version__, layout
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.io import atomic_output_dir
from ehr_r1.sources.meds import discover
from ehr_r1.tasks.labels import check_label_subjects


logger = logging.getLogger(__name__)

COMMAND = "labels"
LABEL_SCHEMA = {
    "subject_id": pl.Int64,
    "prediction_time": pl.Datetime("us"),
    "boolean_value": pl.Boolean,
    "integer_value": pl.Int64,
    "float_value": pl.Float32,
    "categorical_value": pl.String,
}
MISSING_VALUE = "???"  # a MEDS-DEV task template's dataset-specific predicate (Hydra's "missing")
_TASK_ROOTS = ("aces", "tasks")  # a config below one of these folders is named by its path from there


@dataclass
class LabelsConfig:
    """Options of ``ehr-r1 labels``."""

    meds_dir: str = field(metadata={"help": "MEDS root with data/**/*.parquet (and metadata/)."})
    aces_config: list[str] = field(
        metadata={"help": "ACES task YAML(s), e.g. a MEDS-DEV tasks/mortality/in_icu/first_24h.yaml."}
    )
    output: str = field(metadata={"help": "Label folder: one <task_name>.parquet per task, plus manifest.json."})
    predicates: str | None = field(
        default=None,
        metadata={
            "help": "Predicates YAML overriding the task configs' (needed for MEDS-DEV templates with ??? "
            "predicates), e.g. dataset_builders/aces/MIMIC-IV/predicates.yaml."
        },
    )
    task_names: list[str] | None = field(
        default=None,
        metadata={
            "help": "One name per config (default: its path below an aces/ or tasks/ folder, '/' -> '_', e.g. "
            "mortality_in_icu_first_24h; else the file name)."
        },
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})

    def __post_init__(self):
        if self.task_names is not None and len(self.task_names) != len(self.aces_config):
            raise EhrR1Error(
                f"--task-names gives {len(self.task_names)} names for {len(self.aces_config)} --aces-config files"
            )

    def names(self) -> list[str]:
        names = self.task_names or [task_name(p) for p in self.aces_config]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise EhrR1Error(f"two task configs share the name {duplicates[0]!r}: pass --task-names")
        for name in names:
            if not name or "/" in name or name.startswith("."):
                raise EhrR1Error(f"bad task name {name!r} (a file name without '/')")
        return names


def task_name(config_path: str | Path) -> str:
    """The task name of a config: its path below the nearest ``aces/`` or ``tasks/`` folder with ``/`` → ``_``
    (``…/tasks/mortality/in_icu/first_24h.yaml`` → ``mortality_in_icu_first_24h``), else its file name."""
    path = Path(config_path).resolve().with_suffix("")
    for i, parent in enumerate(path.parents):
        if parent.name in _TASK_ROOTS and i > 0:
            return "_".join(path.relative_to(parent).parts)
    return path.name


# ------------------------------------------------------------------------------------------------------- ACES
def _yaml(path: Path) -> dict:
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(path, f"malformed YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a YAML mapping")
    return data


def _unfilled(predicate) -> bool:
    """A MEDS-DEV template predicate: ``???`` itself, or a mapping with a ``???`` value (``{code: ???}``)."""
    if isinstance(predicate, dict):
        return any(_unfilled(v) for v in predicate.values())
    return predicate == MISSING_VALUE


def _check_config(config: Path, predicates: Path | None) -> None:
    """Refuse, before ACES runs, a config without a label window or with ``???`` predicates left unfilled."""
    task = _yaml(config)
    given = set((_yaml(predicates).get("predicates") or {}) if predicates else ())
    predicates = (task.get("predicates") or {}).items()
    missing = [n for n, p in predicates if _unfilled(p) and n not in given]
    if missing:
        where = f"{predicates} does not define it" if predicates else "pass --predicates"
        raise InputError(config, f"predicate {missing[0]!r} is {MISSING_VALUE} (a task template): {where}")
    windows = task.get("windows") or {}
    if not any(isinstance(w, dict) and w.get("label") for w in windows.values()):
        raise InputError(config, "no window has a `label:`; ehr-r1 labels writes binary risk labels")


def _label_frame(result: pl.DataFrame) -> pl.DataFrame:
    """ACES query output → the label schema (as its CLI renames it; window summaries dropped)."""
    result = result.rename({"index_timestamp": "prediction_time", "label": "boolean_value"}, strict=False)
    columns = [pl.col(c).cast(t) if c in result.columns else pl.lit(None, t).alias(c) for c, t in LABEL_SCHEMA.items()]
    return result.select(columns)


def run_aces(meds_dir: str | Path, config: str | Path, predicates: str | Path | None = None) -> pl.DataFrame:
    """Labels of one ACES task config on every shard of ``meds_dir`` (sorted by subject and prediction time)."""
    from aces import config as aces_config
    from aces import predicates as aces_predicates
    from aces import query
    from omegaconf import DictConfig

    config, predicates = Path(config), Path(predicates) if predicates else None
    _check_config(config, predicates)
    frames = []
    for shard in discover(meds_dir).data_files:
        try:  # loaded per shard: ACES's query changes the config it is given
            task = aces_config.TaskExtractorConfig.load(config_path=config, predicates_path=predicates)
        except Exception as err:  # noqa: BLE001 - any ACES parse failure is a bad config for the user
            raise InputError(predicates or config, f"ACES cannot read the task config: {_first_line(err)}") from None
        try:
            data = aces_predicates.get_predicates_df(task, DictConfig({"path": str(shard), "standard": "meds"}))
            frames.append(_label_frame(query.query(task, data)))
        except Exception as err:  # noqa: BLE001 - ACES raises plain exceptions on data it cannot read
            raise InputError(shard, f"ACES failed on this shard with {config.name}: {_first_line(err)}") from None
    labels = pl.concat(frames) if frames else pl.DataFrame(schema=LABEL_SCHEMA)
    return labels.sort("subject_id", "prediction_time")


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


# ---------------------------------------------------------------------------------------------- label folders
def check_subjects(labels: pl.DataFrame, meds_dir: str | Path, where: object) -> None:
    """A one-line error naming ``where`` when a label's subject is not in the MEDS data of ``meds_dir``."""
    known = pl.scan_parquet([str(p) for p in discover(meds_dir).data_files]).select("subject_id").unique().collect()
    check_label_subjects(labels, known["subject_id"], where)


def label_counts(labels: pl.DataFrame) -> dict:
    return {
        "labels": labels.height,
        "positive": int(labels["boolean_value"].sum() or 0),
        "subjects": labels["subject_id"].n_unique(),
    }


def write_label_folder(folder: Path, tasks: dict[str, pl.DataFrame], manifest: dict) -> None:
    """``<task>.parquet`` per task and ``manifest.json`` (``command``, per-task counts, plus ``manifest``)."""
    for name, labels in tasks.items():
        labels.select(list(LABEL_SCHEMA)).cast(LABEL_SCHEMA).write_parquet(folder / f"{name}.parquet")
    counts = {name: label_counts(labels) for name, labels in tasks.items()}
    manifest = {"command": COMMAND, "package_version": __version__, **manifest, "tasks": counts}
    (folder / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def make_labels(cfg: LabelsConfig) -> dict:
    """Run every task config of ``cfg`` and write the label folder ``cfg.output``; returns the manifest's counts."""
    names = cfg.names()
    inputs = (cfg.meds_dir, cfg.predicates, *cfg.aces_config)
    tasks = {}
    with atomic_output_dir(cfg.output, cfg.overwrite, inputs, COMMAND) as tmp:
        for name, config in zip(names, cfg.aces_config, strict=True):
            tasks[name] = run_aces(cfg.meds_dir, config, cfg.predicates)
            logger.info("%s: %d labels (%d positive)", name, tasks[name].height, tasks[name]["boolean_value"].sum())
        configs = {name: str(Path(c).resolve()) for name, c in zip(names, cfg.aces_config, strict=True)}
        write_label_folder(tmp, tasks, {"meds_dir": str(Path(cfg.meds_dir).resolve()), "configs": configs,
                                        "predicates": cfg.predicates and str(Path(cfg.predicates).resolve()),
                                        "aces_version": _aces_version()})  # fmt: skip
    return {name: label_counts(labels) for name, labels in tasks.items()}


def _aces_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("es-aces")
    except PackageNotFoundError:
        return None

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Read EHR-Bench samples from an ``ehr-r1 build-bench`` folder or from the released JSONL files.

Accepted ``--bench`` values:

- a ``build-bench`` output folder: ``data/<task_type>/<task>/*.parquet`` (+ ``manifest.json`` with ``fingerprints``);
- any folder of parquet files with the bench columns (EHR-Ins folders for ``--train``: every ``*.parquet`` below it);
- a released JSONL file (``ehr_bench_decision_making.jsonl`` / ``ehr_bench_risk_prediction.jsonl``), or a folder
  holding them, with the reference's ``task_info`` keys (``target_key``, ``event``, ``metric``, ``bid_event``,
  ``task_type``, ``instruction``, ``task``, ``target``, ``label``).

The task of a sample is its ``task`` (column or ``task_info["task"]``); without one, the task whose catalogue
instruction (``ehr_r1.tasks.catalogue.ALL_TASKS``, the reference's text byte for byte) is the sample's instruction;
tasks sharing an instruction (``Inpatient_Mortality`` and ``ED_Inpatient_Mortality``) are told apart by
``task_info["event"]`` (their anchor table). Only an instruction that no task has falls back to ``task_info["event"]``
(or ``target_key``). The type is ``task_type`` (column or ``task_info``), else the catalogue task's, else risk for
``["yes", "no"]`` candidates or a risk metric (the reference's ``aucroc``, ``auroc``, ...).
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from ehr_r1 import layout
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.prompting import (
    DECISION_MAKING,
    RISK_LABELS,
    RISK_PREDICTION,
    TASK_TYPES,
    is_risk_label,
    is_yes,
    normalize_item,
)
from ehr_r1.tasks.catalogue import ALL_TASKS


logger = logging.getLogger(__name__)

REQUIRED = ("idx", "instruction", "input", "output")
RELEASED_FILES = ("ehr_bench_decision_making.jsonl", "ehr_bench_risk_prediction.jsonl")
_RISK_METRICS = {"aucroc", "auroc", "auc", "roc_auc", "auprc", "risk"}  # "aucroc": the reference's name


@dataclass
class Sample:
    """One EHR-Bench sample, in the shape the harness needs."""

    idx: str
    task: str
    task_type: str
    instruction: str
    input: str
    output: str
    candidates: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Unique key across the bench (``idx`` is only unique inside one released file)."""
        return f"{self.task}/{self.idx}"


@dataclass
class Bench:
    """Loaded samples plus where they came from."""

    path: str
    samples: list[Sample]
    fingerprint: str

    @property
    def tasks(self) -> list[str]:
        return sorted({s.task for s in self.samples})


def load_bench(
    path: str | Path, tasks: Iterable[str] | None = None, limit: int | None = None, unique: bool = True
) -> Bench:
    """Load samples from ``path``; keep ``tasks`` only (if given) and ``limit`` samples per task (see ``_first_per_task``).

    ``unique`` checks that (task, idx) is unique, which resuming relies on (training data need not be).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "bench not found (expected a build-bench folder or an EHR-Bench .jsonl file)")
    files = _bench_files(path)
    samples: list[Sample] = []
    for file in files:
        samples.extend(_read_parquet(file) if file.suffix == ".parquet" else _read_jsonl(file))
    if not samples:
        raise InputError(path, "no samples found")
    if tasks:
        wanted = set(tasks)
        unknown = wanted - {s.task for s in samples}
        if unknown:
            raise InputError(
                path, f"unknown task(s) {sorted(unknown)}; available: {sorted({s.task for s in samples})}"
            )
        samples = [s for s in samples if s.task in wanted]
    if limit is not None:
        samples = _first_per_task(samples, limit)
    if unique:
        _check_unique(path, samples)
    return Bench(str(path), samples, fingerprint(path, files))


def _first_per_task(samples: list[Sample], limit: int) -> list[Sample]:
    """The first ``limit`` samples of each task in file order; risk tasks take the first yes and no samples
    alternately, so a small smoke run still has both classes (AUROC is undefined with one)."""
    by_task: dict[str, list[Sample]] = {}
    for s in samples:
        by_task.setdefault(s.task, []).append(s)
    keep: set[int] = set()
    for rows in by_task.values():
        if rows[0].task_type == RISK_PREDICTION:
            pos = [s for s in rows if is_yes(s.output)]
            neg = [s for s in rows if not is_yes(s.output)]
            rows = [s for pair in zip_longest(pos, neg) for s in pair if s is not None]
        keep.update(id(s) for s in rows[:limit])
    return [s for s in samples if id(s) in keep]


def _bench_files(path: Path) -> list[Path]:
    if path.is_file():
        if path.suffix not in (".jsonl", ".parquet"):
            raise InputError(path, "unsupported bench file (expected .jsonl or .parquet)")
        return [path]
    if (path / layout.DATA_DIR).is_dir():  # a built folder; data/{sft,grpo,...} hold TRL configs, not samples
        files = layout.sample_files(path)
    else:
        files = sorted(path.rglob("*.parquet"))
    if not files:
        files = [path / name for name in RELEASED_FILES if (path / name).exists()] or sorted(path.glob("*.jsonl"))
    if not files:
        raise InputError(path, "no data/<task_type>/<task>/*.parquet and no ehr_bench_*.jsonl files")
    return files


def _read_parquet(file: Path) -> list[Sample]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a corrupt file for the user
        raise InputError(file, f"cannot read parquet: {err}") from None
    missing = [c for c in (*REQUIRED, "task") if c not in table.column_names]
    if missing:
        raise InputError(file, "missing column", column=missing[0])
    index = _instruction_index()
    return [_sample(row, file, index) for row in table.to_pylist()]


def _read_jsonl(file: Path) -> list[Sample]:
    samples, index = [], _instruction_index()
    with open(file, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{file}:{lineno}", f"malformed JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"{file}:{lineno}", "expected a JSON object per line")
            samples.append(_sample(row, f"{file}:{lineno}", index))
    return samples


def _sample(row: dict, where: object, index: dict[str, list[str]]) -> Sample:
    missing = [c for c in REQUIRED if row.get(c) is None]
    if missing:
        raise InputError(where, "missing field", column=missing[0])
    info = row.get("task_info") or {}
    if isinstance(info, str):
        info = json.loads(info) if info.strip().startswith("{") else {}
    candidates = [str(c) for c in (row.get("candidates") or [])]
    output = row["output"]
    output = "\n".join(map(str, output)) if isinstance(output, list) else str(output)
    instruction = str(row["instruction"])
    task = str(row.get("task") or info.get("task") or _task_from_instruction(instruction, info, index, where))
    return Sample(
        idx=str(row["idx"]),
        task=task,
        task_type=_task_type(row, info, candidates, task),
        instruction=instruction,
        input=str(row["input"]),
        output=output,
        candidates=candidates,
    )


def _instruction_index() -> dict[str, list[str]]:
    """Catalogue task names by instruction (built per file: ``register_task`` may add tasks)."""
    index: dict[str, list[str]] = {}
    for task in ALL_TASKS.values():
        index.setdefault(task.instruction.strip(), []).append(task.name)
    return index


def _task_from_instruction(instruction: str, info: dict, index: dict[str, list[str]], where: object) -> str:
    """The catalogue task with this instruction; tasks sharing it are told apart by ``task_info["event"]``."""
    names = index.get(instruction.strip())
    if not names:
        task = _task_from_info(info)
        if not task:
            raise InputError(
                where, "cannot tell the task (no 'task', unknown instruction, no task_info event)", column="task"
            )
        return task
    if len(names) == 1:
        return names[0]
    event = _task_from_info(info, keys=("event", "events"))
    matching = [n for n in names if ALL_TASKS[n].table == event]
    if len(matching) != 1:
        raise InputError(
            where,
            f"tasks {', '.join(names)} share this instruction and task_info event {event!r} does not tell them apart",
            column="task_info",
        )
    return matching[0]


def _task_from_info(info: dict, keys: tuple[str, ...] = ("event", "events", "target_key")) -> str | None:
    event = next((info[k] for k in keys if info.get(k)), None)
    if isinstance(event, list):
        event = event[0] if event else None
    return str(event) if event else None


def _task_type(row: dict, info: dict, candidates: list[str], task: str) -> str:
    kind = row.get("task_type") or info.get("task_type")
    if kind in TASK_TYPES:
        return kind
    if task in ALL_TASKS:
        return ALL_TASKS[task].task_type
    metric = str(info.get("metric") or "").lower()
    if sorted(map(normalize_item, candidates)) == sorted(RISK_LABELS) or metric in _RISK_METRICS:
        return RISK_PREDICTION
    return DECISION_MAKING


def _check_unique(path: Path, samples: list[Sample]) -> None:
    seen: set[str] = set()
    for s in samples:
        if s.key in seen:
            raise InputError(path, f"duplicate sample idx {s.idx!r} in task {s.task!r}")
        seen.add(s.key)


def fingerprint(path: Path, files: list[Path]) -> str:
    """The bench fingerprint: a hash of ``manifest.json``'s ``fingerprints`` (or ``output_fingerprints``) when the
    bench folder has one, else of the bench files' bytes."""
    digest = hashlib.sha256()
    prints = _manifest_fingerprints(path / "manifest.json") if path.is_dir() else None
    if prints:
        digest.update(json.dumps(prints, sort_keys=True).encode())
        return digest.hexdigest()[:16]
    for file in files:
        digest.update(file.name.encode())
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _manifest_fingerprints(manifest: Path) -> dict | None:
    if not manifest.exists():
        return None
    data = layout.read_manifest(manifest.parent)
    return data.get("fingerprints") or data.get("output_fingerprints")


def check_labelled(samples: list[Sample]) -> None:
    """Risk samples need a yes/no ``output``; raise a one-line error naming the sample otherwise."""
    for s in samples:
        if s.task_type == RISK_PREDICTION and not is_risk_label(s.output):
            raise EhrR1Error(f"task {s.task!r} sample {s.idx!r}: risk output must be 'yes' or 'no', got {s.output!r}")

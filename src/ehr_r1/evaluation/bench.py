# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Read EHR-Bench samples from an ``ehr-r1 build-bench`` folder or from the released JSONL files.

Accepted ``--bench`` values:

- a ``build-bench`` output folder: ``data/<task_type>/<task>/*.parquet`` (+ ``manifest.json`` with ``fingerprints``);
- any folder of parquet files with the bench columns (EHR-Ins folders for ``--train``: every ``*.parquet`` below it);
- a released JSONL file (``ehr_bench_decision_making.jsonl`` / ``ehr_bench_risk_prediction.jsonl``), or a folder
  holding them. Their ``task_info`` may lack ``task`` / ``task_type``: the task comes from ``task_info["event"]`` (or
  ``target_key``) and the type from the candidates (``["yes", "no"]``) or an AUROC-like metric.
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION, TASK_TYPES


logger = logging.getLogger(__name__)

REQUIRED = ("idx", "instruction", "input", "output")
RELEASED_FILES = ("ehr_bench_decision_making.jsonl", "ehr_bench_risk_prediction.jsonl")
_RISK_METRICS = {"auroc", "auc", "roc_auc", "auprc", "risk"}


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
            pos = [s for s in rows if s.output.strip().lower() == "yes"]
            neg = [s for s in rows if s.output.strip().lower() != "yes"]
            rows = [s for pair in zip_longest(pos, neg) for s in pair if s is not None]
        keep.update(id(s) for s in rows[:limit])
    return [s for s in samples if id(s) in keep]


def _bench_files(path: Path) -> list[Path]:
    if path.is_file():
        if path.suffix not in (".jsonl", ".parquet"):
            raise InputError(path, "unsupported bench file (expected .jsonl or .parquet)")
        return [path]
    if (path / "data").is_dir():  # build-bench / build-ins layout; data/{sft,grpo,...} hold TRL configs, not samples
        files = sorted(f for kind in TASK_TYPES for f in (path / "data" / kind).glob("*/*.parquet"))
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
    return [_sample(row, file) for row in table.to_pylist()]


def _read_jsonl(file: Path) -> list[Sample]:
    samples = []
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
            samples.append(_sample(row, f"{file}:{lineno}"))
    return samples


def _sample(row: dict, where: object) -> Sample:
    missing = [c for c in REQUIRED if row.get(c) is None]
    if missing:
        raise InputError(where, "missing field", column=missing[0])
    info = row.get("task_info") or {}
    if isinstance(info, str):
        info = json.loads(info) if info.strip().startswith("{") else {}
    candidates = [str(c) for c in (row.get("candidates") or [])]
    output = row["output"]
    output = "\n".join(map(str, output)) if isinstance(output, list) else str(output)
    task = row.get("task") or info.get("task") or _task_from_info(info)
    if not task:
        raise InputError(where, "cannot tell the task (no 'task' and no task_info event/target_key)", column="task")
    return Sample(
        idx=str(row["idx"]),
        task=str(task),
        task_type=_task_type(row, info, candidates),
        instruction=str(row["instruction"]),
        input=str(row["input"]),
        output=output,
        candidates=candidates,
    )


def _task_from_info(info: dict) -> str | None:
    event = info.get("event") or info.get("events") or info.get("target_key")
    if isinstance(event, list):
        event = event[0] if event else None
    return str(event) if event else None


def _task_type(row: dict, info: dict, candidates: list[str]) -> str:
    kind = row.get("task_type") or info.get("task_type")
    if kind in (DECISION_MAKING, RISK_PREDICTION):
        return kind
    metric = str(info.get("metric") or "").lower()
    if sorted(c.strip().lower() for c in candidates) == ["no", "yes"] or metric in _RISK_METRICS:
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
    try:
        data = json.loads(manifest.read_text())
    except json.JSONDecodeError as err:
        raise InputError(manifest, f"malformed manifest: {err.msg}") from None
    if not isinstance(data, dict):
        raise InputError(manifest, "malformed manifest: expected a JSON object")
    return data.get("fingerprints") or data.get("output_fingerprints")


def check_labelled(samples: list[Sample]) -> None:
    """Risk samples need a yes/no ``output``; raise a one-line error naming the sample otherwise."""
    for s in samples:
        if s.task_type == RISK_PREDICTION and s.output.strip().lower() not in ("yes", "no"):
            raise EhrR1Error(f"task {s.task!r} sample {s.idx!r}: risk output must be 'yes' or 'no', got {s.output!r}")

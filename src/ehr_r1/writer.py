# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Write a built dataset folder's data files (``ehr_r1.layout``): per-task parquet, derived configs, released JSONL."""

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ehr_r1 import layout, prompting
from ehr_r1.prompting import TASK_TYPES


def _write(frame: pl.DataFrame, path: Path) -> str:
    """Parquet with small row groups (long EHR texts; streaming readers load one group at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(frame.to_arrow(), path, compression="zstd", row_group_size=1024, write_statistics=False)
    return str(path)


def counts(rows: pl.DataFrame) -> dict[str, int]:
    return dict(sorted(rows.group_by("task").len().iter_rows()))


def released_jsonl(rows: pl.DataFrame, path: Path) -> None:
    """The released EHR-Bench JSONL layout (no subject_id / hadm_id), with the reference's ``task_info`` keys and
    metric names so that its own scorer reads our files."""
    with path.open("w", encoding="utf-8") as f:
        for r in rows.iter_rows(named=True):
            info = r["task_info"]
            risk = r["task_type"] == prompting.RISK_PREDICTION
            label = info["labels"][0] if risk else info["labels"]
            record = {
                "idx": r["idx"],
                "instruction": r["instruction"],
                "input": r["input"],
                "output": r["output"],
                "candidates": r["candidates"],
                "task_info": {
                    "target_key": info["target_key"],
                    "event": info["event"],
                    "metric": info["metric"],
                    "bid_event": info["bid_event"],
                    "task_type": r["task_type"],
                    "instruction": r["instruction"],
                    "task": r["task"],
                    "target": label if risk else json.dumps(label),
                    "label": label,
                },
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_samples(folder: Path, rows: pl.DataFrame, dataset: str, split: str, jsonl: bool) -> list[dict]:
    """Per-task parquet (and the released JSONL); returns their card ``configs:`` entries."""
    configs: list[dict] = []
    for task_type in TASK_TYPES:
        part = rows.filter(pl.col("task_type") == task_type)
        if part.is_empty():
            continue
        configs.append(layout.config_entry(task_type, split, task_type=task_type))
        for (task,), group in part.group_by("task", maintain_order=True):
            _write(group, folder / layout.task_file(task_type, task, split))
            configs.append(layout.config_entry(task, split, task_type=task_type, task=task))
        if jsonl:
            released_jsonl(part, folder / layout.released_jsonl_name(dataset, task_type))
    return configs


def write_configs(folder: Path, frames: dict[str, pl.DataFrame], split: str) -> list[dict]:
    """Derived configs (TRL formats, CPT); returns their card ``configs:`` entries."""
    for name, frame in frames.items():
        _write(frame, folder / layout.config_file(name, split))
    return [layout.config_entry(name, split) for name in frames]

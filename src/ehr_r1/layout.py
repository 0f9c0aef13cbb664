# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The built-dataset layout, in one place: paths, config names, card front matter and manifest.

A folder written by ``build-bench`` / ``build-ins`` (and read by evaluation, training, the Hub push and the tests)::

    README.md                                   dataset card: YAML front matter (``configs:``, licence, gate) + text
    manifest.json                               counts, split, fingerprints, checks
    data/<task_type>/<task>/<split>-00000-of-00001.parquet   samples (task_type: decision_making | risk_prediction)
    data/<config>/<split>-00000-of-00001.parquet             derived configs: sft, reasoning, grpo, cpt
    ehr_<bench|ins>_<task_type>.jsonl           (optional) the released EHR-Bench JSONL layout

``datasets.load_dataset(folder, name)`` reads it offline through the card's ``configs:``.
"""

import json
from pathlib import Path

import yaml

from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.prompting import TASK_TYPES


DATA_DIR, CARD, MANIFEST = "data", "README.md", "manifest.json"
CPT_CONFIG = "cpt"


def shard_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def task_file(task_type: str, task: str, split: str) -> str:
    """Relative path of one task's samples."""
    return f"{DATA_DIR}/{task_type}/{task}/{shard_name(split)}"


def config_file(name: str, split: str) -> str:
    """Relative path of a derived config (``sft``, ``reasoning``, ``grpo``, ``cpt``)."""
    return f"{DATA_DIR}/{name}/{shard_name(split)}"


def config_entry(name: str, split: str, task_type: str | None = None, task: str | None = None) -> dict:
    """One ``configs:`` entry of the card: a task type (all its tasks), one task, or a derived config."""
    if task is not None:
        pattern = f"{DATA_DIR}/{task_type}/{task}/{split}-*.parquet"
    elif task_type is not None:
        pattern = f"{DATA_DIR}/{task_type}/*/{split}-*.parquet"
    else:
        pattern = f"{DATA_DIR}/{name}/{split}-*.parquet"
    return {"config_name": name, "data_files": [{"split": split, "path": pattern}]}


def released_jsonl_name(dataset: str, task_type: str) -> str:
    return f"{dataset.replace('-', '_')}_{task_type}.jsonl"


def sample_files(folder: str | Path) -> list[Path]:
    """Every samples parquet of a built folder (task-type folders only, not the derived configs), sorted."""
    root = Path(folder) / DATA_DIR
    return sorted(f for kind in TASK_TYPES for f in (root / kind).glob("*/*.parquet"))


def config_files(folder: str | Path, name: str) -> list[Path]:
    """The parquet files of a derived config (``sft``, ``reasoning``, ``grpo``, ``cpt``) of a built folder."""
    return sorted((Path(folder) / DATA_DIR / name).glob("*.parquet"))


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(YAML front matter or None, body) of a Markdown card; the front matter sits between two ``---`` lines."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return None, text
    return text[4 : end + 1], text[end + 5 :]


def card_text(meta: dict, body: str) -> str:
    """A card: ``meta`` as YAML front matter between ``---`` lines, then the Markdown ``body``."""
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, width=119) + "---\n" + body


def read_card_metadata(path: str | Path) -> dict:
    """The YAML front matter of a card (a ``README.md`` file or a folder holding one); ``{}`` when it has none."""
    path = Path(path)
    card = path / CARD if path.is_dir() else path
    if not card.is_file():
        raise InputError(card, "dataset card not found")
    front, _ = split_front_matter(card.read_text(encoding="utf-8"))
    try:
        meta = yaml.safe_load(front) if front else {}
    except yaml.YAMLError as err:
        raise InputError(card, f"malformed YAML front matter: {str(err).splitlines()[0]}") from None
    if not isinstance(meta, dict | None):
        raise InputError(card, "front matter is not a YAML mapping")
    return meta or {}


def read_manifest(folder: str | Path) -> dict:
    """``manifest.json`` of a built folder, with a one-line error when it is missing or malformed."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise EhrR1Error(f"{folder}: not a built dataset ({MANIFEST} not found)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(path, f"malformed manifest: {err.msg}") from None
    if not isinstance(data, dict):
        raise InputError(path, "malformed manifest: expected a JSON object")
    return data

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Where a built dataset or a trained model comes from: verified, never read off a tag.

A build counts as synthetic only when every input file it read matches the fingerprint that ``ehr-r1 synth-mimic``
recorded for the files it wrote (``synthetic_mimic.json``, ``file_fingerprints``); the builder stores those fingerprints
in its manifest (``synthetic_inputs``) and push checks them against the manifest's own ``input_fingerprints`` and the
data files against ``output_fingerprints``. Anything else (no record, an empty or edited record, an edited table, a card
tagged ``synthetic``) is MIMIC-derived. A model is synthetic only when its training record (``ehr_r1_training.json``)
names local datasets that verify as synthetic and a base model that is itself synthetic or untrained.
"""

import hashlib
import json
import logging
from pathlib import Path

from ehr_r1 import layout
from ehr_r1.io import SYNTH_RECORD
from ehr_r1.manifest import file_sha256, quick_fingerprint


logger = logging.getLogger(__name__)

TRAINING_RECORD = "ehr_r1_training.json"  # written beside a checkpoint by ehr_r1.model_card.ModelCardCallback
TRAINING_EVIDENCE = ("training_args.bin", "trainer_state.json", TRAINING_RECORD)
UNTRAINED_COMMANDS = ("tiny-model",)  # manifest commands that write randomly initialised models


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def synthetic_inputs(mimic_dir: Path, files: dict[str, Path]) -> dict | None:
    """At build time: the generator record's fingerprints of the input ``files`` when each file matches them, else
    None (no record, a record without fingerprints, a file it did not write or one edited since)."""
    record = _read_json(Path(mimic_dir) / SYNTH_RECORD) or {}
    written = record.get("file_fingerprints")
    if not files or not isinstance(written, dict) or record.get("synthetic") is not True:
        return None
    root = Path(mimic_dir).resolve()
    matched = {}
    for path in sorted(Path(p) for p in files.values()):
        try:
            rel = str(path.resolve().relative_to(root))
        except ValueError:
            return None
        if written.get(rel) != quick_fingerprint(path):
            logger.info("%s: not written by synth-mimic (or edited since): the build counts as MIMIC-derived", path)
            return None
        matched[rel] = written[rel]
    return matched


def is_verified_synthetic(manifest: dict) -> bool:
    """A built folder's manifest: synthetic only if the generator's fingerprints match every input it fingerprinted."""
    inputs, synthetic = manifest.get("input_fingerprints"), manifest.get("synthetic_inputs")
    return isinstance(inputs, dict) and bool(inputs) and isinstance(synthetic, dict) and inputs == synthetic


def outputs_match(folder: Path, manifest: dict) -> bool:
    """Whether the folder's data files are exactly those its manifest fingerprinted (the manifest belongs to them)."""
    recorded = manifest.get("output_fingerprints")
    if not isinstance(recorded, dict) or not recorded:
        return False
    present = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".jsonl") and not any(part.startswith(".") for part in p.parts)
    }
    return present == set(recorded) and all(file_sha256(folder / rel) == sha for rel, sha in recorded.items())


def dataset_is_synthetic(folder: str | Path) -> bool:
    """A built dataset folder is synthetic when its manifest verifies and its data files are the manifest's."""
    folder = Path(folder)
    manifest = _read_json(folder / layout.MANIFEST)
    return manifest is not None and is_verified_synthetic(manifest) and outputs_match(folder, manifest)


def dataset_fingerprint(folder: str | Path) -> str | None:
    """The fingerprint of a built dataset, as ``ehr-r1 eval`` reports a bench's (``bench.fingerprint`` in
    results.json): the first 16 hex digits of sha256 of the manifest's ``output_fingerprints``; None without one."""
    manifest = _read_json(Path(folder) / layout.MANIFEST) or {}
    prints = manifest.get("fingerprints") or manifest.get("output_fingerprints")
    if not isinstance(prints, dict) or not prints:
        return None
    return hashlib.sha256(json.dumps(prints, sort_keys=True).encode()).hexdigest()[:16]


def _datasets(record: dict) -> list[str]:
    value = record.get("dataset") or record.get("datasets") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _base_model(folder: Path, record: dict) -> str | None:
    adapter = _read_json(folder / "adapter_config.json") or {}
    return record.get("base_model") or adapter.get("base_model_name_or_path")


def model_provenance(folder: Path, _seen: frozenset = frozenset()) -> dict:
    """``{"derived": bool, "datasets": [...], "reason": str}`` of a checkpoint folder.

    Not derived only when: the folder was written by an untrained-model command (``tiny-model``) and holds no
    training files; or its training record says ``derived_from_mimic: false``, every dataset it names is a local
    folder that verifies as synthetic (with the recorded ``dataset_fingerprint`` when given), and its base model is
    not derived (a local folder is checked the same way; a Hub id is the upstream model, not trained here).
    """
    folder = Path(folder).resolve()
    record = _read_json(folder / TRAINING_RECORD)
    manifest = _read_json(folder / layout.MANIFEST) or {}
    trained = any((folder / name).exists() for name in TRAINING_EVIDENCE)
    if record is None:
        if not trained and manifest.get("command") in UNTRAINED_COMMANDS:
            return {"derived": False, "datasets": [], "reason": f"untrained model (ehr-r1 {manifest['command']})"}
        return {"derived": True, "datasets": [], "reason": f"no {TRAINING_RECORD}: training data unknown"}
    datasets = _datasets(record)
    derived = _derived_reason(record, datasets)
    if derived is None:
        derived = _base_reason(folder, record, _seen | {folder})
    return {
        "derived": derived is not None,
        "datasets": datasets,
        "reason": derived or "trained on verified synthetic data",
    }


def _derived_reason(record: dict, datasets: list[str]) -> str | None:
    if record.get("derived_from_mimic") is not False:
        return f"{TRAINING_RECORD} does not say derived_from_mimic: false"
    if not datasets:
        return f"{TRAINING_RECORD} names no dataset"
    for name in datasets:
        if not Path(name).is_dir():
            return f"training dataset {name} is not a local folder that can be verified"
        if not dataset_is_synthetic(name):
            return f"training dataset {name} is not verified synthetic"
    expected = record.get("dataset_fingerprint")
    if expected and len(datasets) == 1 and expected != dataset_fingerprint(datasets[0]):
        return f"training dataset {datasets[0]} changed since training (fingerprint differs)"
    return None


def _looks_like_path(name: str | None) -> bool:
    """A base model name that can only be a folder (absolute, ``./``, ``~``, or more than ``org/name``)."""
    return bool(name) and (name.startswith(("/", ".", "~")) or name.count("/") > 1)


def _base_reason(folder: Path, record: dict, seen: frozenset) -> str | None:
    base = _base_model(folder, record)
    if record.get("base_derived"):
        return f"base model {base} was derived from real patient data when this stage was trained"
    if not base or not Path(base).is_dir():
        if record.get("base_local") or record.get("base_local") is None and record and _looks_like_path(base):
            return f"base model {base} was a local folder at training time and cannot be verified now"
        return None  # a Hub id at training time: the upstream base model
    base_dir = Path(base).resolve()
    if base_dir in seen:
        return f"base model {base} is part of a loop of training records"
    upstream = model_provenance(base_dir, seen)
    return f"base model {base}: {upstream['reason']}" if upstream["derived"] else None

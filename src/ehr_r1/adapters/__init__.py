# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""External benchmarks → EHR-Bench-layout folders that ``ehr-r1 eval`` scores (``docs/adapters.md``).

- ``ehr_r1.adapters.ehrshot``: EHRSHOT's 14 binary tasks (EHR-R1's selection) from its MEDS release and labels;
- ``ehr_r1.adapters.cdm``: MIMIC-IV-Ext-CDM (Hager et al. 2024), one diagnosis task per pathology, scored by the
  ``cdm_diagnosis`` metric (``ehr_r1.evaluation.cdm``).

Both read the user's own credentialed copy and write a folder in the ``ehr_r1.layout`` layout (``data/<task_type>/
<task>/test-00000-of-00001.parquet``, a card and ``manifest.json``) that stays on the user's machine: it is derived
from credentialed data, and its card says so.
"""

import json
from pathlib import Path

import numpy as np
import polars as pl

from ehr_r1 import __version__, layout, writer
from ehr_r1.manifest import fingerprint_outputs, quick_fingerprint
from ehr_r1.rows import ROW_SCHEMA
from ehr_r1.sampling import splitmix64


SPLIT = "test"
_IDX_SEED = 0xADA97  # fixed: sample ids never depend on a run's settings


def sample_ids(task: pl.Series, key: np.ndarray) -> pl.Series:
    """``<task>-<16 hex digits>`` ids from a keyed hash of one integer key per sample (no raw patient ids)."""
    hashes = [f"{h:016x}" for h in splitmix64(key.astype(np.int64), _IDX_SEED)]
    return pl.Series([f"{t}-{h}" for t, h in zip(task, hashes, strict=True)], dtype=pl.String)


def _card(name: str, source: str, configs: list[dict], rows: pl.DataFrame) -> str:
    meta = {
        "license": "other",
        "tags": ["ehr", "ehr-r1", "derived-from-credentialed-data"],
        "configs": configs,
        "extra_gated_prompt": f"Derived from {source}: credentialed data. Do not share this folder.",
    }
    tasks = "\n".join(f"| {t} | {n} |" for t, n in writer.counts(rows).items())
    body = (
        f"# {name}\n\nEHR-Bench-layout copy of **{source}** made by `ehr-r1` on the user's own credentialed copy "
        "(see docs/adapters.md). It is derived from credentialed data: keep it where that data may be.\n\n"
        f"Score it with `ehr-r1 eval --bench <this folder> ...`.\n\n| task | samples |\n|---|---:|\n{tasks}\n"
    )
    return layout.card_text(meta, body)


def write_bench(folder: Path, rows: pl.DataFrame, *, name: str, source: str, command: str, inputs: list[Path],
                extra: dict | None = None) -> dict:  # fmt: skip
    """Samples (``ehr_r1.rows.ROW_SCHEMA``), card and manifest of an adapted benchmark in ``folder``."""
    rows = rows.select(list(ROW_SCHEMA)).cast(ROW_SCHEMA).sort("task", "idx")
    configs = writer.write_samples(folder, rows, name, SPLIT, jsonl=False)
    configs[0]["default"] = True
    (folder / layout.CARD).write_text(_card(name, source, configs, rows))
    manifest = {
        "command": command,
        "dataset": name,
        "split": SPLIT,
        "package_version": __version__,
        "derived_from": source,
        "counts": writer.counts(rows),
        "input_fingerprints": {str(p): quick_fingerprint(p) for p in sorted(inputs)},
        "output_fingerprints": fingerprint_outputs(folder),
        **(extra or {}),
    }
    (folder / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Patient-disjointness guards of EHR-Bench and EHR-Ins: the seeded split is checked on every row written, and
``--check-disjoint`` checks a built folder's patients against this build's."""

from pathlib import Path

import polars as pl

from ehr_r1 import layout
from ehr_r1.errors import EhrR1Error
from ehr_r1.sampling import in_test_split


def check_split(subjects: pl.Series, split: str, seed: int, test_fraction: float) -> None:
    """Every patient must be on this dataset's side of the seeded split (a guard against leakage bugs)."""
    test = in_test_split(subjects.to_numpy(), seed, test_fraction)
    wrong = int((~test).sum() if split == "test" else test.sum())
    if wrong:
        raise EhrR1Error(f"internal error: {wrong} samples come from patients outside the {split} split")


def subject_ids(folder: str | Path) -> set[int]:
    """Every ``subject_id`` of a built folder's samples."""
    files = layout.sample_files(folder)
    if not files:
        raise EhrR1Error(f"{folder}: no built dataset found (expected data/<task_type>/<task>/*.parquet)")
    return set(pl.concat([pl.read_parquet(f, columns=["subject_id"]) for f in files])["subject_id"].to_list())


def disjointness(subjects: pl.Series, seed: int, test_fraction: float, check_against: str | None) -> dict:
    """How patient disjointness from the other dataset is guaranteed, and the result of an explicit check."""
    out = {
        "method": "seeded patient-level hash split",
        "split_verified": True,
        "seed": seed,
        "test_fraction": test_fraction,
    }
    if check_against:
        overlap = set(subjects.to_list()) & subject_ids(check_against)
        if overlap:
            raise EhrR1Error(f"{check_against}: shares {len(overlap)} patients with this build (same seed?)")
        out.update(checked_against=Path(check_against).name, overlap=0)
    return out


def check_split_settings(other: str, split: str, seed: int, test_fraction: float) -> None:
    """Before a build: refuse when the dataset in ``other`` was split so that this build would share its patients
    (another seed or test fraction, or the same side of the split)."""
    manifest = layout.read_manifest(other)
    theirs = manifest.get("disjointness") or {}
    their_split, their_seed = manifest.get("split"), theirs.get("seed", manifest.get("seed"))
    their_fraction = theirs.get("test_fraction", manifest.get("test_fraction"))
    if their_split == split:
        raise EhrR1Error(f"{other}: holds {split}-split patients too; --check-disjoint needs the other dataset")
    if (their_seed, their_fraction) != (seed, test_fraction):
        raise EhrR1Error(
            f"{other}: split with seed {their_seed} and test fraction {their_fraction}; this build (seed {seed}, "
            f"test fraction {test_fraction}) would share patients with it: use the same --seed and sampling config"
        )

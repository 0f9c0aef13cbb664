# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Fingerprints recorded in ``manifest.json``: what went in and what came out of a build."""

import hashlib
from pathlib import Path


_PROBE = 1 << 20  # bytes hashed at each end of an input file


def quick_fingerprint(path: Path) -> str:
    """sha256 of (size, first MiB, last MiB): cheap on 10 GB inputs, changes with any edit of length or ends."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(_PROBE))
        if size > _PROBE:
            f.seek(max(_PROBE, size - _PROBE))
            digest.update(f.read(_PROBE))
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_inputs(files: dict[str, Path], root: Path) -> dict[str, str]:
    """``quick_fingerprint`` of each input file, keyed by its path relative to the source ``root``."""
    names = {Path(p).relative_to(root).as_posix(): Path(p) for p in files.values()}
    return {name: quick_fingerprint(names[name]) for name in sorted(names)}


def fingerprint_outputs(folder: Path) -> dict[str, str]:
    """Full sha256 of every data file (parquet, jsonl) under ``folder``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".parquet", ".jsonl"))
    return {str(p.relative_to(folder)): file_sha256(p) for p in files if ".work" not in p.parts}

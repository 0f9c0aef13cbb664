# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``predictions.jsonl``: one line per finished sample, appended and fsync'ed per batch, so a kill loses nothing.

A failed sample (no answer: timeout, broken response) is stored with ``error`` (its reason) and ``failed_runs``;
later runs retry it a bounded number of times.
"""

import json
import logging
import os
from pathlib import Path

from ehr_r1.errors import EhrR1Error


logger = logging.getLogger(__name__)


class PredictionStore:
    """Append-only predictions; the last line of a sample wins. A torn last line (killed mid-write) is dropped."""

    def __init__(self, path: str | Path, reset: bool = False):
        self.path = Path(path)
        self.records: dict[str, dict] = {}
        if reset and self.path.exists():
            self.path.unlink()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        complete, torn = (lines[:-1], lines[-1]) if lines else ([], b"")
        for lineno, line in enumerate(complete, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise EhrR1Error(f"{self.path}:{lineno}: malformed prediction line; fix or delete it") from None
            self.records[key(record)] = record
        if torn.strip():
            logger.warning("%s: dropping an unfinished last line (interrupted write)", self.path)
            with open(self.path, "r+b") as f:
                f.truncate(len(raw) - len(torn))
        logger.info("%s: %d cached predictions", self.path, len(self.records))

    def done(self, sample_key: str, retry_failed: int = 0) -> bool:
        """Whether a re-run skips the sample: it has an answer, or it has failed in ``1 + retry_failed`` runs already."""
        record = self.records.get(sample_key)
        if record is None:
            return False
        return not record.get("error") or record.get("failed_runs", 1) > retry_failed

    def failed_runs(self, sample_key: str) -> int:
        """How many runs in a row this sample has failed (0 if it has an answer or was never run)."""
        record = self.records.get(sample_key) or {}
        return record.get("failed_runs", 1) if record.get("error") else 0

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            f.flush()
            os.fsync(f.fileno())
        for record in records:
            self.records[key(record)] = record


def key(record: dict) -> str:
    return f"{record['task']}/{record['idx']}"

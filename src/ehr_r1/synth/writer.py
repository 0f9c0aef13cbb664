# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Generate the chunks and write them: the dictionary tables, reproducible CSV / gzip sinks, the ATC index and
:func:`write_synthetic_mimic`, which writes a whole folder atomically, formatting and compressing tables in
parallel."""

import concurrent.futures
import dataclasses
import gzip
import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from ehr_r1 import __version__
from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir
from ehr_r1.manifest import quick_fingerprint
from ehr_r1.synth import config, vocab
from ehr_r1.synth.chunk import _Chunk
from ehr_r1.synth.config import DATETIME_FORMAT, MANIFEST, TABLES, SynthConfig
from ehr_r1.synth.population import _Ids, _pools


logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------------ dictionaries


def _dictionaries(providers: pl.Series, caregivers: pl.Series) -> dict[str, pl.DataFrame]:
    labs, dx, px = vocab.table("labs"), vocab.table("diagnoses"), vocab.table("procedures")
    return {
        "hosp/provider": providers.to_frame(),
        "hosp/d_labitems": labs.select(TABLES["hosp/d_labitems"]),
        "hosp/d_icd_diagnoses": dx.select(TABLES["hosp/d_icd_diagnoses"]),
        "hosp/d_icd_procedures": px.select(TABLES["hosp/d_icd_procedures"]),
        "hosp/d_hcpcs": vocab.table("hcpcs").select(TABLES["hosp/d_hcpcs"]),
        "icu/d_items": vocab.table("icu_items").select(TABLES["icu/d_items"]),
        "icu/caregiver": caregivers.to_frame(),
    }


# ------------------------------------------------------------------------------------------------------------ writer


class _CsvSink:
    """One output table, appended chunk by chunk; gzip with a fixed header (no name, mtime 0) so output is
    byte-for-byte reproducible."""

    def __init__(self, path: Path, columns: tuple[str, ...], compresslevel: int | None):
        self.path, self.columns, self.rows = path, columns, 0
        self._raw = open(path, "wb")  # noqa: SIM115
        self._out = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=compresslevel)
            if compresslevel
            else self._raw
        )
        self._header = True

    def write(self, df: pl.DataFrame):
        if list(df.columns) != list(self.columns):
            df = df.select(self.columns)
        buf = io.BytesIO()
        df.write_csv(buf, include_header=self._header, datetime_format=DATETIME_FORMAT, date_format="%Y-%m-%d")
        self._out.write(buf.getvalue())
        self._header = False
        self.rows += df.height

    def close(self):
        if self._header:  # a table with no rows still gets its header, as MIMIC's empty tables do
            self.write(pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String)))
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def _parts(cfg: SynthConfig) -> Iterator[list[tuple[str, pl.DataFrame]]]:
    """The ``(module/table, frame)`` pairs of each chunk of patients, chunk by chunk, then the dictionary tables."""
    ids = _Ids()
    providers, caregivers = _pools(cfg.seed)
    chunk_patients = config.CHUNK_PATIENTS  # read at call time (not imported) so that tests can shrink the chunks
    for index, first in enumerate(range(0, cfg.patients, chunk_patients)):
        chunk = _Chunk(cfg, index, min(chunk_patients, cfg.patients - first), ids, providers, caregivers)
        yield list(chunk.tables())
    yield [
        (name, df) for name, df in _dictionaries(providers, caregivers).items() if name.split("/")[0] in cfg.modules
    ]


def generate(cfg: SynthConfig) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yield ``(module/table, frame)`` for every chunk, then the dictionary tables. Tables repeat across chunks."""
    for part in _parts(cfg):
        yield from part


def generate_tables(cfg: SynthConfig) -> dict[str, pl.DataFrame]:
    """All tables in memory (for tests and small configs): ``{"hosp/admissions": frame, ...}``."""
    parts: dict[str, list[pl.DataFrame]] = {}
    for name, df in generate(cfg):
        parts.setdefault(name, []).append(df.select(TABLES[name]))
    return {name: pl.concat(frames) for name, frames in parts.items()}


def _write_atc_index(folder: Path) -> None:
    """NDC → drug class for the generator's drugs, in the reference's ``d_atc_prescriptions.csv`` layout."""
    drugs = (
        vocab.table("drugs")
        .select("drug", "ndc")
        .with_columns(atc_name=pl.col("drug").replace_strict(vocab.DRUG_CLASSES))
    )
    home = vocab.table("home_meds").select(ndc="ndc", atc_name=pl.col("etcdescription"))
    table = pl.concat([drugs.select("ndc", "atc_name"), home]).unique("ndc", keep="first").sort("ndc")
    folder.mkdir()
    table.rename({"ndc": "ndc_code"}).write_csv(folder / "d_atc_prescriptions.csv")


def write_synthetic_mimic(
    out_dir: str | os.PathLike,
    cfg: SynthConfig = SynthConfig(),  # noqa: B008 (a frozen dataclass, safe to share as a default)
    compression: str = "gzip",
    compresslevel: int = 1,
    overwrite: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic MIMIC-IV folder (``hosp/``, ``icu/``, ``ed/``, ``note/``) and return rows per table.

    Args:
        out_dir: the folder to create; it appears whole or not at all.
        cfg: what to generate.
        compression: ``"gzip"`` writes ``<table>.csv.gz`` as PhysioNet does; ``"none"`` writes plain ``<table>.csv``.
        compresslevel: gzip level 1-9; 1 (the default) compresses about three times faster than 6, files about 35 % larger.
        overwrite: replace an existing ``out_dir``; otherwise an existing folder is an error.
        workers: threads that format and compress tables in parallel (default: up to 8, one per CPU).
        progress: called as ``progress(chunks_done, chunks_total)``.
    """
    if compression not in ("gzip", "none"):
        raise EhrR1Error(f"compression must be 'gzip' or 'none', got {compression!r}")
    if not 1 <= compresslevel <= 9:
        raise EhrR1Error(f"compresslevel must be 1-9, got {compresslevel}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise EhrR1Error(f"{out}: already exists (pass overwrite=True / --overwrite to replace it)")
    suffix = ".csv.gz" if compression == "gzip" else ".csv"
    workers = workers or min(8, os.cpu_count() or 1)
    n_chunks = -(-cfg.patients // config.CHUNK_PATIENTS)
    with (
        atomic_output_dir(out, overwrite, command="synth-mimic") as tmp,
        concurrent.futures.ThreadPoolExecutor(workers) as pool,
    ):
        for m in cfg.modules:
            (tmp / m).mkdir()
        _write_atc_index(tmp / "index_mapping")
        sinks = {
            t: _CsvSink(tmp / f"{t}{suffix}", TABLES[t], compresslevel if compression == "gzip" else None)
            for t in cfg.tables()
        }
        try:
            pending: dict[str, concurrent.futures.Future] = {}
            for done, part in enumerate(_parts(cfg)):
                if progress and done:
                    progress(done, n_chunks)
                for name, df in part:
                    # One write in flight per table keeps each file's chunks in order; tables compress in parallel
                    # with each other and with the generation of the next chunk.
                    if name in pending:
                        pending[name].result()
                    pending[name] = pool.submit(sinks[name].write, df)
            for f in pending.values():
                f.result()
        finally:
            for sink in sinks.values():
                sink.close()
        rows = {t: s.rows for t, s in sinks.items()}
        written = {f"{t}{suffix}": quick_fingerprint(tmp / f"{t}{suffix}") for t in sinks}  # ehr_r1.provenance
        manifest = {
            "generator": f"ehr-r1 {__version__} synth-mimic",
            "synthetic": True,
            "config": dataclasses.asdict(cfg),
            "compression": compression,
            "layout": "MIMIC-IV v2.2 hosp/icu, MIMIC-IV-ED v2.2, MIMIC-IV-Note v2.2",
            "rows": rows,
            "file_fingerprints": written,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return rows

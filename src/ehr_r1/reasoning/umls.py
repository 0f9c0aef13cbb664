# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Optional UMLS knowledge from the user's own licensed Metathesaurus files (``--umls-dir``).

Reads ``MRCONSO.RRF`` (concept names) and ``MRREL.RRF`` (relations), pipe-delimited without header, as distributed
by the NLM. Nodes are each concept's preferred English name; English synonyms link to it with ``synonym`` edges so
that EHR terms match; relations keep the reference's filter (RELA present, not in ``EXCLUDED_RELA``). The inverse of
each RELA (``isa`` ↔ ``inverse_isa``) is read off the paired MRREL rows, for the relation-then-inverse rule.
Nothing from these files is copied into an output folder except the relation paths of the samples.
"""

import logging
from pathlib import Path

import polars as pl

from ehr_r1.errors import InputError


logger = logging.getLogger(__name__)
EXCLUDED_RELA = (
    "subset includes concept",
    "concept in subset",
    "Has contraindicated drug",
    "Contraindicated with disease",
)
MRCONSO_COLUMNS = ("CUI", "LAT", "TS", "LUI", "STT", "SUI", "ISPREF", "AUI", "SAUI", "SCUI", "SDUI", "SAB", "TTY",
                   "CODE", "STR", "SRL", "SUPPRESS", "CVF")  # fmt: skip
MRREL_COLUMNS = ("CUI1", "AUI1", "STYPE1", "REL", "CUI2", "AUI2", "STYPE2", "RELA", "RUI", "SRUI", "SAB", "SL", "RG",
                 "DIR", "SUPPRESS", "CVF")  # fmt: skip
MAX_SYNONYM_CHARS = 80


def _read_rrf(path: Path, columns: tuple[str, ...], keep: list[str]) -> pl.DataFrame:
    frame = pl.scan_csv(
        path, separator="|", has_header=False, quote_char=None, infer_schema=False,
        new_columns=[*columns, "_end"], truncate_ragged_lines=True,
    )  # fmt: skip
    try:
        return frame.select(keep).collect()
    except pl.exceptions.PolarsError as err:
        raise InputError(path, f"not a UMLS RRF file ({type(err).__name__})") from None


def umls_files(umls_dir: str | Path) -> tuple[Path, Path]:
    """``MRCONSO.RRF`` and ``MRREL.RRF`` of ``umls_dir``; a one-line error naming a missing one."""
    paths = Path(umls_dir) / "MRCONSO.RRF", Path(umls_dir) / "MRREL.RRF"
    for path in paths:
        if not path.is_file():
            raise InputError(path, "UMLS file not found (--umls-dir must hold MRCONSO.RRF and MRREL.RRF)")
    return paths


def umls_edges(umls_dir: str | Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """(edges ``src, rel, dst, source``, RELA → inverse RELA) from ``MRCONSO.RRF`` and ``MRREL.RRF``."""
    conso_path, rel_path = umls_files(umls_dir)
    conso = _read_rrf(conso_path, MRCONSO_COLUMNS, ["CUI", "LAT", "TS", "STT", "ISPREF", "STR", "SUPPRESS"])
    conso = conso.filter((pl.col("LAT") == "ENG") & (pl.col("SUPPRESS").fill_null("N") == "N"))
    preference = (
        (pl.col("TS") == "P").cast(pl.Int8) * 4 + (pl.col("STT") == "PF").cast(pl.Int8) * 2
        + (pl.col("ISPREF") == "Y").cast(pl.Int8)
    )  # fmt: skip
    ranked = conso.with_columns(_p=preference).sort(["CUI", "_p", "STR"], descending=[False, True, False])
    names = ranked.unique("CUI", keep="first", maintain_order=True).select("CUI", name="STR")
    synonyms = conso.join(names, on="CUI").filter(
        (pl.col("STR").str.to_lowercase() != pl.col("name").str.to_lowercase())
        & (pl.col("STR").str.len_chars() <= MAX_SYNONYM_CHARS)
    )
    synonym_edges = synonyms.select(src="STR", rel=pl.lit("synonym"), dst="name", source=pl.lit("umls")).unique()

    rel = _read_rrf(rel_path, MRREL_COLUMNS, ["CUI1", "CUI2", "RELA"]).drop_nulls("RELA")
    rel = rel.filter((pl.col("CUI1") != pl.col("CUI2")) & ~pl.col("RELA").is_in(EXCLUDED_RELA)).unique()
    pairs = rel.join(rel.rename({"CUI1": "CUI2", "CUI2": "CUI1", "RELA": "INV"}), on=["CUI1", "CUI2"])
    inverse_counts = pairs.filter(pl.col("RELA") != pl.col("INV")).group_by("RELA", "INV").len()
    inverse = inverse_counts.sort(["RELA", "len", "INV"], descending=[False, True, False]).unique(
        "RELA", keep="first", maintain_order=True
    )
    relation_edges = rel.join(names.rename({"CUI": "CUI1", "name": "src"}), on="CUI1").join(
        names.rename({"CUI": "CUI2", "name": "dst"}), on="CUI2"
    )
    relation_edges = relation_edges.select("src", rel="RELA", dst="dst", source=pl.lit("umls"))
    edges = pl.concat([relation_edges, synonym_edges]).unique().sort("rel", "src", "dst")
    logger.info("UMLS: %d concepts, %d relation edges, %d synonyms", names.height, relation_edges.height,
                synonym_edges.height)  # fmt: skip
    return edges, dict(inverse.select("RELA", "INV").iter_rows())

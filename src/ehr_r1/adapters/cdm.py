# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MIMIC-IV-Ext-CDM (PhysioNet ``mimic-iv-ext-cdm`` 1.1, Hager et al. 2024) → an EHR-Bench-layout folder.

Input: the release's CSV files (``.csv`` or ``.csv.gz``) in one folder, as ``ConvertPhysionet.py`` reads them:

- ``history_of_present_illness.csv`` (hadm_id, hpi), ``physical_examination.csv`` (hadm_id, pe);
- ``laboratory_tests.csv`` (hadm_id, itemid, valuestr, ref_range_lower, ref_range_upper);
- ``microbiology.csv`` (hadm_id, test_itemid, valuestr, spec_itemid) (optional);
- ``radiology_reports.csv`` (hadm_id, note_id, modality, region, exam_name, text);
- ``icd_diagnosis.csv`` (hadm_id, icd_diagnosis): the gold diagnosis titles;
- ``pathology_ids.json``: ``{"appendicitis": [hadm_id, ...], "cholecystitis": [...], ...}``;
- ``lab_test_mapping.csv`` (label, corresponding_ids) naming lab itemids (optional; ``--labitems`` a MIMIC-IV
  ``d_labitems.csv.gz`` names lab and microbiology itemids; without either the itemid is shown).

Output: one decision-making task per pathology (``cdm_<pathology>``), with EHR-R1's CDM instruction and its input
sections (``## Patient Demographics`` with history and examination, then lab, microbiology and radiology
tables). The gold ``output`` is the admission's ICD diagnosis titles; ``ehr-r1 eval`` scores it with
``cdm_diagnosis`` (``ehr_r1.evaluation.cdm``: pathology accuracy + set F1 against the titles).
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ehr_r1.adapters import sample_ids, write_bench
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.evaluation.cdm import METRIC, PATHOLOGIES, TASK_PREFIX
from ehr_r1.events import TEXT, display, format_value
from ehr_r1.io import atomic_output_dir
from ehr_r1.prompting import DECISION_MAKING
from ehr_r1.render import BLOCK_JOIN, SEPARATOR
from ehr_r1.tasks.catalogue import INSTRUCTION_PREFIX


logger = logging.getLogger(__name__)

COMMAND, DATASET = "adapt-cdm", "mimic-iv-cdm"
SOURCE = "MIMIC-IV-Ext-CDM (PhysioNet mimic-iv-ext-cdm, credentialed)"
# EHR-R1's CDM instruction, its spelling kept (docs/adapters.md)
INSTRUCTION = f"{INSTRUCTION_PREFIX}give the next Diagnoses in International Classification of Diseases Item suggestion for the patiens."  # fmt: skip
PATHOLOGY_FILE = "pathology_ids.json"
FILES = {  # file stem -> required columns
    "history_of_present_illness": ("hadm_id", "hpi"),
    "physical_examination": ("hadm_id", "pe"),
    "laboratory_tests": ("hadm_id", "itemid", "valuestr", "ref_range_lower", "ref_range_upper"),
    "microbiology": ("hadm_id", "test_itemid", "valuestr"),
    "radiology_reports": ("hadm_id", "exam_name", "text"),
    "icd_diagnosis": ("hadm_id", "icd_diagnosis"),
}
OPTIONAL = ("microbiology",)
LAB_KEYS = ("Item_name", "Valuenum", "Valueuom", "Ref_range_lower", "Ref_range_upper")
MICRO_KEYS = ("Item_name", "Valuestr")
RADIOLOGY_KEYS = ("Exam_name", "Text")
_NUMBER = r"^\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*(.*?)\s*$"


@dataclass
class CdmConfig:
    """Options of ``ehr-r1 adapt-cdm``."""

    cdm_dir: str = field(metadata={"help": "Folder with the mimic-iv-ext-cdm CSV files and pathology_ids.json."})
    output: str = field(metadata={"help": "Output folder (EHR-Bench layout), scored by `ehr-r1 eval --bench`."})
    labitems: str | None = field(
        default=None, metadata={"help": "MIMIC-IV hosp/d_labitems.csv(.gz): names of lab / microbiology itemids."}
    )
    pathologies: list[str] | None = field(
        default=None, metadata={"help": f"Only these pathologies (default: all of {', '.join(PATHOLOGIES)})."}
    )
    max_per_task: int | None = field(default=None, metadata={"help": "At most N admissions per pathology."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})

    def __post_init__(self):
        unknown = sorted(set(self.pathologies or ()) - set(PATHOLOGIES))
        if unknown:
            raise EhrR1Error(f"--pathologies: unknown {unknown[0]!r} (choose from {', '.join(PATHOLOGIES)})")
        if self.max_per_task is not None and self.max_per_task < 1:
            raise EhrR1Error(f"--max-per-task must be >= 1, got {self.max_per_task}")


# ------------------------------------------------------------------------------------------------------ reading
def _file(folder: Path, stem: str) -> Path | None:
    return next((folder / f"{stem}{ext}" for ext in (".csv", ".csv.gz") if (folder / f"{stem}{ext}").is_file()), None)


def read_table(folder: Path, stem: str, columns: tuple[str, ...]) -> pl.DataFrame | None:
    """``columns`` of ``<stem>.csv[.gz]`` (all as text, ``hadm_id`` as int64); None for a missing optional file."""
    path = _file(folder, stem)
    if path is None:
        if stem in OPTIONAL:
            return None
        raise InputError(folder / f"{stem}.csv", "file not found (a mimic-iv-ext-cdm release file)")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception as err:  # noqa: BLE001 - any polars failure is a corrupt file for the user
        raise InputError(path, f"cannot read CSV: {str(err).strip().splitlines()[0][:200]}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, "missing column", column=missing[0])
    hadm = frame["hadm_id"].cast(pl.Int64, strict=False)
    if hadm.null_count():
        raise InputError(path, "hadm_id must be an integer in every row", column="hadm_id")
    return frame.select(columns).with_columns(hadm_id=hadm)


def read_pathologies(folder: Path) -> pl.DataFrame:
    """(hadm_id, pathology) from ``pathology_ids.json``."""
    path = folder / PATHOLOGY_FILE
    if not path.is_file():
        raise InputError(path, "file not found (hadm_ids per pathology, as ConvertPhysionet.py reads them)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(path, f"malformed JSON ({err.msg})") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise InputError(path, "expected {pathology: [hadm_id, ...]}")
    unknown = sorted(set(data) - set(PATHOLOGIES))
    if unknown:
        raise InputError(path, f"unknown pathology {unknown[0]!r} (expected {', '.join(PATHOLOGIES)})")
    try:
        rows = [(int(h), p) for p, ids in data.items() for h in ids]
    except (TypeError, ValueError):
        raise InputError(path, "hadm_ids must be integers") from None
    return pl.DataFrame(rows, schema={"hadm_id": pl.Int64, "pathology": pl.String}, orient="row")


def item_names(folder: Path, labitems: str | None) -> pl.DataFrame:
    """(itemid, name): ``lab_test_mapping.csv`` (label per corresponding_ids), then ``d_labitems`` for the rest."""
    frames = []
    mapping = _file(folder, "lab_test_mapping")
    if mapping is not None:
        table = pl.read_csv(mapping, infer_schema=False)
        if {"label", "corresponding_ids"} <= set(table.columns):
            ids = pl.col("corresponding_ids").str.extract_all(r"\d+")
            frames.append(table.select(itemid=ids, name="label").explode("itemid"))
    if labitems:
        path = Path(labitems)
        if not path.is_file():
            raise InputError(path, "file not found (MIMIC-IV hosp/d_labitems.csv.gz)")
        table = pl.read_csv(path, infer_schema=False)
        if not {"itemid", "label"} <= set(table.columns):
            raise InputError(path, "missing column", column="itemid" if "itemid" not in table.columns else "label")
        frames.append(table.select("itemid", name="label"))
    if not frames:
        return pl.DataFrame(schema={"itemid": pl.String, "name": pl.String})
    return pl.concat(frames).drop_nulls().unique("itemid", keep="first", maintain_order=True)


# --------------------------------------------------------------------------------------------------- rendering
def _cell(expr: pl.Expr) -> pl.Expr:
    """A table cell: the contract's text escaping, one line, ``|`` escaped."""
    text = display(format_value(expr, TEXT)).str.replace_all(r"\s*\n\s*", " ")
    return text.str.replace_all("|", "\\|", literal=True)


def _table(frame: pl.DataFrame | None, title: str, keys: tuple[str, ...], cells: list[pl.Expr]) -> pl.DataFrame:
    """(hadm_id, text) of one Markdown table block per admission."""
    if frame is None or frame.is_empty():
        return pl.DataFrame(schema={"hadm_id": pl.Int64, title: pl.String})
    head = "| " + " | ".join(keys) + " |\n| " + " | ".join([SEPARATOR] * len(keys)) + " |"
    line = pl.lit("| ") + pl.concat_str([_cell(c) for c in cells], separator=" | ") + pl.lit(" |")
    return frame.group_by("hadm_id", maintain_order=True).agg(
        (pl.lit(f"## {title}\n{head}\n") + line.str.join("\n")).alias(title)
    )


def _labs(labs: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    labs = labs.join(names, on="itemid", how="left").with_columns(
        value=pl.col("valuestr").str.extract(_NUMBER, 1), unit=pl.col("valuestr").str.extract(_NUMBER, 2)
    )
    cells = [
        pl.col("name").fill_null(pl.col("itemid")),
        pl.col("value").fill_null(pl.col("valuestr")),
        pl.col("unit").replace("", None),
        pl.col("ref_range_lower"),
        pl.col("ref_range_upper"),
    ]
    return _table(labs, "Labotary Test Events", LAB_KEYS, cells)


def inputs(tables: dict[str, pl.DataFrame | None], names: pl.DataFrame) -> pl.DataFrame:
    """(hadm_id, input) for every admission with a history of present illness."""
    history = tables["history_of_present_illness"].unique("hadm_id", keep="first", maintain_order=True)
    exam = tables["physical_examination"].unique("hadm_id", keep="first", maintain_order=True)
    demo = history.join(exam, on="hadm_id", how="left").select(
        "hadm_id",
        demographics=pl.lit("## Patient Demographics\n- Patient History: ")
        + display(format_value(pl.col("hpi"), TEXT))
        + pl.lit("\n- Physical Examination: ")
        + display(format_value(pl.col("pe"), TEXT)),
    )
    micro = tables["microbiology"]
    if micro is not None:
        micro = micro.join(names, left_on="test_itemid", right_on="itemid", how="left")
    blocks = [
        _labs(tables["laboratory_tests"], names),
        _table(
            micro,
            "Microbiology Test Events",
            MICRO_KEYS,
            [pl.col("name").fill_null(pl.col("test_itemid")), pl.col("valuestr")],
        ),
        _table(
            tables["radiology_reports"],
            "Radiology Examinations",
            RADIOLOGY_KEYS,
            [pl.col("exam_name"), pl.col("text")],
        ),
    ]
    for block in blocks:
        demo = demo.join(block, on="hadm_id", how="left")
    parts = [c for c in demo.columns if c != "hadm_id"]
    return demo.select(
        "hadm_id", input=pl.concat_str([pl.col(c) for c in parts], separator=BLOCK_JOIN, ignore_nulls=True)
    )


def samples(cfg: CdmConfig) -> pl.DataFrame:
    """The bench rows (``ehr_r1.rows.ROW_SCHEMA``) of the CDM folder."""
    folder = Path(cfg.cdm_dir)
    if not folder.is_dir():
        raise InputError(folder, "CDM folder not found")
    pathologies = read_pathologies(folder)
    if cfg.pathologies:
        pathologies = pathologies.filter(pl.col("pathology").is_in(cfg.pathologies))
    tables = {stem: read_table(folder, stem, columns) for stem, columns in FILES.items()}
    gold = tables["icd_diagnosis"].group_by("hadm_id").agg(labels=pl.col("icd_diagnosis").drop_nulls().unique(maintain_order=True))  # fmt: skip
    rows = pathologies.join(inputs(tables, item_names(folder, cfg.labitems)), on="hadm_id", how="left")
    missing = rows.filter(pl.col("input").is_null())
    if missing.height:
        where = _file(folder, "history_of_present_illness")
        raise InputError(
            where, f"no history for hadm_id {missing['hadm_id'][0]} of {PATHOLOGY_FILE}", column="hadm_id"
        )
    rows = rows.join(gold, on="hadm_id", how="inner").filter(pl.col("labels").list.len() > 0)
    rows = rows.sort("pathology", "hadm_id")
    if cfg.max_per_task:
        rows = rows.group_by("pathology", maintain_order=True).head(cfg.max_per_task)
    task = pl.lit(TASK_PREFIX) + pl.col("pathology")
    rows = rows.with_columns(task=task).with_columns(
        idx=sample_ids(rows.select(task=task)["task"], rows["hadm_id"].to_numpy()),
        task_type=pl.lit(DECISION_MAKING),
        instruction=pl.lit(INSTRUCTION),
        output=pl.col("labels").list.join("\n"),
        candidates=pl.lit([], pl.List(pl.String)),
        subject_id=pl.lit(None, pl.Int64),
    )
    info = pl.struct(
        "task", "task_type", event=pl.lit("icd_diagnosis"), target_key=pl.lit("icd_title"), metric=pl.lit(METRIC),
        bid_event=pl.lit([], pl.List(pl.String)), labels="labels",
    )  # fmt: skip
    return rows.with_columns(task_info=info)


def adapt_cdm(cfg: CdmConfig) -> dict:
    """Write the CDM bench folder ``cfg.output``; returns its manifest."""
    rows = samples(cfg)  # all input errors before any output
    if rows.is_empty():
        raise EhrR1Error(f"{cfg.cdm_dir}: no admission of {PATHOLOGY_FILE} has a history and ICD diagnoses")
    folder = Path(cfg.cdm_dir)
    used = [p for p in (_file(folder, s) for s in (*FILES, "lab_test_mapping")) if p is not None]
    used += [folder / PATHOLOGY_FILE, *([Path(cfg.labitems)] if cfg.labitems else [])]
    with atomic_output_dir(cfg.output, cfg.overwrite, [cfg.cdm_dir, cfg.labitems], COMMAND) as tmp:
        manifest = write_bench(tmp, rows, name=DATASET, source=SOURCE, command=COMMAND, inputs=used,
                               extra={"metric": METRIC})  # fmt: skip
    logger.info("wrote %d CDM samples (%d pathologies) to %s", rows.height, rows["task"].n_unique(), cfg.output)
    return manifest

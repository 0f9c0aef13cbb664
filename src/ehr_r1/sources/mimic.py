# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MIMIC-IV reader: one lazy polars query per table, yielding rows of the event contract (``ehr_r1.events``).

Works on v2.2 and v3.1 layouts, ``.csv`` or ``.csv.gz``, with modules hosp (required), icu, ed (MIMIC-IV-ED) and
note (MIMIC-IV-Note) each optional: ``<root>/<module>/<table>.csv[.gz]``. Dictionary tables resolve codes to names.
``MimicSource`` is the ``EventSource`` the timeline builder reads.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ehr_r1.errors import InputError
from ehr_r1.events import EVENT_TYPE, FLOAT, encode_cells
from ehr_r1.io import SYNTH_RECORD
from ehr_r1.sources import mappings
from ehr_r1.sources.tables import (
    DERIVED_COLUMNS,
    DICTIONARIES,
    MODULES,
    SOURCE_RANK,
    TABLE_BY_NAME,
    TABLE_RANK,
    TABLES,
    TableSpec,
)


logger = logging.getLogger(__name__)
DATETIME_FORMAT, DATE_FORMAT = "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"
REQUIRED_TABLES = ("patients", "admissions")
ED_TIME_TABLES = {
    "triage": "intime",
    "diagnosis": "outtime",
}  # docs/ehr-text-format.md#ordering-and-grouping: triage = intime + 1 s, diagnosis = outtime
# Strings pandas reads as NaN by default (``pandas._libs.parsers.STR_NA_VALUES``): the reference read MIMIC-IV with
# pandas, so these values print as ``nan`` there, and are missing here.
PANDAS_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


@dataclass
class MimicLayout:
    """Which MIMIC-IV files exist under a root folder."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # table or dictionary stem -> file
    missing_modules: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.files

    @property
    def event_tables(self) -> list[TableSpec]:
        return [t for t in TABLES if t.name in self.files]


def discover(root: str | Path) -> MimicLayout:
    """Find the MIMIC-IV tables under ``root``; raise if it is not a MIMIC-IV folder."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "MIMIC-IV folder not found")
    layout = MimicLayout(root)
    for module in MODULES:
        folder = root / module
        if not folder.is_dir():
            layout.missing_modules.append(module)
            continue
        for path in sorted(folder.iterdir()):
            stem = path.name.removesuffix(".gz").removesuffix(".csv")
            if path.name.endswith((".csv", ".csv.gz")) and stem not in layout.files:
                layout.files[stem] = path
    if "hosp" in layout.missing_modules:
        raise InputError(root, "not a MIMIC-IV folder: no hosp/ module (expected hosp/patients.csv.gz, ...)")
    for name in REQUIRED_TABLES:
        if name not in layout.files:
            raise InputError(root / "hosp" / f"{name}.csv.gz", "required MIMIC-IV table not found")
    if layout.missing_modules:
        logger.info("MIMIC-IV modules not found (their tasks yield no samples): %s", ", ".join(layout.missing_modules))
    return layout


def patient_ids(layout: MimicLayout) -> pl.Series:
    """All ``subject_id`` of ``hosp/patients``."""
    path = layout.files["patients"]
    ids = scan(path, ("subject_id",)).select(pl.col("subject_id").cast(pl.Int64)).unique(maintain_order=True)
    return ids.collect()["subject_id"]


def read_header(path: Path) -> list[str]:
    """Column names of a CSV; one-line errors for empty or corrupt files."""
    try:
        head = pl.read_csv(path, n_rows=1, infer_schema=False, raise_if_empty=True)
    except pl.exceptions.NoDataError:
        raise InputError(path, "empty table (no header)") from None
    except Exception as err:  # noqa: BLE001 - polars raises several types for corrupt gzip / csv
        raise InputError(path, f"cannot read CSV: {_first_line(err)}") from None
    if head.height == 0:
        raise InputError(path, "empty table (header only, no rows)")
    return head.columns


def scan(path: Path, columns: tuple[str, ...]) -> pl.LazyFrame:
    """Lazy scan of ``columns`` (all read as strings), after checking that they exist."""
    header = read_header(path)
    for col in columns:
        if col not in header:
            raise InputError(path, "missing column", column=col)
    return pl.scan_csv(path, infer_schema=False, row_index_name="row_nr").select("row_nr", *columns)


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:300]


def _parse_time(col: str, date: bool) -> pl.Expr:
    return pl.col(col).str.strptime(pl.Datetime("us"), DATE_FORMAT if date else DATETIME_FORMAT, strict=True)


def _icd_code(col: str = "icd_code") -> pl.Expr:
    return pl.col(col).str.strip_chars()


class LookupTables:
    """Dictionary and mapping tables, loaded once per build."""

    def __init__(self, layout: MimicLayout, atc_path: str | Path | None = None, atc_level: int = 4):
        self.layout, self._cache = layout, {}
        self.atc_path, self.atc_level = atc_path, atc_level
        if atc_path is None and (layout.root / "index_mapping" / "d_atc_prescriptions.csv").exists():
            self.atc_path = layout.root / "index_mapping" / "d_atc_prescriptions.csv"

    def get(self, name: str) -> pl.LazyFrame | None:
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _dictionary(self, name: str, columns: tuple[str, ...]) -> pl.LazyFrame | None:
        stem = DICTIONARIES[name][1]
        if not self.layout.has(stem):
            logger.warning("dictionary %s not found: its names render as None", stem)
            return None
        return scan(self.layout.files[stem], columns).drop("row_nr")

    def _load(self, name: str) -> pl.LazyFrame | None:
        if name in ("d_labitems", "d_items"):
            lf = self._dictionary(name, ("itemid", "label"))
            return None if lf is None else lf.select(itemid=pl.col("itemid").cast(pl.Int64), item_name="label")
        if name in ("icd_diagnoses", "icd_procedures"):
            lf = self._dictionary(name, ("icd_code", "icd_version", "long_title"))
            target = "diagnoses" if name == "icd_diagnoses" else "procedures"
            return (
                None
                if lf is None
                else lf.select(_icd_code(), pl.col("icd_version").cast(pl.Int64), pl.col("long_title").alias(target))
            )
        if name == "ccs_diagnoses":
            return mappings.ccs_diagnoses().lazy()
        if name == "ccs_procedures":
            return mappings.ccs_procedures().lazy()
        if name == "atc":
            if self.atc_path is None:
                logger.warning("no NDC->ATC mapping given (--atc-map): ATC tasks yield no samples")
                return None
            return mappings.load_atc_map(self.atc_path, self.atc_level).lazy()
        if name == "radiology_detail":
            lf = self._dictionary(name, ("note_id", "field_name", "field_value", "field_ordinal"))
            if lf is None:
                return None
            return (
                lf.filter(pl.col("field_name") == "exam_name")
                .sort("note_id", pl.col("field_ordinal").cast(pl.Int64, strict=False))
                .group_by("note_id", maintain_order=True)
                .agg(exam_names=pl.col("field_value"))
            )
        if name == "ed_times":
            if not self.layout.has("edstays"):
                raise InputError(self.layout.root / "ed" / "edstays.csv.gz", "ED tables need edstays (their times)")
            lf = scan(self.layout.files["edstays"], ("stay_id", "intime", "outtime")).drop("row_nr")
            return lf.select(
                pl.col("stay_id").cast(pl.Int64), _parse_time("intime", False), _parse_time("outtime", False)
            )
        raise KeyError(name)


def _apply_lookups(lf: pl.LazyFrame, spec: TableSpec, lookups: LookupTables) -> pl.LazyFrame:
    """Add the derived columns of ``spec`` (item_name, diagnoses, ccs, atc, exam_name, ED times)."""
    for name in spec.lookups:
        table = lookups.get(name)
        if name in ("d_labitems", "d_items"):
            lf = lf.with_columns(pl.col("itemid").cast(pl.Int64))
            lf = lf.join(table, on="itemid", how="left") if table is not None else lf.with_columns(item_name=None)
        elif name.startswith(("icd_", "ccs_")):
            lf = lf.with_columns(_icd_code(), pl.col("icd_version").cast(pl.Int64))
            target = {"icd_diagnoses": "diagnoses", "icd_procedures": "procedures"}.get(name, "ccs")
            if table is None:
                lf = lf.with_columns(pl.lit(None, pl.String).alias(target))
            else:
                lf = lf.join(table, on=["icd_code", "icd_version"], how="left")
        elif name == "atc":
            lf = lf.with_columns(ndc=mappings.normalize_ndc(pl.col("ndc")))
            lf = lf.join(table, on="ndc", how="left") if table is not None else lf.with_columns(atc=None)
        elif name == "radiology_detail":
            if table is None:
                lf = lf.with_columns(exam_names=pl.lit(None, pl.List(pl.String)))
            else:
                lf = lf.join(table, on="note_id", how="left")
            lf = lf.with_columns(exam_name=_python_list_repr(pl.col("exam_names")))
    if spec.name in ED_TIME_TABLES:
        col = ED_TIME_TABLES[spec.name]
        lf = lf.with_columns(pl.col("stay_id").cast(pl.Int64)).join(
            lookups.get("ed_times").select("stay_id", col), on="stay_id", how="left"
        )
    return lf


def _python_list_repr(expr: pl.Expr) -> pl.Expr:
    """``['A', 'B']`` as Python prints a list of strings (radiology exam names, docs/ehr-text-format.md); null → ``None``."""
    quoted = expr.list.eval(pl.lit("'") + pl.element().str.replace_all("'", "\\'", literal=True) + pl.lit("'"))
    return pl.when(expr.is_null()).then(pl.lit("None")).otherwise(pl.lit("[") + quoted.list.join(", ") + pl.lit("]"))


def _missing(expr: pl.Expr) -> pl.Expr:
    """pandas' NA strings as null (the reference read MIMIC-IV with pandas)."""
    return pl.when(expr.is_in(PANDAS_NA)).then(None).otherwise(expr)


def _typed_values(spec: TableSpec, columns: tuple[str, ...]) -> list[pl.Expr]:
    """Read values typed, for every row of the file: NA strings missing, float keys and ids cast strictly (a bad
    cell fails the build whichever patients it belongs to)."""
    floats = set(float_columns(spec))
    raw = dict.fromkeys(c for _, c in spec.keys if c and c not in DERIVED_COLUMNS and c in columns)
    typed = [(_missing(pl.col(c)).cast(pl.Float64) if c in floats else _missing(pl.col(c))).alias(c) for c in raw]
    return typed + [pl.col(c).cast(pl.Int64) for c in ("hadm_id", "stay_id") if c in columns]


def _source_value(column: str | None) -> pl.Expr:
    """A key's value (already typed by ``_typed_values``); a key the source has no column for is missing."""
    return pl.lit(None, pl.String) if column is None else pl.col(column)


# Impossible records (rule -> table, a "row is impossible" expression over the parsed row): reported and dropped.
IMPOSSIBLE = {
    "dischtime before admittime": ("admissions", pl.col("dischtime") < pl.col("admittime")),
    "ICU outtime before intime": ("icustays", pl.col("outtime") < pl.col("intime")),
    "ED outtime before intime": ("edstays", pl.col("outtime") < pl.col("intime")),
}


def _drop_impossible(lf: pl.LazyFrame, spec: TableSpec, layout: "MimicLayout") -> pl.LazyFrame:
    for table, bad in IMPOSSIBLE.values():
        if table == spec.name:
            lf = lf.filter(~bad.fill_null(False))
    if spec.name == "patients":
        lf = lf.unique("subject_id", keep="first", maintain_order=True)
        first = _first_admission_day(layout)
        lf = lf.join(first, on="subject_id", how="left").with_columns(
            dod=pl.when(pl.col("dod") < pl.col("_first_day")).then(None).otherwise(pl.col("dod"))
        )
    return lf


def _first_admission_day(layout: "MimicLayout") -> pl.LazyFrame:
    admissions = scan(layout.files["admissions"], ("subject_id", "admittime")).drop("row_nr")
    return (
        admissions.select(pl.col("subject_id").cast(pl.Int64), _parse_time("admittime", False))
        .group_by("subject_id")
        .agg(_first_day=pl.col("admittime").min().dt.truncate("1d"))
    )


def impossible_records(layout: "MimicLayout") -> dict[str, int]:
    """Counts of impossible records per rule (rows that the reader drops, or dates of death it discards)."""
    counts = {}
    for rule, (table, bad) in IMPOSSIBLE.items():
        if layout.has(table):
            cols = ("intime", "outtime") if table != "admissions" else ("admittime", "dischtime")
            lf = scan(layout.files[table], cols).select(_parse_time(c, False) for c in cols)
            counts[rule] = int(lf.select(bad.fill_null(False).sum()).collect().item())
    patients = scan(layout.files["patients"], ("subject_id", "dod")).select(
        pl.col("subject_id").cast(pl.Int64), _parse_time("dod", True)
    )
    counts["duplicate patients rows"] = int(
        patients.select(pl.len() - pl.col("subject_id").n_unique()).collect().item()
    )
    first = patients.unique("subject_id", keep="first").join(_first_admission_day(layout), on="subject_id")
    counts["dod before the first admission"] = int(
        first.select((pl.col("dod") < pl.col("_first_day")).sum()).collect().item()
    )
    return counts


def float_columns(spec: TableSpec) -> tuple[str, ...]:
    """Source columns of the info keys that the contract prints as floats (they must parse as numbers)."""
    kinds = {k.name: k.kind for k in EVENT_TYPE[spec.name].keys}
    return tuple(c for k, c in spec.keys if kinds[k] == FLOAT)


def _time_expr(spec: TableSpec, col: str | None) -> pl.Expr:
    if col is None:
        return pl.lit(None, pl.Datetime("us"))
    if spec.name in ED_TIME_TABLES and col == ED_TIME_TABLES[spec.name]:
        return pl.col(col) + pl.duration(seconds=spec.time_offset_s)
    return pl.col(col)  # parsed right after the scan (``_parse_times``)


def _parse_times(spec: TableSpec, columns: tuple[str, ...]) -> list[pl.Expr]:
    """Parse every time column read from the file, for every row: bad timestamps fail whatever the split."""
    times = {c for c in (spec.time, spec.stamp, spec.aux_time) if c and c in columns}
    return [_parse_time(c, c in spec.date_columns) for c in sorted(times)]


def _tie_expr(spec: TableSpec) -> pl.Expr:
    """Within-source order that survives the global stable time sort (docs/ehr-text-format.md#ordering-and-grouping)."""
    if spec.module == "note":
        return pl.col("note_seq").cast(pl.Int64, strict=False)
    if spec.module == "ed":
        return pl.col("stay_id").cast(pl.Int64) * 16 + TABLE_RANK[spec.name]
    if spec.module == "icu":  # (hadm_id, stay_id, icustays first)
        hadm = pl.col("hadm_id").cast(pl.Int64).fill_null(0)
        return hadm * 10**10 + pl.col("stay_id").cast(pl.Int64).fill_null(0) * 2 + int(spec.name != "icustays")
    return pl.lit(TABLE_RANK[spec.name], pl.Int64)


def table_rows(
    layout: MimicLayout, spec: TableSpec, lookups: LookupTables, subjects: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """Contract rows of one table (``ROW_SCHEMA``), lazily; only ``subjects`` if given."""
    path = layout.files[spec.name]
    derived_time = ED_TIME_TABLES.get(spec.name)
    columns = tuple(c for c in spec.raw_columns if c != derived_time)
    lf = scan(path, columns).with_columns(
        pl.col("subject_id").cast(pl.Int64), *_parse_times(spec, columns), *_typed_values(spec, columns)
    )
    lf = _drop_impossible(lf, spec, layout)
    if subjects is not None:  # every row was type-checked above, whatever the split
        lf = lf.join(subjects.lazy(), on="subject_id", how="semi")
    lf = _apply_lookups(lf, spec, lookups)
    hadm = pl.col("hadm_id").cast(pl.Int64) if "hadm_id" in columns else pl.lit(None, pl.Int64)
    stay = pl.col("stay_id").cast(pl.Int64) if spec.stay_key else pl.lit(None, pl.Int64)
    time = _time_expr(spec, spec.time)
    start = _time_expr(spec, spec.stamp) if spec.stamp else time
    multi = pl.col("exam_names") if spec.name == "radiology" else pl.lit(None, pl.List(pl.String))
    cells = encode_cells(spec.name, {k: _source_value(c) for k, c in spec.keys})
    return lf.select(
        subject_id=pl.col("subject_id").cast(pl.Int64),
        hadm_id=hadm,
        stay_id=stay,
        table=pl.lit(spec.name),
        source_rank=pl.lit(SOURCE_RANK[spec.module], pl.Int8),
        table_rank=pl.lit(TABLE_RANK[spec.name], pl.Int16),
        tie=_tie_expr(spec),
        row_nr=pl.col("row_nr").cast(pl.Int64),
        time=time,
        start=start,
        aux_time=_time_expr(spec, spec.aux_time),
        cells=cells,
        multi=multi,
    )


def diagnose(layout: MimicLayout, spec: TableSpec, err: Exception) -> InputError:
    """Turn a failure on ``spec``'s table into a one-line error naming the file and, when it can, the column."""
    path = layout.files[spec.name]
    try:
        pl.scan_csv(path, infer_schema=False).select(pl.len()).collect()
    except Exception as read_err:  # noqa: BLE001 - truncated gzip raises OSError, bad CSV a PolarsError
        return InputError(path, f"corrupt or truncated file: {_first_line(read_err)}")
    checks = [(c, _parse_time(c, c in spec.date_columns)) for c in (spec.time, spec.stamp, spec.aux_time) if c]
    checks += [(c, _missing(pl.col(c)).cast(pl.Float64)) for c in float_columns(spec) if c in spec.raw_columns]
    checks += [(c, pl.col(c).cast(pl.Int64)) for c in ("subject_id", "hadm_id", "stay_id") if c in spec.raw_columns]
    for col, expr in checks:
        if col == ED_TIME_TABLES.get(spec.name):
            continue
        try:
            pl.scan_csv(path, infer_schema=False).select(expr).collect()
        except pl.exceptions.PolarsError as col_err:
            return InputError(path, f"unparseable value: {_first_line(col_err)}", column=col)
    return InputError(path, f"cannot read table: {_first_line(err)}")


class MimicSource:
    """A MIMIC-IV folder as an ``ehr_r1.events.EventSource``.

    Args:
        root: MIMIC-IV root with ``hosp/`` (required), ``icu/``, ``ed/``, ``note/``.
        atc_map: ethos folder or ``d_atc_prescriptions.csv`` for NDC → ATC (ATC tasks need it).
        atc_level: ATC level of the class names taken from ethos tables.
    """

    def __init__(self, root: str | Path, atc_map: str | Path | None = None, atc_level: int = 4, strict: bool = False):
        self.layout = discover(root)
        self.lookups = LookupTables(self.layout, atc_map, atc_level)
        self.impossible = {rule: n for rule, n in impossible_records(self.layout).items() if n}
        for rule, n in self.impossible.items():
            if strict:
                raise InputError(self.layout.root, f"{n} impossible record(s): {rule} (--strict)")
            logger.warning("%d impossible record(s) dropped: %s", n, rule)

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def input_files(self) -> dict[str, Path]:
        return self.layout.files

    @property
    def missing_modules(self) -> list[str]:
        return self.layout.missing_modules

    @property
    def synthetic_record(self) -> Path:
        """Where ``ehr-r1 synth-mimic`` records the files it wrote."""
        return self.layout.root / SYNTH_RECORD

    def origin(self) -> dict:
        """Where the events came from, for the dataset card."""
        return {"format": "mimic-iv", "dataset": "MIMIC-IV", "mimic": True}

    def subject_ids(self) -> pl.Series:
        return patient_ids(self.layout)

    def input_bytes(self) -> tuple[int, bool]:
        """Total size of the event files and whether they are gzip-compressed."""
        files = self.layout.files.values()
        return sum(p.stat().st_size for p in files), any(str(p).endswith(".gz") for p in files)

    def event_types(self) -> list[str]:
        return [t.name for t in self.layout.event_tables]

    def rows(self, event_type: str, subjects: pl.DataFrame | None = None) -> pl.LazyFrame:
        return table_rows(self.layout, TABLE_BY_NAME[event_type], self.lookups, subjects)

    def explain(self, event_type: str, err: Exception) -> Exception:
        return diagnose(self.layout, TABLE_BY_NAME[event_type], err)

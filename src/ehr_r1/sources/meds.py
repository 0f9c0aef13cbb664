# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MEDS reader (meds 0.4 schema): ``data/**/*.parquet`` + ``metadata/codes.parquet`` → rows of the event contract.

Codes map to event types and info keys through a YAML vocabulary (``ehr_r1/configs/meds_vocab/*.yaml``, format in
``docs/meds.md``): the first rule whose prefix or code matches decides the event type, and each key reads the code's
``codes.parquet`` description, a component of the code, the row's values or an extra column. No code string lives in
this module. Codes no rule matches go to the vocabulary's ``default`` rule (dropped when it has none): unknown codes
are never an error. Static rows (null ``time``) feed the demographics event (always shown); other static rows open
the subject's trajectory (they take its first time). ``MedsSource`` is the ``EventSource`` the timeline builder reads.

The folder is validated before any work with the ``meds`` package's pyarrow schemas and one lazy pass per shard
(subjects contiguous and in one shard only, times non-decreasing within a subject): a violation is one
``InputError`` naming the file and the column.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import meds
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from flexible_schema.exceptions import SchemaValidationError

from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.events import DEMOGRAPHICS, EVENT_RANK, EVENT_TYPE, FLOAT, encode_cells
from ehr_r1.io import SYNTH_RECORD


logger = logging.getLogger(__name__)
VOCAB_DIR = Path(__file__).resolve().parent.parent / "configs" / "meds_vocab"
DEFAULT_VOCAB = "mimic_iv_meds"
SPLITS = (meds.train_split, meds.tuning_split, meds.held_out_split)
_SOURCES = ("description", "code", "rest", "numeric_value", "text_value")
_PREFIXED = ("part:", "column:", "literal:")
_AGE_KEY, _GENDER_KEY = "anchor_age", "gender"  # the demographics keys of the contract
_YEAR_S = 365.25 * 86_400


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list | tuple) else (value,)


@dataclass(frozen=True)
class CodeRule:
    """One vocabulary rule: which codes (``prefixes`` or exact ``codes``) become rows of ``event_type`` (None: dropped)
    and where each info key's value comes from (``keys``: key → sources, the first non-null wins)."""

    event_type: str | None
    prefixes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    """A MEDS code vocabulary read from YAML (``Vocabulary.load``); ``rules`` in match order."""

    name: str
    path: Path
    separator: str
    rules: tuple[CodeRule, ...]
    default: CodeRule | None = None
    missing_parts: tuple[str, ...] = ()
    birth_code: str = meds.birth_code
    death_code: str = meds.death_code
    gender_prefix: str | None = None
    gender_value: tuple[str, ...] = ()

    @classmethod
    def load(cls, name_or_path: str | Path | None = None) -> "Vocabulary":
        """A shipped vocabulary by name (``mimic_iv_meds``, ``omop``) or a YAML file."""
        path = Path(name_or_path) if name_or_path else VOCAB_DIR / f"{DEFAULT_VOCAB}.yaml"
        if not path.suffix and not path.exists():
            path = VOCAB_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            shipped = ", ".join(sorted(p.stem for p in VOCAB_DIR.glob("*.yaml")))
            raise EhrR1Error(f"{name_or_path}: MEDS vocabulary not found (a YAML file, or one of: {shipped})")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise InputError(path, f"not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
            raise InputError(path, "a MEDS vocabulary is a mapping with a `rules` list")
        rules = tuple(_rule(path, r, i) for i, r in enumerate(raw["rules"]))
        default = _rule(path, raw["default"], "default") if raw.get("default") else None
        demo = raw.get("demographics") or {}
        gender = demo.get("gender") or {}
        return cls(
            name=str(raw.get("name", path.stem)),
            path=path,
            separator=str(raw.get("separator", "//")),
            rules=rules,
            default=default,
            missing_parts=tuple(str(p) for p in _as_tuple(raw.get("missing_parts"))),
            birth_code=str(demo.get("birth_code", meds.birth_code)),
            death_code=str(demo.get("death_code", meds.death_code)),
            gender_prefix=gender.get("prefix"),
            gender_value=_sources(path, _GENDER_KEY, gender.get("value", "rest")) if gender else (),
        )

    @property
    def all_rules(self) -> tuple[CodeRule, ...]:
        return self.rules + ((self.default,) if self.default else ())

    @property
    def event_types(self) -> list[str]:
        """Event types some rule produces, in contract order (demographics first)."""
        types = {r.event_type for r in self.all_rules if r.event_type} | {DEMOGRAPHICS}
        return sorted(types, key=EVENT_RANK.__getitem__)

    def rule_index(self) -> tuple[pl.Expr, pl.Expr]:
        """(rule index, matched prefix length) of each row's ``code``; null index: no rule, no default."""
        code = pl.col("code")
        index, length = pl.when(pl.lit(False)).then(pl.lit(None, pl.Int32)), pl.when(pl.lit(False)).then(pl.lit(0))
        for i, rule in enumerate(self.rules):
            if rule.codes:
                hit = code.is_in(list(rule.codes))
                index, length = index.when(hit).then(pl.lit(i, pl.Int32)), length.when(hit).then(pl.lit(0))
            for prefix in rule.prefixes:
                hit = code.str.starts_with(prefix)
                index, length = index.when(hit).then(pl.lit(i, pl.Int32)), length.when(hit).then(pl.lit(len(prefix)))
        fallback = pl.lit(len(self.rules) if self.default else None, pl.Int32)
        return index.otherwise(fallback), length.otherwise(pl.lit(0))


def _sources(path: Path, key: str, value) -> tuple[str, ...]:
    sources = tuple(str(v) for v in _as_tuple(value))
    for src in sources:
        if src not in _SOURCES and not src.startswith(_PREFIXED):
            raise InputError(path, f"key {key!r}: unknown value source {src!r} (known: {', '.join(_SOURCES)}, "
                             "part:N, column:NAME, literal:TEXT)")  # fmt: skip
        if src.startswith("part:") and not src[5:].isdigit():
            raise InputError(path, f"key {key!r}: {src!r} needs a component number, e.g. part:1")
    return sources


def _rule(path: Path, raw, where) -> CodeRule:
    if not isinstance(raw, dict):
        raise InputError(path, f"rule {where}: not a mapping")
    event_type = raw.get("event_type")
    if event_type is not None and event_type not in EVENT_TYPE:
        raise InputError(path, f"rule {where}: unknown event type {event_type!r} (known: {', '.join(EVENT_TYPE)})")
    prefixes, codes = _as_tuple(raw.get("prefix")), _as_tuple(raw.get("code"))
    if where != "default" and not (prefixes or codes):
        raise InputError(path, f"rule {where}: needs a `prefix` or a `code`")
    keys = raw.get("keys") or {}
    known = EVENT_TYPE[event_type].key_names if event_type else ()
    for key in keys:
        if key not in known:
            raise InputError(path, f"rule {where}: event type {event_type!r} has no info key {key!r}")
    sources = {k: _sources(path, k, v) for k, v in keys.items()}
    return CodeRule(event_type, tuple(str(p) for p in prefixes), tuple(str(c) for c in codes), sources)


@dataclass
class MedsLayout:
    """The files of a MEDS root."""

    root: Path
    data_files: list[Path]
    codes: Path | None
    splits: Path | None


def discover(root: str | Path) -> MedsLayout:
    """The data shards and metadata files of a MEDS root; raise if it is not one."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "MEDS folder not found")
    data = root / meds.data_subdirectory
    files = sorted(data.rglob("*.parquet")) if data.is_dir() else []
    if not files:
        raise InputError(data, "not a MEDS folder: no data/**/*.parquet shards")
    codes, splits = root / meds.code_metadata_filepath, root / meds.subject_splits_filepath
    return MedsLayout(root, files, codes if codes.is_file() else None, splits if splits.is_file() else None)


def _check_schema(path: Path, schema_cls) -> list[str]:
    """Validate ``path``'s parquet schema with a ``meds`` schema class; returns its column names."""
    try:
        schema = pq.read_schema(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        raise InputError(path, f"cannot read parquet: {str(err).strip().splitlines()[0][:300]}") from None
    try:
        schema_cls.validate(schema)
    except SchemaValidationError as err:
        if err.missing_req_cols:
            raise InputError(path, f"missing required {schema_cls.__name__} column", err.missing_req_cols[0]) from None
        wrong = [(c, want, got) for c, want, got in err.mistyped_cols if not _same_type(want, got)]
        if wrong:
            col, want, got = wrong[0]
            raise InputError(path, f"wrong type {got} (the MEDS schema has {want})", col) from None
        if err.disallowed_extra_cols:
            raise InputError(path, f"not a MEDS {schema_cls.__name__}: {err}") from None
    return schema.names


def _same_type(want: pa.DataType, got: pa.DataType) -> bool:
    """Equal up to the 32/64-bit offset flavour of strings and lists (polars writes ``large_string``)."""
    text = (pa.types.is_string, pa.types.is_large_string)
    if any(t(want) for t in text) and any(t(got) for t in text):
        return True
    lists = (pa.types.is_list, pa.types.is_large_list)
    if any(t(want) for t in lists) and any(t(got) for t in lists):
        return _same_type(want.value_type, got.value_type)
    return want == got


def _shard_facts(path: Path) -> pl.DataFrame:
    """One lazy pass over a shard: per subject, whether its rows are contiguous and its times in order."""
    lf = pl.scan_parquet(path).select("subject_id", "time", "code")
    new_block = (pl.col("subject_id") != pl.col("subject_id").shift(1)).fill_null(True)
    back_in_time = pl.col("time") < pl.col("time").forward_fill().shift(1).over("subject_id")
    return (
        lf.with_columns(block=new_block, back=back_in_time.fill_null(False))
        .group_by("subject_id")
        .agg(
            blocks=pl.col("block").sum(),
            back=pl.col("back").any(),
            null_code=pl.col("code").is_null().any(),
        )
        .collect()
    )


def validate(layout: MedsLayout) -> tuple[pl.DataFrame, list[str]]:
    """Check every file of ``layout`` (schemas, shard rules); returns (subject_id, shard) of every subject and the
    columns of the first shard (the scan's schema: columns other shards lack read as null)."""
    columns = {}
    for path in layout.data_files:
        columns[path] = _check_schema(path, meds.DataSchema)
    if layout.codes:
        _check_schema(layout.codes, meds.CodeMetadataSchema)
    if layout.splits:
        _check_schema(layout.splits, meds.SubjectSplitSchema)
    seen = []
    for shard, path in enumerate(layout.data_files):
        facts = _shard_facts(path)
        if facts["subject_id"].null_count():
            raise InputError(path, "null subject_id (the MEDS schema requires one on every row)", "subject_id")
        for column, bad, message in (
            ("code", facts["null_code"], "null code (the MEDS schema requires one on every row)"),
            ("subject_id", facts["blocks"] > 1, "rows of one subject are not contiguous"),
            ("time", facts["back"], "times out of order within a subject (MEDS rows are sorted by time)"),
        ):
            if bad.any():
                subject = facts.filter(bad)["subject_id"].min()
                raise InputError(path, f"{message}: subject {subject}", column)
        seen.append(facts.select("subject_id", shard=pl.lit(shard, pl.Int32)))
    subjects = pl.concat(seen)
    split = subjects.filter(pl.col("subject_id").is_duplicated()).sort("subject_id", "shard")
    if split.height:
        subject, shard = split.row(1)
        raise InputError(layout.data_files[shard], f"subject {subject} is split across shards", "subject_id")
    return subjects.sort("subject_id"), columns[layout.data_files[0]]


def _value(source: str, kind: str, columns: set[str], vocab: Vocabulary) -> pl.Expr:
    """One value source as an expression over the joined rows (``_plen``: matched prefix length)."""
    if source == "description":
        expr = pl.col("description")
    elif source == "code":
        expr = pl.col("code")
    elif source == "rest":
        expr = pl.col("code").str.slice(pl.col("_plen"))
    elif source in ("numeric_value", "text_value") or source.startswith("column:"):
        name = source.removeprefix("column:")
        # float32 values print as their shortest decimal (``0.1``, not ``0.10000000149011612``)
        expr = pl.col(name).cast(pl.String) if name in columns else pl.lit(None, pl.String)
    elif source.startswith("part:"):
        part = pl.col("code").str.split(vocab.separator).list.get(int(source[5:]), null_on_oob=True)
        expr = pl.when(part.is_in(list(vocab.missing_parts))).then(None).otherwise(part)
    else:  # literal:
        expr = pl.lit(source.removeprefix("literal:"))
    return expr.cast(pl.Float64, strict=False) if kind == FLOAT else expr.cast(pl.String)


def _row_level(source: str) -> bool:
    """Whether a value source reads the row (its value columns), not only its code."""
    return source in ("numeric_value", "text_value") or source.startswith("column:")


def _key_value(
    rules: list[tuple[int, CodeRule]], key, columns: set[str], vocab: Vocabulary, per_code: dict | None = None
) -> pl.Expr:
    """A key's value across the rules of one event type (each rule its own sources; absent: missing).

    With ``per_code`` (``{(source, kind): column}``, filled here), sources that depend on the code alone become
    columns computed once per distinct code (see ``MedsSource.rows``) instead of once per row.
    """
    dtype = pl.Float64 if key.kind == FLOAT else pl.String

    def source_expr(source: str) -> pl.Expr:
        if per_code is None or _row_level(source):
            return _value(source, key.kind, columns, vocab)
        return pl.col(per_code.setdefault((source, key.kind), f"_v{len(per_code)}"))

    expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype))
    for i, rule in rules:
        sources = rule.keys.get(key.name)
        if sources:
            value = pl.coalesce([source_expr(s) for s in sources])
            expr = expr.when(pl.col("_rule") == i).then(value)
    return expr.otherwise(pl.lit(None, dtype))


def _dataset_json(path: Path) -> dict:
    """``metadata/dataset.json`` (MEDS ``DatasetMetadataSchema``, all optional); ``{}`` when absent."""
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InputError(path, f"malformed JSON: {err}") from None
    if not isinstance(info, dict):
        raise InputError(path, "not a JSON object (MEDS DatasetMetadataSchema)")
    return info


class MedsSource:
    """A MEDS root as an ``ehr_r1.events.EventSource``.

    Args:
        root: MEDS root with ``data/**/*.parquet`` and optionally ``metadata/codes.parquet`` and
            ``metadata/subject_splits.parquet``.
        vocab: vocabulary YAML or shipped name (``mimic_iv_meds``, default; ``omop``).
    """

    def __init__(self, root: str | Path, vocab: str | Path | None = None):
        self.layout = discover(root)
        self.vocab = Vocabulary.load(vocab)
        self.subjects, columns = validate(self.layout)
        self.columns = set(columns)
        self.codes = self._code_map()
        self._present = set(self.codes["_rule"])
        self._static_rules = set(self.codes.filter("static")["_rule"])
        self.missing_modules: list[str] = []  # MIMIC-IV notions the builder reports; a MEDS folder has neither
        self.impossible: dict[str, int] = {}

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def input_files(self) -> dict[str, Path]:
        files = {p.relative_to(self.root).as_posix(): p for p in self.layout.data_files}
        for path in (self.layout.codes, self.layout.splits):
            if path:
                files[path.relative_to(self.root).as_posix()] = path
        return files

    @property
    def synthetic_record(self) -> Path:
        """Where ``ehr-r1 synth-mimic`` would record its files (a MEDS folder is never its output)."""
        return self.root / SYNTH_RECORD

    def origin(self) -> dict:
        """Where the events came from, for the dataset card: ``metadata/dataset.json`` ``dataset_name`` (else the
        folder's name); MIMIC-derived when that name says MIMIC (the MIMIC-IV MEDS ETL writes ``MIMIC-IV``)."""
        info = _dataset_json(self.root / "metadata" / "dataset.json")
        name = str(info.get("dataset_name") or "").strip() or self.root.resolve().name
        etl = " ".join(str(info[k]) for k in ("etl_name", "etl_version") if info.get(k))
        return {
            "format": "meds",
            "dataset": name,
            "mimic": "mimic" in name.lower(),
            "version": str(info["dataset_version"]) if info.get("dataset_version") else None,
            "etl": etl or None,
            "license": str(info["license"]) if info.get("license") else None,
            "vocab": self.vocab.name,
            "vocab_option": None if self.vocab.name == DEFAULT_VOCAB else str(self.vocab.path),  # --meds-vocab given
        }

    def subject_ids(self) -> pl.Series:
        return self.subjects["subject_id"]

    def splits(self) -> pl.DataFrame | None:
        """(subject_id, split) from ``metadata/subject_splits.parquet``, or None when the folder has none."""
        if not self.layout.splits:
            return None
        frame = pl.read_parquet(self.layout.splits, columns=["subject_id", "split"])
        unknown = frame.filter(~pl.col("split").is_in(SPLITS))["split"].unique().to_list()
        if unknown:
            raise InputError(self.layout.splits, f"unknown split(s) {unknown} (MEDS: {', '.join(SPLITS)})", "split")
        return frame.unique("subject_id", keep="first", maintain_order=True)

    def input_bytes(self) -> tuple[int, bool]:
        """The input's size on the scale the shard estimate uses (``timeline.default_num_shards``: ≈25 gzip bytes
        per row): parquet footers give the exact row count, and dictionary-encoded codes compress far below 25."""
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in self.layout.data_files)
        return rows * 25, True

    def event_types(self) -> list[str]:
        """Event types with rows in this folder (demographics always)."""
        present = {r.event_type for i, r in enumerate(self.vocab.all_rules) if i in self._present} | {DEMOGRAPHICS}
        return [t for t in self.vocab.event_types if t in present]

    def _scan(self, subjects: pl.DataFrame | None) -> pl.LazyFrame:
        extra = [c for c in self.columns if c in {"numeric_value", "text_value"} or c not in meds.DataSchema.columns()]
        files = self.layout.data_files
        lf = pl.scan_parquet(files, row_index_name="row_nr", missing_columns="insert", extra_columns="ignore")
        lf = lf.select("row_nr", "subject_id", "time", "code", *sorted(extra))
        if subjects is not None:  # a filter (not a join) is pushed into the parquet scan: one shard's rows in memory
            wanted = subjects["subject_id"].cast(pl.Int64).implode()
            lf = lf.filter(pl.col("subject_id").is_in(wanted))
        return lf

    def _descriptions(self) -> pl.LazyFrame:
        if not self.layout.codes:
            return pl.LazyFrame(schema={"code": pl.String, "description": pl.String})
        lf = pl.scan_parquet(self.layout.codes)
        description = pl.col("description") if "description" in lf.collect_schema() else pl.lit(None, pl.String)
        lf = lf.select("code", description=description.cast(pl.String))
        return lf.filter(pl.col("description").is_not_null()).unique("code", keep="first", maintain_order=True)

    def _code_map(self) -> pl.DataFrame:
        """One row per distinct code of the data: its rule (``_rule``, ``_plen``), description, and whether static
        rows carry it. Rules are matched once per code, not once per row."""
        codes = self._scan(None).group_by("code").agg(static=pl.col("time").is_null().any()).collect()
        rule, plen = self.vocab.rule_index()
        codes = codes.with_columns(_rule=rule, _plen=plen).filter(pl.col("_rule").is_not_null())
        return codes.join(self._descriptions().collect(), on="code", how="left")

    def rows(self, event_type: str, subjects: pl.DataFrame | None = None) -> pl.LazyFrame:
        if event_type == DEMOGRAPHICS:
            return self._demographics(subjects)
        rules = [(i, r) for i, r in enumerate(self.vocab.all_rules) if r.event_type == event_type]
        keys = EVENT_TYPE[event_type].keys
        per_code: dict[tuple[str, str], str] = {}
        values = {k.name: _key_value(rules, k, self.columns, self.vocab, per_code) for k in keys}
        codes = self.codes.filter(pl.col("_rule").is_in([i for i, _ in rules])).drop("static")
        codes = codes.with_columns(
            **{name: _value(source, kind, self.columns, self.vocab) for (source, kind), name in per_code.items()}
        )
        lf = self._scan(subjects).join(codes.lazy(), on="code", how="inner")
        time = pl.col("time")
        if any(i in self._static_rules for i, _ in rules):  # static rows open the trajectory (its first real event)
            special = pl.col("code").is_in([self.vocab.birth_code, self.vocab.death_code])
            first = self._scan(subjects).filter(~special).group_by("subject_id").agg(_first=pl.col("time").min())
            lf = lf.join(first, on="subject_id", how="left")
            time = time.fill_null(pl.col("_first"))
        return lf.select(**_contract_columns(event_type, time), cells=encode_cells(event_type, values))

    def _genders(self) -> pl.LazyFrame:
        """(code, gender) of the codes the vocabulary's demographics read the gender from (code-level sources)."""
        vocab = self.vocab
        if not vocab.gender_prefix:
            return pl.LazyFrame(schema={"code": pl.String, "gender": pl.String})
        rule = CodeRule(DEMOGRAPHICS, (vocab.gender_prefix,), keys={_GENDER_KEY: vocab.gender_value})
        codes = self.codes.select("code", "description").filter(pl.col("code").str.starts_with(vocab.gender_prefix))
        key = EVENT_TYPE[DEMOGRAPHICS].keys[EVENT_TYPE[DEMOGRAPHICS].position(_GENDER_KEY)]
        codes = codes.with_columns(_rule=pl.lit(-1, pl.Int32), _plen=pl.lit(len(vocab.gender_prefix)))
        return codes.select("code", gender=_key_value([(-1, rule)], key, set(), vocab)).lazy()

    def _demographics(self, subjects: pl.DataFrame | None) -> pl.LazyFrame:
        """One row per subject: age at the first timed event (from the birth code), gender, date of death."""
        vocab, code = self.vocab, pl.col("code")
        lf = self._scan(subjects).select("subject_id", "time", "code", "row_nr")
        lf = lf.join(self._genders(), on="code", how="left")
        special = code.is_in([vocab.birth_code, vocab.death_code])
        per_subject = lf.group_by("subject_id").agg(
            _birth=pl.col("time").filter(code == vocab.birth_code).min(),
            _death=pl.col("time").filter(code == vocab.death_code).min(),
            _first=pl.col("time").filter(~special).min(),
            gender=pl.col("gender").drop_nulls().first(),
            row_nr=pl.col("row_nr").min(),
        )
        age = ((pl.col("_first") - pl.col("_birth")).dt.total_seconds() / _YEAR_S).floor().cast(pl.Int64)
        cells = encode_cells(DEMOGRAPHICS, {_AGE_KEY: age, _GENDER_KEY: pl.col("gender")})
        return per_subject.select(
            **_contract_columns(DEMOGRAPHICS, pl.lit(None, pl.Datetime("us")), aux=pl.col("_death")), cells=cells
        ).sort("subject_id")

    def explain(self, event_type: str, err: Exception) -> Exception:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        return InputError(self.root / meds.data_subdirectory, f"cannot read {event_type} rows: {first}")


def _contract_columns(event_type: str, time: pl.Expr, aux: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """The ``ROW_SCHEMA`` columns other than ``cells``: MEDS rows have no admission or stay ids (docs/meds.md)."""
    return {
        "subject_id": pl.col("subject_id").cast(pl.Int64),
        "hadm_id": pl.lit(None, pl.Int64),
        "stay_id": pl.lit(None, pl.Int64),
        "table": pl.lit(event_type),
        "source_rank": pl.lit(0, pl.Int8),
        "table_rank": pl.lit(EVENT_RANK[event_type], pl.Int16),
        "tie": pl.lit(0, pl.Int64),
        "row_nr": pl.col("row_nr").cast(pl.Int64),
        "time": time.cast(pl.Datetime("us")),
        "start": time.cast(pl.Datetime("us")),
        "aux_time": (aux if aux is not None else pl.lit(None)).cast(pl.Datetime("us")),
        "multi": pl.lit(None, pl.List(pl.String)),
    }

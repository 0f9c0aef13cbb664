# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MEDS folders for tests and benchmarks: writers for small (also broken) folders, an OMOP-vocabulary fixture, the
``meds-testing-helpers`` static sample, and a converter from a MIMIC-IV folder to MEDS in the MIMIC-IV MEDS ETL
vocabulary (``ehr_r1/configs/meds_vocab/mimic_iv_meds.yaml``)."""

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from ehr_r1.events import EVENT_TYPE, value


DATA_SCHEMA = {
    "subject_id": pl.Int64,
    "time": pl.Datetime("us"),
    "code": pl.String,
    "numeric_value": pl.Float32,
    "text_value": pl.String,
}


def write_meds(
    root: Path,
    shards: dict[str, pl.DataFrame],
    codes: pl.DataFrame | None = None,
    splits: pl.DataFrame | None = None,
) -> Path:
    """A MEDS root: ``data/<name>.parquet`` per shard (frames written as given), optional metadata files."""
    for name, frame in shards.items():
        path = root / "data" / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    if codes is not None:
        codes.write_parquet(root / "metadata" / "codes.parquet")
    if splits is not None:
        splits.write_parquet(root / "metadata" / "subject_splits.parquet")
    return root


def data_frame(rows: list[tuple]) -> pl.DataFrame:
    """MEDS data rows (subject_id, time, code, numeric_value, text_value) in the meds 0.4 types."""
    return pl.DataFrame(rows, schema=DATA_SCHEMA, orient="row")


def static_sample(root: Path) -> Path:
    """The ``meds-testing-helpers`` static sample dataset (6 subjects, sharded by split)."""
    from meds_testing_helpers.dataset import MEDSDataset
    from meds_testing_helpers.static_sample_data import SIMPLE_STATIC_SHARDED_BY_SPLIT

    MEDSDataset.from_yaml(SIMPLE_STATIC_SHARDED_BY_SPLIT).write(root)
    return root


OMOP_CODES = {
    "Gender/F": "FEMALE",
    "Gender/M": "MALE",
    "Visit/IP": "Inpatient Visit",
    "LOINC/2160-0": "Creatinine [Mass/volume] in Serum or Plasma",
    "LOINC/2951-2": "Sodium [Moles/volume] in Serum or Plasma",
    "LOINC/718-7": "Hemoglobin [Mass/volume] in Blood",
    "RxNorm/197361": "amlodipine 5 MG Oral Tablet",
    "RxNorm/310965": "ibuprofen 200 MG Oral Tablet",
    "ICD10CM/N17.9": "Acute kidney failure, unspecified",
    "SNOMED/38341003": "Hypertensive disorder",
    "CPT4/36415": "Collection of venous blood by venipuncture",
}


def omop_fixture(root: Path, subjects: int = 4, labs_per_visit: int = 12) -> Path:
    """An OMOP-vocabulary MEDS folder (EHRSHOT style codes, names only in codes.parquet), plus one code with no
    description (``LOINC/99999-9``) and one no rule knows (``Observation/XYZ``)."""
    rows = []
    labs = ("LOINC/2160-0", "LOINC/2951-2", "LOINC/718-7", "LOINC/99999-9")
    for s in range(1, subjects + 1):
        t0 = datetime(2020, 1, s, 8, 0)
        rows += [
            (s, None, "Gender/F" if s % 2 else "Gender/M", None, None),
            (s, datetime(1960 + s, 3, 1), "MEDS_BIRTH", None, None),
        ]
        rows.append((s, t0, "Visit/IP", None, None))
        for i in range(labs_per_visit):
            t = t0 + timedelta(hours=i + 1)
            rows.append((s, t, labs[i % len(labs)], 1.0 + i / 10, None))
            rows.append((s, t + timedelta(minutes=30), "RxNorm/197361" if i % 2 else "RxNorm/310965", None, None))
        rows.append((s, t0 + timedelta(hours=2, minutes=5), "CPT4/36415", None, None))
        rows.append((s, t0 + timedelta(hours=3, minutes=5), "Observation/XYZ", None, "seen"))
        rows.append((s, t0 + timedelta(hours=20), "ICD10CM/N17.9" if s % 2 else "SNOMED/38341003", None, None))
    codes = pl.DataFrame(
        {"code": list(OMOP_CODES), "description": list(OMOP_CODES.values()), "parent_codes": [None] * len(OMOP_CODES)},
        schema={"code": pl.String, "description": pl.String, "parent_codes": pl.List(pl.String)},
    )
    data = data_frame(sorted(rows, key=lambda r: (r[0], r[1] is not None, r[1] or datetime.min)))
    return write_meds(root, {"0": data}, codes)


# ------------------------------------------------------------------------------------- MIMIC-IV → MEDS (ETL vocab)
# event type -> (code template, numeric key, text key): ``{key}`` is the row's value of that info key (``UNK`` when
# missing), as the MIMIC-IV MEDS ETL writes its codes (data-sources.md §3.3). Names stand where the ETL has item ids:
# with no codes.parquet description the reader renders them from the code itself.
ETL_CODES = {
    "admissions": ("HOSPITAL_ADMISSION//{admission_type}//{admission_location}", None, None),
    "diagnoses_icd": ("DIAGNOSIS//ICD//10//{diagnoses}", None, None),
    "procedures_icd": ("PROCEDURE//ICD//10//{procedures}", None, None),
    "labevents": ("LAB//RESULT//{item_name}//{valueuom}", "valuenum", "comments"),
    "emar": ("MEDICATION//{medication}//{event_txt}//UNK", None, None),
    "pharmacy": ("MEDICATION//START//{medication}//UNK", None, None),
    "transfers": ("TRANSFER_TO//{eventtype}//{careunit}", None, None),
    "icustays": ("ICU_ADMISSION//ICU", None, None),
    "procedureevents": ("PROCEDURE//START//{item_name}", "value", None),
    "inputevents": ("INFUSION_START//{item_name}", "rate", None),
    "outputevents": ("SUBJECT_FLUID_OUTPUT//{item_name}//{valueuom}", "value", None),
    "omr": ("{result_name}", None, "result_value"),
}


def _etl_code(event_type: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    template, numeric, text = ETL_CODES[event_type]
    keys = EVENT_TYPE[event_type].key_names
    parts, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        key, _, rest = tail.partition("}")
        parts += [pl.lit(head), value(keys.index(key)).str.replace_all("//", "/", literal=True).fill_null("UNK")]
    code = pl.concat_str([*parts, pl.lit(rest)])
    num = value(keys.index(numeric)).cast(pl.Float32, strict=False) if numeric else pl.lit(None, pl.Float32)
    txt = value(keys.index(text)) if text else pl.lit(None, pl.String)
    return code, num, txt


def mimic_to_meds(mimic_dir: Path, root: Path, num_shards: int = 1) -> Path:
    """``mimic_dir`` through the MIMIC-IV reader and timeline into MEDS shards with ETL-vocabulary codes: gender a
    static row, birth from the anchor age, death at the date of death; untimed rows at their admission's last time."""
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.timeline import build_timelines

    with tempfile.TemporaryDirectory() as tmp:
        paths = build_timelines(MimicSource(mimic_dir), Path(tmp) / "tl", num_shards)
        frames = [_shard_to_meds(pl.read_parquet(p)) for p in paths]
    for i, frame in enumerate(frames):
        write_meds(root, {f"train/{i}": frame})
    return root


def _shard_to_meds(timeline: pl.DataFrame) -> pl.DataFrame:
    timeline = timeline.with_columns(t=pl.col("time").forward_fill().over("subject_id"))
    out = []
    for event_type in ETL_CODES:
        code, num, txt = _etl_code(event_type)
        rows = timeline.filter(pl.col("table") == event_type, pl.col("t").is_not_null())
        out.append(rows.select("subject_id", time="t", code=code, numeric_value=num, text_value=txt))
    patients = timeline.filter(pl.col("table") == "patients")
    first = timeline.group_by("subject_id").agg(first=pl.col("t").min())
    patients = patients.join(first, on="subject_id")
    age_days = (value(0).cast(pl.Int64, strict=False).fill_null(0) * 365.25).cast(pl.Int64)
    out += [
        patients.select("subject_id", time=pl.lit(None, pl.Datetime("us")), code=pl.concat_str(pl.lit("GENDER//"), value(1))),
        patients.select("subject_id", time=pl.col("first") - pl.duration(days=age_days), code=pl.lit("MEDS_BIRTH")),
        patients.filter(pl.col("aux_time").is_not_null()).select("subject_id", time="aux_time", code=pl.lit("MEDS_DEATH")),
    ]  # fmt: skip
    frame = pl.concat([f.cast({k: v for k, v in DATA_SCHEMA.items() if k in f.columns}) for f in out], how="diagonal")
    frame = frame.select(
        [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in DATA_SCHEMA.items()]
    )
    return frame.sort("subject_id", pl.col("time"), nulls_last=False, maintain_order=True)  # fmt: skip

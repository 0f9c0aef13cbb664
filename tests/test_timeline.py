# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Timelines (docs/ehr-text-format.md#ordering-and-grouping) on a hand-written mini MIMIC-IV and on the real MIMIC-IV demo."""

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from mimic_factory import mini_mimic, write_table

from ehr_r1.events import CELL_SEP, MISSING
from ehr_r1.sources.mimic import MimicSource
from ehr_r1.timeline import build_timelines, events_of


def _timeline(root: Path, tmp: Path, shards: int = 1) -> pl.DataFrame:
    paths = build_timelines(MimicSource(root), tmp / "tl", shards)
    return pl.concat([pl.read_parquet(p) for p in paths]).sort("subject_id", "event_idx", maintain_order=True)


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> pl.DataFrame:
    tmp = tmp_path_factory.mktemp("mini")
    return _timeline(mini_mimic(tmp / "mimic"), tmp)


def test_order_and_grouping(mini):
    events = events_of(mini)
    tables = events["table"].to_list()
    assert tables == [
        "patients",
        "omr",
        "edstays",
        "triage",
        "diagnosis",
        "admissions",
        "labevents",
        "services",
        "icustays",
        "chartevents",
        "labevents",
        "discharge",
        "diagnoses_icd",
        "drgcodes",
        "admissions",
    ]
    # the two labs drawn at 09:00 form one event; the 2nd-day draw is separated by other events
    assert events.filter(pl.col("table") == "labevents")["n_rows"].to_list() == [2, 1]
    # untimed rows: after the last row of their admission (the discharge note), diagnoses before drgcodes
    assert events.filter(pl.col("table") == "diagnoses_icd")["start"].to_list() == [None]
    assert events.filter(pl.col("table") == "diagnoses_icd")["n_rows"].item() == 2


def test_ed_times_and_dates(mini):
    events = events_of(mini)
    start = dict(zip(events["table"], events["start"], strict=False))
    assert start["triage"] == datetime(2150, 1, 1, 5, 0, 1)  # ED intime + 1 s
    assert start["diagnosis"] == datetime(2150, 1, 1, 7, 30)  # ED outtime
    assert start["omr"] == datetime(2150, 1, 1)  # a date reads as 00:00:00
    assert events.filter(pl.col("table") == "patients")["aux_time"].item() == datetime(2150, 2, 3)  # dod


def test_values_print_like_the_reference(mini):
    labs = [c.split(CELL_SEP) for c in mini.filter(pl.col("table") == "labevents")["cells"]]
    assert labs[0][:3] == ["Creatinine", "1.0", "mg/dL"]  # valuenum is a float column
    assert labs[0][5] == MISSING  # missing raw value: typed, printed as nan by render
    diagnoses = [c.split(CELL_SEP) for c in mini.filter(pl.col("table") == "diagnoses_icd")["cells"]]
    assert diagnoses[0] == ["Congestive heart failure, unspecified", "Congestive heart failure; nonhypertensive"]
    assert diagnoses[1] == ["Essential (primary) hypertension", "Essential hypertension"]  # ICD-10 -> CCS


def test_null_hadm_rows_go_last_when_untimed(tmp_path):
    root = mini_mimic(tmp_path / "mimic")
    write_table(root, "hosp", "drgcodes", [{"subject_id": 1, "hadm_id": 99, "drg_type": "HCFA", "drg_code": "1"}])
    tables = events_of(_timeline(root, tmp_path))["table"].to_list()
    assert tables[-1] == "drgcodes"  # its admission has no timed row: appended at the end


def test_shard_count_does_not_change_timelines(tmp_path, mimic_demo):
    one = _timeline(mimic_demo, tmp_path / "a", 1)
    three = _timeline(mimic_demo, tmp_path / "b", 3)
    assert one.equals(three)


def test_demo_invariants(tmp_path, mimic_demo):
    timeline = _timeline(mimic_demo, tmp_path, 2)
    events = events_of(timeline)
    assert timeline["subject_id"].n_unique() == 100
    first = events.group_by("subject_id").agg(pl.col("table").first(), pl.col("event_idx").min())
    assert set(first["table"]) == {"patients"} and set(first["event_idx"]) == {0}
    # event indexes are contiguous and consecutive events never share a table
    gaps = events.group_by("subject_id").agg(ok=(pl.col("event_idx").diff().drop_nulls() == 1).all())
    assert gaps["ok"].all()
    same = events.with_columns(prev=pl.col("table").shift(1).over("subject_id")).filter(
        pl.col("prev") == pl.col("table")
    )
    assert same.is_empty()
    # timed events are in time order within each patient
    timed = events.filter(pl.col("start").is_not_null(), pl.col("table") != "hcpcsevents")
    ordered = timed.group_by("subject_id").agg(ok=(pl.col("start").diff().drop_nulls().dt.total_seconds() >= 0).all())
    assert ordered["ok"].all()
    # every input row lands in the timeline: labevents has 107,727 rows in the demo
    assert timeline.filter(pl.col("table") == "labevents").height == 107_727


def test_plain_csv_and_gzip_mix(tmp_path, mini):
    """PhysioNet ships .csv.gz; users who unpacked some tables get .csv: both read the same."""
    import gzip
    import shutil

    root = mini_mimic(tmp_path / "mimic")
    for table in ("labevents", "admissions"):
        packed = root / "hosp" / f"{table}.csv.gz"
        with gzip.open(packed, "rb") as src, (root / "hosp" / f"{table}.csv").open("wb") as dst:
            shutil.copyfileobj(src, dst)
        packed.unlink()
    assert _timeline(root, tmp_path).equals(mini)


def test_build_timelines_command_writes_the_canonical_schema(tmp_path, capsys):
    from ehr_r1.cli import main
    from ehr_r1.timeline import TIMELINE_SCHEMA

    root = mini_mimic(tmp_path / "mimic")
    assert (
        main(["build-timelines", "--mimic-dir", str(root), "--output", str(tmp_path / "tl"), "--num-shards", "2"]) == 0
    )
    assert "timeline shards" in capsys.readouterr().out
    shards = sorted((tmp_path / "tl").glob("shard-*.parquet"))
    assert shards and dict(pl.read_parquet_schema(shards[0])) == TIMELINE_SCHEMA
    assert [p.name for p in (tmp_path / "tl").iterdir() if p.name.startswith(".")] == []  # no work folders left


def test_a_timed_table_row_without_a_time_goes_after_its_admissions_last_row():
    from ehr_r1.events import EVENT_RANK
    from ehr_r1.timeline import order_rows

    t0 = datetime(2150, 1, 1, 8)
    rows = pl.DataFrame(
        {
            "subject_id": [1] * 4,
            "hadm_id": [None, 10, 10, 10],
            "table": ["patients", "admissions", "transfers", "labevents"],
            "time": [None, t0, t0.replace(hour=9), None],  # the lab row lost its charttime
            "source_rank": [0] * 4,
            "tie": [0] * 4,
            "table_rank": [EVENT_RANK[t] for t in ("patients", "admissions", "transfers", "labevents")],
            "row_nr": [0, 0, 0, 0],
        },
        schema_overrides={"time": pl.Datetime("us"), "hadm_id": pl.Int64, "table_rank": pl.Int16},
    )
    assert order_rows(rows)["table"].to_list() == ["patients", "admissions", "transfers", "labevents"]

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Sample-index rules (docs/tasks.md): windows, boundaries, null hadm_id, dod as a date, risk labels."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from ehr_r1.events import CELL_SEP, MISSING, TIMELINE_SCHEMA
from ehr_r1.tasks.catalogue import ALL_TASKS, BENCH_DECISION_TASKS, DECISION_TASKS, RISK_TASKS, get_task
from ehr_r1.tasks.index import IndexConfig, build_index


T0 = datetime(2150, 1, 1, 8, 0)
LOOSE = IndexConfig(min_context_events=0, max_context_events=10_000)


def timeline(events: list[tuple], dod: datetime | None = None) -> pl.DataFrame:
    """events: (table, start, hadm_id, aux_time, values); event 0 (patients) is prepended."""
    rows = [{"table": "patients", "start": None, "hadm_id": None, "aux_time": dod, "values": ["60", "F"]}]
    rows += [{"table": t, "start": s, "hadm_id": h, "aux_time": a, "values": v} for t, s, h, a, v in events]
    rows = [{**r, "cells": CELL_SEP.join(MISSING if v is None else v for v in r.pop("values"))} for r in rows]
    frame = pl.DataFrame(rows, schema_overrides={"start": pl.Datetime("us"), "aux_time": pl.Datetime("us")})
    return (
        frame.with_row_index("event_idx")
        .with_columns(subject_id=pl.lit(1, pl.Int64), time=pl.col("start"), stay_id=pl.lit(None, pl.Int64), multi=None)
        .select(list(TIMELINE_SCHEMA))
        .cast(TIMELINE_SCHEMA)
    )


def lab(t: datetime, hadm: int | None = 10, item: str = "Creatinine") -> tuple:
    return ("labevents", t, hadm, None, [item, "1.0", "mg/dL", "0.4", "1.1", None, None])


def rows_of(index: pl.DataFrame, task: str) -> list[dict]:
    return index.filter(pl.col("task") == task).sort("target_idx").to_dicts()


def test_catalogue_counts_and_instructions():
    assert len(DECISION_TASKS) == 26 and len(RISK_TASKS) == 18 and len(BENCH_DECISION_TASKS) == 26
    assert "next_event" in ALL_TASKS and "next_event" not in BENCH_DECISION_TASKS
    assert get_task("labevents").instruction == (
        "Given the sequence of events that have occurred in a hospital, please give the next Labotary Test Events "
        "suggestion for the patients."
    )
    assert get_task("ICU_Mortality_3day").instruction.endswith("predict whether the patient will die within 3 day.")
    with pytest.raises(KeyError):
        get_task("no_such_task")


def test_24_hour_boundary_is_strict():
    target = T0 + timedelta(days=2)
    events = [
        ("admissions", T0, 10, T0 + timedelta(days=5), ["URGENT", "ER"]),
        lab(target - timedelta(hours=24)),  # exactly 24 h before: outside
        ("services", target - timedelta(hours=24) + timedelta(seconds=1), 10, None, ["MED"]),  # inside
        lab(target - timedelta(hours=1), item="Potassium"),
        ("poe", target - timedelta(minutes=30), 10, None, ["Lab", None]),
        lab(target, item="Sodium"),
    ]
    index = build_index(timeline(events), LOOSE, [get_task("labevents")])
    last = rows_of(index, "labevents")[-1]
    assert (last["target_idx"], last["begin"], last["end"]) == (6, 3, 6)
    assert last["labels"] == ["Sodium"] and last["admissions_id"] == 1


def test_null_hadm_targets_use_hadm_less_context():
    events = [
        ("omr", T0, None, None, ["Weight (Lbs)", "150"]),
        lab(T0 + timedelta(hours=1)),  # hadm 10: not a window start for a hadm-less target
        ("omr", T0 + timedelta(hours=2), None, None, ["BMI (kg/m2)", "25"]),
    ]
    (sample,) = rows_of(build_index(timeline(events), LOOSE, [get_task("omr")]), "omr")
    assert (sample["target_idx"], sample["begin"], sample["end"]) == (3, 1, 3)  # the lab stays inside the slice
    assert sample["hadm_id"] is None and sample["labels"] == ["BMI (kg/m2)"]


def test_context_length_filter():
    events = [
        lab(T0 + timedelta(minutes=i), item=f"L{i}")
        if i % 2
        else ("poe", T0 + timedelta(minutes=i), 10, None, ["Lab", None])
        for i in range(30)
    ]
    index = build_index(timeline(events), IndexConfig(), [get_task("labevents")])
    lengths = [r["end"] - r["begin"] for r in rows_of(index, "labevents")]
    assert lengths and min(lengths) == 11 and all(10 < n < 100 for n in lengths)


@pytest.mark.parametrize(
    ("dod", "expected"), [(datetime(2150, 1, 5), "yes"), (datetime(2150, 1, 6), "no"), (None, "no")]
)
def test_inpatient_mortality_reads_dod_as_a_date(dod, expected):
    discharge = datetime(2150, 1, 5, 12, 0)
    events = [("admissions", T0, 10, discharge, ["URGENT", "ER"]), lab(T0 + timedelta(hours=1))]
    (sample,) = rows_of(
        build_index(timeline(events, dod=dod), LOOSE, [get_task("Inpatient_Mortality")]), "Inpatient_Mortality"
    )
    assert sample["labels"] == [expected]


def test_admission_window_and_length_of_stay():
    discharge = T0 + timedelta(hours=80)
    events = [
        ("admissions", T0, 10, discharge, ["URGENT", "ER"]),
        lab(T0 + timedelta(hours=2)),
        lab(T0 + timedelta(hours=25), item="Late"),  # outside the 24 h after admission
    ]
    index = build_index(timeline(events), LOOSE, [get_task("LengthOfStay_3day"), get_task("LengthOfStay_7day")])
    (los3,), (los7,) = rows_of(index, "LengthOfStay_3day"), rows_of(index, "LengthOfStay_7day")
    assert (los3["begin"], los3["end"]) == (1, 3)
    assert los3["labels"] == ["yes"] and los7["labels"] == ["no"]
    short = [("admissions", T0, 10, T0 + timedelta(hours=2), ["URGENT", "ER"]), lab(T0 + timedelta(hours=3))]
    assert build_index(timeline(short), LOOSE, [get_task("LengthOfStay_3day")]).is_empty()  # discharged in context


def test_icu_mortality_and_readmission():
    intime = T0 + timedelta(hours=1)
    events = [
        ("admissions", T0, 10, T0 + timedelta(days=9), ["URGENT", "ER"]),
        ("icustays", intime, 10, intime + timedelta(days=8), []),
        lab(intime + timedelta(hours=20)),
        ("icustays", intime + timedelta(days=8, hours=2), 10, intime + timedelta(days=8, hours=9), []),
    ]
    dod = datetime(2150, 1, 5)  # 2 days 19 h after the last context event (Jan 2 05:00)
    tasks = [get_task(n) for n in ("ICU_Mortality_2day", "ICU_Mortality_3day", "ICU_Stay_7day", "ICU_Readmission")]
    index = build_index(timeline(events, dod=dod), LOOSE, tasks)
    first = {r["task"]: r["labels"][0] for r in index.filter(pl.col("target_idx") == 2).to_dicts()}
    assert first == {
        "ICU_Mortality_2day": "no",
        "ICU_Mortality_3day": "yes",
        "ICU_Stay_7day": "yes",
        "ICU_Readmission": "yes",
    }


def test_ed_and_readmission_rules():
    ed_out = T0 - timedelta(hours=1)
    events = [
        ("edstays", T0 - timedelta(hours=4), 10, ed_out, ["F", "WHITE"]),
        ("triage", T0 - timedelta(hours=4) + timedelta(seconds=1), None, None, ["98.6"] + [None] * 8),
        ("admissions", T0, 10, T0 + timedelta(days=3), ["EW EMER.", "ER"]),
        ("icustays", T0 + timedelta(hours=5), 10, T0 + timedelta(days=2), []),
        ("discharge", T0 + timedelta(days=3), 10, None, ["DS", "text"]),
        ("edstays", T0 + timedelta(days=20), None, T0 + timedelta(days=20, hours=3), ["F", "WHITE"]),
        ("admissions", T0 + timedelta(days=40), 11, T0 + timedelta(days=42), ["URGENT", "ER"]),
    ]
    names = (
        "ED_Hospitalization",
        "ED_ICU_Tranfer_12hour",
        "ED_Reattendance_3day",
        "ED_Critical_Outcomes",
        "Readmission_30day",
        "Readmission_60day",
    )
    index = build_index(timeline(events), LOOSE, [get_task(n) for n in names])
    first_ed = {r["task"]: r["labels"][0] for r in index.filter(pl.col("target_idx") == 1).to_dicts()}
    assert first_ed == {
        "ED_Hospitalization": "yes",
        "ED_ICU_Tranfer_12hour": "yes",
        "ED_Reattendance_3day": "no",
        "ED_Critical_Outcomes": "yes",
    }
    ed_sample = index.filter(pl.col("task") == "ED_Hospitalization", pl.col("target_idx") == 1).row(0, named=True)
    assert (ed_sample["begin"], ed_sample["end"]) == (1, 3)  # up to the last event before ED outtime
    notes = {r["task"]: r["labels"][0] for r in index.filter(pl.col("target_idx") == 5).to_dicts()}
    assert notes == {"Readmission_30day": "no", "Readmission_60day": "yes"}


def test_demo_index_yields_the_hosp_and_icu_tasks(mimic_demo, tmp_path):
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.timeline import build_timelines

    paths = build_timelines(MimicSource(mimic_demo), tmp_path / "tl", 1)
    index = build_index(pl.read_parquet(paths[0]))
    produced = set(index["task"])
    expected = {
        "labevents",
        "prescriptions",
        "emar",
        "poe",
        "transfers",
        "inputevents",
        "outputevents",
        "LengthOfStay_3day",
        "Inpatient_Mortality",
        "ICU_Stay_7day",
        "next_event",
        "diagnoses_icd",
    }
    assert expected <= produced
    assert not produced & {"medrecon", "pyxis", "radiology", "chartevents", "ED_Hospitalization"}  # no ED/note/chart
    n = index["end"] - index["begin"]
    assert ((n > 10) & (n < 100)).all()
    assert index["labels"].list.len().min() >= 1
    sorted_labels = index.select(ok=pl.col("labels") == pl.col("labels").list.sort())["ok"]
    assert sorted_labels.all()


def test_balanced_weighted_sampling_is_exact_and_deterministic():
    from ehr_r1.sampling import SamplingConfig, label_frequencies, sample_keys, select_top

    n = 400
    index = pl.DataFrame(
        {
            "subject_id": list(range(n)),
            "target_idx": [5] * n,
            "task": ["ICU_Readmission"] * n,
            "labels": [["yes"] if i % 10 == 0 else ["no"] for i in range(n)],  # 40 yes, 360 no
        }
    )
    cfg = SamplingConfig(default_quota=100, balance_risk=True)
    keyed = sample_keys(index, label_frequencies(index), cfg, seed=3, risk={"ICU_Readmission"})
    assert keyed.filter(pl.col("labels").list.first() == "yes")["weight"].unique().to_list() == [10.0]
    picked = select_top(keyed, cfg, {"ICU_Readmission"})
    counts = dict(picked.group_by(pl.col("labels").list.first()).len().iter_rows())
    assert counts == {"yes": 40, "no": 50}  # N // 2 per label, all positives when fewer exist
    again = select_top(
        sample_keys(index.reverse(), label_frequencies(index), cfg, 3, {"ICU_Readmission"}), cfg, {"ICU_Readmission"}
    )
    assert sorted(again["subject_id"]) == sorted(picked["subject_id"])  # input order does not matter
    other_seed = select_top(
        sample_keys(index, label_frequencies(index), cfg, 4, {"ICU_Readmission"}), cfg, {"ICU_Readmission"}
    )
    assert sorted(other_seed["subject_id"]) != sorted(picked["subject_id"])

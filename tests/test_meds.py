# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""MEDS input: the reader on the real demo MEDS (vs the MIMIC-IV reader), sample datasets, an OMOP fixture, label
tasks cut at prediction_time, build-bench / build-ins --meds-dir, and every schema violation."""

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from meds_factory import data_frame, omop_fixture, static_sample, write_meds

from ehr_r1.builder import BuildConfig, build_dataset
from ehr_r1.cli import main
from ehr_r1.errors import InputError
from ehr_r1.events import display
from ehr_r1.sources.meds import MedsSource, Vocabulary
from ehr_r1.sources.mimic import MimicSource
from ehr_r1.tasks.index import IndexConfig, build_index, event_frame
from ehr_r1.tasks.labels import LabelTask
from ehr_r1.timeline import build_timelines


MEDS_DEMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "mimic-iv-demo-meds"
# MIMIC-IV event types the MIMIC-IV MEDS ETL (mimic-iv-meds 0.2.0, data-sources.md §3.3) writes no codes for:
# microbiology, provider orders, prescriptions, services, datetime and ingredient events are not in its event config.
NOT_IN_ETL = {"microbiologyevents", "poe", "prescriptions", "services", "datetimeevents", "ingredientevents"}


@pytest.fixture(scope="module")
def meds_demo() -> Path:
    if not (MEDS_DEMO / "data").is_dir():
        pytest.skip(f"MEDS demo not found at {MEDS_DEMO}")
    return MEDS_DEMO


def _timeline(source, tmp: Path, subjects: pl.DataFrame | None = None) -> pl.DataFrame:
    paths = build_timelines(source, tmp, 1, subjects=subjects)
    return pl.concat([pl.read_parquet(p) for p in paths])


def _icu_labels(meds_dir: Path) -> pl.DataFrame:
    """A label per ICU stay, 24 h after its admission: does the patient die (at any later time)?"""
    lf = pl.scan_parquet(meds_dir / "data" / "**" / "*.parquet")
    icu = lf.filter(pl.col("code").str.starts_with("ICU_ADMISSION//"))
    icu = icu.select("subject_id", prediction_time=pl.col("time") + pl.duration(hours=24))
    death = lf.filter(pl.col("code") == "MEDS_DEATH").select("subject_id", died="time")
    labels = icu.join(death, on="subject_id", how="left").select(
        "subject_id", "prediction_time", boolean_value=pl.col("died").is_not_null()
    )
    return labels.collect()


def test_same_patients_give_the_same_event_types_as_the_mimic_reader(meds_demo, mimic_demo, tmp_path):
    meds = MedsSource(meds_demo)
    subjects = meds.subject_ids().sort().head(25).to_frame()
    assert set(meds.subject_ids()) == set(MimicSource(mimic_demo).subject_ids())  # the same 100 patients
    from_meds = _timeline(meds, tmp_path / "meds", subjects)
    from_mimic = _timeline(MimicSource(mimic_demo), tmp_path / "mimic", subjects)
    meds_types, mimic_types = set(from_meds["table"]), set(from_mimic["table"])
    assert meds_types <= mimic_types
    assert mimic_types - meds_types == NOT_IN_ETL & mimic_types
    # nearly the same lab results (the ETL leaves out about 1% of labevents rows, e.g. some without any value)
    labs = [t.filter(pl.col("table") == "labevents").height for t in (from_meds, from_mimic)]
    assert labs[1] > 1000 and 0.97 * labs[1] <= labs[0] <= labs[1]
    demo = from_meds.filter(pl.col("event_idx") == 0)
    assert demo["table"].unique().to_list() == ["patients"] and demo.height == subjects.height


def test_demo_rows_render_from_descriptions_or_the_code(meds_demo):
    meds = MedsSource(meds_demo)
    labs = meds.rows("labevents").select(display(pl.col("cells")).alias("c")).collect()["c"]
    assert labs.str.starts_with("Base excess in Blood by calculation\x1f").any()  # codes.parquet description
    emar = meds.rows("emar").select(display(pl.col("cells")).alias("c")).collect()["c"]
    assert emar.str.starts_with("Heparin\x1fAdministered").any()  # no description: the code's own component
    patients = meds.rows("patients").collect()
    assert patients.height == 100 and patients["aux_time"].is_not_null().sum() == 31  # MEDS_DEATH rows


@pytest.mark.slow
def test_build_bench_and_ins_from_the_demo_meds(meds_demo, mimic_demo, tmp_path, capsys):
    labels = tmp_path / "labels"
    labels.mkdir()
    _icu_labels(meds_demo).write_parquet(labels / "icu_death_after_24h.parquet")
    bench, ins = tmp_path / "bench", tmp_path / "ins"
    common = ["--meds-dir", str(meds_demo), "--max-per-task", "8"]
    assert main(["build-bench", *common, "--output", str(bench), "--labels", str(labels)]) == 0
    assert main(["build-ins", *common, "--output", str(ins), "--check-disjoint", str(bench)]) == 0
    capsys.readouterr()
    splits = pl.read_parquet(meds_demo / "metadata" / "subject_splits.parquet")
    held_out = set(splits.filter(pl.col("split") == "held_out")["subject_id"])
    for folder, side in ((bench, held_out), (ins, set(splits["subject_id"]) - held_out)):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert (folder / "README.md").read_text().startswith("---")
        rows = pl.concat([pl.read_parquet(p) for p in folder.glob("data/*/*/*.parquet")])
        assert set(rows["subject_id"]) <= side and manifest["disjointness"]["method"] == "MEDS subject_splits.parquet"
        assert "seed" not in manifest["disjointness"] and "test_fraction" not in manifest["disjointness"]
        assert manifest["source"]["format"] == "meds" and "data/train/0.parquet" in manifest["input_fingerprints"]
    manifest = json.loads((bench / "manifest.json").read_text())
    assert manifest["counts"]["icu_death_after_24h"] > 0 and manifest["counts"]["labevents"] == 8
    mimic = tmp_path / "mimic-bench"
    build_dataset(BuildConfig(str(mimic_demo), str(mimic), tasks=["labevents"], max_per_task=2))
    mimic_manifest = json.loads((mimic / "manifest.json").read_text())
    assert set(mimic_manifest) - {"source"} <= set(manifest)  # the same manifest fields (plus `source`)
    assert {p.parent.parent.name for p in bench.glob("data/*/*/*.parquet")} == {"decision_making", "risk_prediction"}
    risk = pl.read_parquet(bench / "data" / "risk_prediction" / "icu_death_after_24h" / "*.parquet")
    assert set(risk["output"]) <= {"yes", "no"} and risk["candidates"].to_list()[0] == ["yes", "no"]


def test_label_contexts_are_cut_at_prediction_time(meds_demo, tmp_path):
    meds = MedsSource(meds_demo)
    timeline = _timeline(meds, tmp_path / "tl")
    labels = _icu_labels(meds_demo)
    task = LabelTask("icu_death", labels)
    index = build_index(timeline, IndexConfig(), [task])
    assert index.height > 20 and set(index["task"]) == {"icu_death"}
    events = event_frame(timeline)
    samples = index.join(labels.unique(["subject_id", "prediction_time"]), on="subject_id").join(
        events.select("subject_id", target_idx="event_idx", target_end="end"), on=["subject_id", "target_idx"]
    )
    # some label of the subject has this context: its last event ends by then and the next one does not
    nxt = events.select("subject_id", next_idx=pl.col("event_idx") - 1, next_end="end")
    samples = samples.join(nxt, left_on=["subject_id", "target_idx"], right_on=["subject_id", "next_idx"], how="left")
    ok = (pl.col("target_end") <= pl.col("prediction_time")) & (
        pl.col("next_end").is_null() | (pl.col("next_end") > pl.col("prediction_time"))
    )
    per_sample = samples.group_by("subject_id", "target_idx").agg(ok=ok.any())
    assert per_sample.height == index.height and per_sample["ok"].all()
    # the label decides the answer: each sample's yes/no is the boolean_value of its own label (the first label, by
    # prediction time, whose context this is: labels sharing a context keep the first)
    mine = samples.filter(ok).sort("prediction_time").group_by("subject_id", "target_idx", maintain_order=True).first()
    assert mine.height == index.height
    assert ((mine["labels"].list.first() == "yes") == mine["boolean_value"]).all()
    yes = index.filter(pl.col("labels").list.first() == "yes").height
    assert 0 < yes < index.height


def test_the_meds_testing_helpers_static_sample(tmp_path):
    root = static_sample(tmp_path / "sample")
    meds = MedsSource(root)
    assert meds.splits()["split"].value_counts().height == 3
    timeline = _timeline(meds, tmp_path / "tl")
    assert timeline.filter(pl.col("event_idx") == 0)["table"].unique().to_list() == ["patients"]
    # codes no rule knows (HR, DISCHARGE, ...) are no error: the default rule shows the description, else the code
    omr = display(timeline.filter(pl.col("table") == "omr")["cells"])
    assert omr.str.starts_with("Heart Rate\x1f").any() and omr.str.starts_with("DISCHARGE\x1f").any()
    # static rows open the trajectory: they take the time of the subject's first real event (not the birth date)
    data = pl.read_parquet(root / "data" / "**" / "*.parquet")
    real = data.filter(pl.col("time").is_not_null(), pl.col("code") != "MEDS_BIRTH")
    first_real = real.group_by("subject_id").agg(pl.col("time").min())
    first = timeline.filter(pl.col("event_idx") == 1).group_by("subject_id").agg(pl.col("time").min())
    first = first.join(first_real, on="subject_id")
    assert first.height == data["subject_id"].n_unique() and (first["time"] == first["time_right"]).all()


def test_omop_vocabulary_fixture(tmp_path):
    root = omop_fixture(tmp_path / "omop", subjects=10)
    meds = MedsSource(root, "omop")
    assert set(meds.event_types()) == {"admissions", "diagnoses_icd", "procedures_icd", "labevents", "omr",
                                       "patients", "prescriptions"}  # fmt: skip
    labs = display(meds.rows("labevents").collect()["cells"])
    assert labs.str.starts_with("Creatinine [Mass/volume] in Serum or Plasma\x1f1.0\x1f").any()
    assert labs.str.starts_with("LOINC/99999-9\x1f").any()  # no description: the code string itself
    assert display(meds.rows("patients").collect()["cells"]).to_list()[:2] == ["58\x1fFEMALE", "57\x1fMALE"]
    out = tmp_path / "ins"
    cfg = BuildConfig(meds_dir=str(root), output=str(out), dataset="ehr-ins", meds_vocab="omop", tasks=["labevents"],
                      index=IndexConfig(min_context_events=2))  # fmt: skip
    manifest = build_dataset(cfg)
    assert manifest["counts"]["labevents"] > 0 and manifest["disjointness"]["method"].startswith("seeded")
    text = pl.read_parquet(out / "data" / "decision_making" / "labevents" / "*.parquet")["input"][0]
    assert "## Prescriptions [" in text and "amlodipine 5 MG Oral Tablet" in text


# ------------------------------------------------------------------------------------------------------ bad input
def _good_rows(subject: int, start: int = 1) -> list[tuple]:
    return [(subject, None, "GENDER//F", None, None)] + [
        (subject, datetime(2100, 1, 1, h), f"LAB//RESULT//5090{h % 3}//mg/dL", float(h), None)
        for h in range(start, start + 12)
    ]


def _broken(kind: str, root: Path) -> tuple[Path, str]:
    good = data_frame(_good_rows(1) + _good_rows(2))
    codes = pl.DataFrame({"code": ["LAB//RESULT//50900//mg/dL"], "description": ["Creatinine"]})
    if kind == "missing column":
        write_meds(root, {"0": good.drop("code")}, codes)
        return root / "data" / "0.parquet", "'code'"
    if kind == "wrong type":
        write_meds(root, {"0": good.with_columns(pl.col("subject_id").cast(pl.Int32))}, codes)
        return root / "data" / "0.parquet", "'subject_id'"
    if kind == "subject split across shards":
        write_meds(root, {"0": good, "1": data_frame(_good_rows(2, start=12))}, codes)
        return root / "data" / "1.parquet", "'subject_id'"
    if kind == "times out of order":
        write_meds(root, {"0": pl.concat([good.head(5), good.slice(5, 1).with_columns(time=datetime(2099, 1, 1)),
                                          good.slice(6)])}, codes)  # fmt: skip
        return root / "data" / "0.parquet", "'time'"
    if kind == "codes without code":
        write_meds(root, {"0": good}, codes.drop("code"))
        return root / "metadata" / "codes.parquet", "'code'"
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind",
    ["missing column", "wrong type", "subject split across shards", "times out of order", "codes without code"],
)
def test_schema_violations_are_one_line_errors(kind, tmp_path, capsys):
    path, column = _broken(kind, tmp_path / "meds")
    out = tmp_path / "bench"
    assert main(["build-bench", "--meds-dir", str(tmp_path / "meds"), "--output", str(out)]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(f"error: {path} (column {column})")
    assert not out.exists() and not list(tmp_path.glob(".bench.tmp-*"))


def test_label_for_a_subject_not_in_the_data(tmp_path, capsys):
    write_meds(tmp_path / "meds", {"0": data_frame(_good_rows(1) + _good_rows(2))})
    labels = tmp_path / "labels"
    labels.mkdir()
    bad = pl.DataFrame({"subject_id": [1, 77], "prediction_time": [datetime(2100, 1, 1, 6)] * 2,
                        "boolean_value": [True, False]})  # fmt: skip
    bad.write_parquet(labels / "death.parquet")
    out = tmp_path / "ins"
    argv = ["build-ins", "--meds-dir", str(tmp_path / "meds"), "--labels", str(labels), "--output", str(out)]
    assert main(argv) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{labels / 'death.parquet'} (column 'subject_id')" in line and "subject 77" in line
    assert not out.exists()


def test_bad_vocabulary_and_options(tmp_path):
    path = tmp_path / "vocab.yaml"
    path.write_text("rules:\n  - {prefix: 'X//', event_type: labs}\n")
    with pytest.raises(InputError, match="unknown event type 'labs'"):
        Vocabulary.load(path)
    path.write_text("rules:\n  - {prefix: 'X//', event_type: labevents, keys: {item_name: 'part:x'}}\n")
    with pytest.raises(InputError, match="needs a component number"):
        Vocabulary.load(path)
    with pytest.raises(Exception, match="exactly one of --mimic-dir and --meds-dir"):
        BuildConfig(mimic_dir="a", meds_dir="b", output="o")

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 labels``: ACES on the MIMIC-IV demo MEDS, checked against the MIMIC-IV path's labels of the same stays."""

import json
from pathlib import Path

import polars as pl
import pytest

from ehr_r1 import cli
from ehr_r1.cli_args import parse_args
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.labels import LABEL_SCHEMA, LabelsConfig, check_subjects, make_labels, task_name
from ehr_r1.tasks.labels import read_label_file as read_labels


REPO = Path(__file__).resolve().parents[1]
DEMO_MEDS = REPO.parent / "shared" / "data" / "mimic-iv-demo-meds"
ACES = REPO / "dataset_builders" / "aces"
ICU_TASK = ACES / "mortality" / "in_icu" / "first_24h.yaml"
PREDICATES = ACES / "MIMIC-IV" / "predicates.yaml"
TASK = "mortality_in_icu_first_24h"


@pytest.fixture(scope="module")
def meds_demo() -> Path:
    if not (DEMO_MEDS / "data").is_dir():
        pytest.skip(f"MIMIC-IV demo MEDS not found at {DEMO_MEDS}")
    return DEMO_MEDS


@pytest.fixture(scope="module")
def label_dir(meds_demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("labels") / "labels"
    argv = ["--meds-dir", str(meds_demo), "--aces-config", str(ICU_TASK), "--predicates", str(PREDICATES)]
    make_labels(parse_args(LabelsConfig, [*argv, "--output", str(out)]))
    return out


@pytest.fixture(scope="module")
def mimic_stays(mimic_demo, tmp_path_factory) -> pl.DataFrame:
    """Every ICU stay of the MIMIC-IV path (reader → timeline → task index, ICU_Mortality_7day, no context filter):
    subject_id, intime, outtime, dod, the 7-day label, and the next ICU admission of the patient."""
    from ehr_r1.sources.mimic import MimicSource
    from ehr_r1.tasks.catalogue import get_task
    from ehr_r1.tasks.index import IndexConfig, build_index
    from ehr_r1.timeline import build_timelines

    source = MimicSource(str(mimic_demo), None, 4, False)
    (shard,) = build_timelines(source, tmp_path_factory.mktemp("timelines"), 1)
    timeline = pl.read_parquet(shard)
    no_filter = IndexConfig(min_context_events=0, max_context_events=10**6, max_patient_events=10**7)
    index = build_index(timeline, no_filter, [get_task("ICU_Mortality_7day")])
    events = timeline.group_by("subject_id", "event_idx").agg(pl.col("table", "start", "aux_time").first())
    dod = events.filter(pl.col("table") == "patients").select("subject_id", dod="aux_time")
    stays = index.join(events, left_on=["subject_id", "target_idx"], right_on=["subject_id", "event_idx"])
    stays = stays.select(
        "subject_id", intime="start", outtime="aux_time", mortality_7day=pl.col("labels").list.first()
    )
    stays = stays.sort("subject_id", "intime").with_columns(next_icu=pl.col("intime").shift(-1).over("subject_id"))
    return stays.join(dod, on="subject_id", how="left")


def test_label_folder_layout_and_manifest(label_dir):
    files = sorted(p.name for p in label_dir.iterdir())
    assert files == ["manifest.json", f"{TASK}.parquet"]
    assert dict(pl.read_parquet_schema(label_dir / f"{TASK}.parquet")) == LABEL_SCHEMA
    labels = read_labels(label_dir / f"{TASK}.parquet")
    manifest = json.loads((label_dir / "manifest.json").read_text())
    assert manifest["command"] == "labels" and manifest["aces_version"] == "0.7.3"
    counts = manifest["tasks"][TASK]
    assert counts == {"labels": labels.height, "positive": int(labels["boolean_value"].sum()),
                      "subjects": labels["subject_id"].n_unique()}  # fmt: skip
    assert labels.sort("subject_id", "prediction_time").equals(labels)


def test_aces_icu_mortality_agrees_with_the_mimic_path(label_dir, mimic_stays):
    """The ACES in-ICU mortality labels (MEDS demo) against the MIMIC-IV path's stays of the same patients.

    Every ACES label is a MIMIC-IV ICU stay (prediction time = intime + 24 h), and its label is exactly the MIMIC-IV
    path's "died during this ICU stay" (the patient's ``dod`` on or before the day of the stay's ``outtime``): 74 of
    74 stays, 9 positive, on the demo. What differs, and why:

    - ACES labels fewer stays (74 of the MIMIC path's 140): the task leaves out stays that end (ICU discharge or
      death) or meet another ICU admission within 48 h of the ICU admission; each of the 66 other stays does.
    - Against the MIMIC path's ``ICU_Mortality_7day`` rule (``dod`` less than 7 days after the context end) 5 of the
      74 labels differ: 4 patients died in the ICU more than 7 days after the context (ACES yes, 7-day no) and 1 died
      within 7 days but after leaving the ICU (ACES no, 7-day yes). Both follow from the definitions.
    """
    aces = read_labels(label_dir / f"{TASK}.parquet").with_columns(
        intime=pl.col("prediction_time") - pl.duration(hours=24)
    )
    joined = aces.join(mimic_stays, on=["subject_id", "intime"], how="left")
    assert joined["outtime"].null_count() == 0, "an ACES label that is no MIMIC-IV ICU stay"
    in_icu = pl.col("dod").is_not_null() & (pl.col("dod").dt.date() <= pl.col("outtime").dt.date())
    joined = joined.with_columns(mimic_in_icu=in_icu, mimic_7day=pl.col("mortality_7day") == "yes")
    assert joined.filter(pl.col("boolean_value") != pl.col("mimic_in_icu")).height == 0
    assert joined.height == 74 and int(joined["boolean_value"].sum()) == 9

    # the stays ACES leaves out all end, or meet the next ICU admission, within the 48 h gap
    left_out = mimic_stays.join(aces, on=["subject_id", "intime"], how="anti")
    gap_end = pl.col("intime") + pl.duration(hours=48)
    explained = (pl.col("outtime") <= gap_end) | (pl.col("next_icu") <= gap_end) | (pl.col("dod") <= gap_end)
    assert left_out.height == mimic_stays.height - aces.height == 140 - 74
    assert left_out.filter(~explained).height == 0

    # the 7-day rule differs exactly where the definitions do
    differ = joined.filter(pl.col("boolean_value") != pl.col("mimic_7day"))
    late_icu_death = differ.filter(
        pl.col("boolean_value") & (pl.col("dod") >= pl.col("prediction_time") + pl.duration(days=7))
    )
    ward_death = differ.filter(~pl.col("boolean_value") & (pl.col("dod").dt.date() > pl.col("outtime").dt.date()))
    assert (late_icu_death.height, ward_death.height) == (4, 1)
    assert late_icu_death.height + ward_death.height == differ.height


def test_console_command_exit_status_and_no_partial_output(meds_demo, tmp_path, monkeypatch, capsys):
    help_line = "ACES task configs on a MEDS folder -> <task_name>.parquet label files (risk tasks for build-bench)."
    monkeypatch.setitem(cli.COMMANDS, "labels", ("ehr_r1.commands.labels", help_line))
    out = tmp_path / "labels"
    base = ["labels", "--meds-dir", str(meds_demo), "--output", str(out), "--aces-config", str(ICU_TASK)]
    assert cli.main(base) == 2  # a MEDS-DEV template without --predicates
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(ICU_TASK) in err and "'icu_admission' is ???" in err
    assert not out.exists() and not list(tmp_path.glob(".labels.*"))

    other = tmp_path / "in_hospital.yaml"
    other.write_text(
        ICU_TASK.read_text().replace("icu_admission: ???", "icu_admission: {code: {regex: '^HOSPITAL_ADMISSION//'}}")
    )
    assert cli.main([*base, str(other), "--predicates", str(PREDICATES), "--task-names", "icu", "hosp"]) == 0
    assert sorted(p.name for p in out.glob("*.parquet")) == ["hosp.parquet", "icu.parquet"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tasks"]["hosp"]["labels"] > 0 and manifest["tasks"]["icu"]["labels"] == 74
    assert cli.main([*base, "--predicates", str(PREDICATES)]) == 0  # a rerun replaces its own folder
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"{TASK}.parquet"]


def test_label_for_a_subject_not_in_the_data_is_a_named_error(label_dir, meds_demo, tmp_path):
    labels = read_labels(label_dir / f"{TASK}.parquet")
    check_subjects(labels, meds_demo, "labels")  # ACES only labels subjects of the data
    stray = pl.concat([labels, labels.head(1).with_columns(subject_id=pl.lit(99_999_999, pl.Int64))])
    path = tmp_path / "stray.parquet"
    stray.write_parquet(path)
    with pytest.raises(
        InputError, match=r"stray\.parquet \(column 'subject_id'\): label for subject 99999999 \(1 subject"
    ):
        check_subjects(read_labels(path), meds_demo, path)


@pytest.mark.parametrize(
    "frame, column",
    [
        (
            pl.DataFrame({"subject_id": [1], "prediction_time": ["2100-01-01"], "boolean_value": [True]}),
            "prediction_time",
        ),
        (pl.DataFrame({"subject_id": [1], "boolean_value": [True]}), "prediction_time"),
        (pl.DataFrame({"subject_id": [1.0], "prediction_time": [None], "boolean_value": [True]}), "subject_id"),
    ],
)
def test_bad_label_files_name_file_and_column(tmp_path, frame, column):
    path = tmp_path / "bad.parquet"
    frame.write_parquet(path)
    with pytest.raises(InputError, match=rf"bad\.parquet \(column '{column}'\)"):
        read_labels(path)


def test_task_names_and_bad_configs(tmp_path, meds_demo):
    assert task_name(ICU_TASK) == TASK
    assert task_name(tmp_path / "my_task.yaml") == "my_task"
    no_label = tmp_path / "no_label.yaml"
    no_label.write_text(ICU_TASK.read_text().replace("    label: death\n", ""))
    cfg = LabelsConfig(str(meds_demo), [str(no_label)], str(tmp_path / "out"), str(PREDICATES))
    with pytest.raises(InputError, match=r"no_label\.yaml: no window has a `label:`"):
        make_labels(cfg)
    with pytest.raises(EhrR1Error, match="share the name"):
        LabelsConfig(str(meds_demo), [str(ICU_TASK), str(ICU_TASK)], str(tmp_path / "o")).names()
    assert not (tmp_path / "out").exists()


def test_a_nested_template_predicate_left_unfilled_is_refused(tmp_path, meds_demo):
    """MEDS-DEV also writes `name: {code: ???, ...}` (abnormal-lab tasks): refused unless --predicates defines it."""
    template = tmp_path / "sodium.yaml"
    text = ICU_TASK.read_text().replace(
        "predicates:\n", "predicates:\n  sodium_meql:\n    code: ???\n    value_max: 135\n", 1
    )
    template.write_text(text)
    cfg = LabelsConfig(str(meds_demo), [str(template)], str(tmp_path / "out"), str(PREDICATES))
    with pytest.raises(InputError, match=r"sodium\.yaml: predicate 'sodium_meql' is \?\?\?"):
        make_labels(cfg)
    assert not (tmp_path / "out").exists()

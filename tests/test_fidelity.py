# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Fidelity to the reference: no label leakage, the reference's windows and headers, and its exact texts."""

from datetime import datetime, timedelta

import polars as pl
import pytest
from test_tasks import LOOSE, T0, lab, rows_of, timeline

from ehr_r1.audit import leakage_audit
from ehr_r1.builder import BuildConfig, build_dataset
from ehr_r1.tasks.catalogue import ALL_TASKS, DECISION_TASKS, NEXT_EVENT, RISK_TASKS, get_task
from ehr_r1.tasks.index import IndexConfig, build_index


PREFIX = "Given the sequence of events that have occurred in a hospital, please "
# The released reference's instructions (mimiciv_dataset/mimiciv.py), byte for byte: odd ends are the reference's.
RISK_INSTRUCTIONS = {
    "ED_Hospitalization": "predict whether the patient will be hospitalized after the emergency room visit.",
    "ED_Inpatient_Mortality": "predict whether the patient will die during hospitalization.",
    "ED_ICU_Tranfer_12hour": "predict whether the patient will be transferred to the ICU within 12 hours after the "
    "emergency room.",
    "ED_Reattendance_3day": "predict whether the patient will return to the emergency department within 72 hours after "
    "the emergency visit.",
    "ED_Critical_Outcomes": "predict whether the patient will die during hospitalization or will be transferred to the "
    "ICU within 12 hours after the emergency room.",
    "Readmission_30day": "predict whether the patient will be readmitted to the hospital within 30 days",
    "Readmission_60day": "predict whether the patient will be readmitted to the hospital within 60 days",
    "Inpatient_Mortality": "predict whether the patient will die during hospitalization.",
    "LengthOfStay_3day": "predict whether the patient's hospital stay will exceed 3 days.",
    "LengthOfStay_7day": "predict whether the patient's hospital stay will exceed 7 days",
    "ICU_Mortality_1day": "predict whether the patient will die within 1 day.",
    "ICU_Mortality_2day": "predict whether the patient will die within 2 day.",
    "ICU_Mortality_3day": "predict whether the patient will die within 3 day.",
    "ICU_Mortality_7day": "predict whether the patient will die within 7 day.",
    "ICU_Mortality_14day": "predict whether the patient will die within 14 day.",
    "ICU_Stay_7day": "predict whether the patient will stay in the ICU for more than 7 days.",
    "ICU_Stay_14day": "predict whether the patient will stay in the ICU for more than 14 days.",
    "ICU_Readmission": "predict whether the patient will be admitted to the ICU again during this hospitalization",
}
DM_SUBJECTS = {
    "admissions": "Admissions", "omr": "Online Medical Record",
    "procedures_icd": "Procedures International Classification of Diseases Item",
    "procedures_ccs": "Procedures Clinical Classifications Software Item",
    "diagnoses_icd": "Diagnoses International Classification of Diseases Item",
    "diagnoses_ccs": "Diagnoses Clinical Classifications Software Item", "labevents": "Labotary Test Events",
    "microbiologyevents": "Microbiology Test Events", "services": "Services", "transfers": "Transfers",
    "emar": "Electronic Medicine Administration Record", "poe": "Provider Order Entry",
    "prescriptions": "Prescriptions",
    "prescriptions_atc": "Anatomical Therapeutic Chemical Classification Prescriptions",
    "radiology": "Radiology Examinations", "medrecon": "ED Medrecon",
    "medrecon_atc": "ED Medrecon on Anatomical Therapeutic Chemical (ATC) Classification", "pyxis": "ED Pyxis",
    "diagnosis": "ED Diagnoses on International Classification of Diseases",
    "diagnosis_ccs": "ED Diagnoses on Clinical Classifications Software Item", "chartevents": "Chart Events",
    "ingredientevents": "Ingredient Events", "datetimeevents": "Datetime Events", "procedureevents": "Procedure Events",
    "inputevents": "Input Events", "outputevents": "Output Events", "next_event": "event",
}  # fmt: skip
RECALL_TASKS = {
    "procedures_icd", "procedures_ccs", "diagnoses_icd", "diagnoses_ccs", "prescriptions", "prescriptions_atc",
    "medrecon", "medrecon_atc", "diagnosis", "diagnosis_ccs",
}  # fmt: skip


def test_the_18_risk_and_27_decision_instructions_are_the_reference_text():
    assert {t.name: t.instruction for t in RISK_TASKS} == {k: PREFIX + v for k, v in RISK_INSTRUCTIONS.items()}
    got = {t.name: t.instruction for t in (*DECISION_TASKS, NEXT_EVENT)}
    assert got == {k: f"{PREFIX}give the next {v} suggestion for the patients." for k, v in DM_SUBJECTS.items()}
    assert "next next" not in NEXT_EVENT.instruction


def test_task_info_metric_names_are_the_reference_ones():
    for name, task in ALL_TASKS.items():
        expected = "aucroc" if name in RISK_INSTRUCTIONS else "acc" if name == "next_event" else "em"
        assert task.metric == ("recall" if name in RECALL_TASKS else expected), name
    assert get_task("transfers").reference_target_key == "eventtype"
    assert get_task("radiology").reference_target_key == "exam_name"


def _ed_visit_leading_to_admission() -> list[tuple]:
    ed_in, admit, ed_out = T0 - timedelta(hours=4), T0, T0 + timedelta(hours=1)
    return [
        ("edstays", ed_in, 10, ed_out, ["F", "WHITE"]),
        ("triage", ed_in + timedelta(seconds=1), None, None, ["98.6"] + [None] * 8),
        lab(ed_in + timedelta(minutes=30)),  # an ED lab draw, before the decision to admit
        ("admissions", admit, 10, T0 + timedelta(days=3), ["EW EMER.", "EMERGENCY ROOM", None]),
        ("services", admit + timedelta(minutes=10), 10, None, ["MED"]),  # exists only because of the admission
        ("vitalsign", admit + timedelta(minutes=30), None, None, ["98.1"] + [None] * 7),
    ]


@pytest.mark.parametrize("ed_context", ["until_admission", "reference"])
def test_ed_context_has_no_header_of_the_admission_it_leads_to(ed_context):
    cfg = IndexConfig(min_context_events=0, max_context_events=10_000, ed_context=ed_context)
    index = build_index(timeline(_ed_visit_leading_to_admission()), cfg, [get_task("ED_Hospitalization")])
    (sample,) = rows_of(index, "ED_Hospitalization")
    assert sample["labels"] == ["yes"] and sample["admissions_id"] is None  # the header leaked the label before
    # until_admission stops before the admission (its services row), the reference runs to ED out time
    assert (sample["begin"], sample["end"]) == ((1, 4) if ed_context == "until_admission" else (1, 7))


def test_untimed_discharge_rows_never_enter_a_risk_window():
    intime = T0 + timedelta(hours=1)
    events = [
        ("admissions", T0, 10, T0 + timedelta(hours=20), ["URGENT", "ER", None]),
        ("icustays", intime, 10, T0 + timedelta(hours=19), []),
        lab(intime + timedelta(hours=2)),
        lab(T0 + timedelta(hours=18), item="Lactate"),
        ("diagnoses_icd", None, 10, None, ["Sepsis", "Septicemia"]),  # untimed: placed after the admission's rows
        ("drgcodes", None, 10, None, []),
    ]
    tasks = [get_task("ICU_Mortality_1day"), get_task("Inpatient_Mortality")]
    index = build_index(timeline(events, dod=datetime(2150, 1, 1)), LOOSE, tasks)
    for row in index.to_dicts():
        assert row["end"] == 5, row  # the window ends at the last timed event, before the discharge diagnoses


def test_history_is_the_latest_note_only_when_it_is_another_admissions():
    events = [
        ("admissions", T0, 9, T0 + timedelta(days=2), ["URGENT", "ER", None]),
        ("discharge", T0 + timedelta(days=2), 9, None, ["DS", "first stay"]),
        ("admissions", T0 + timedelta(days=30), 10, T0 + timedelta(days=33), ["URGENT", "ER", None]),
        lab(T0 + timedelta(days=30, hours=1)),
        ("discharge", T0 + timedelta(days=33), 10, None, ["DS", "second stay"]),
    ]
    index = build_index(timeline(events), LOOSE, [get_task("Readmission_30day"), get_task("LengthOfStay_3day")])
    by_task = {r["task"]: r for r in index.filter(pl.col("hadm_id") == 10).to_dicts()}
    assert by_task["LengthOfStay_3day"]["last_discharge_id"] == 2  # the first stay's note: another admission
    assert by_task["LengthOfStay_3day"]["admissions_id"] == 3
    # the discharge note anchor is itself the latest note, of its own admission: no history (the reference)
    assert by_task["Readmission_30day"]["last_discharge_id"] is None


def test_reference_patient_filter_and_timed_next_event_targets():
    events = [lab(T0 + timedelta(minutes=i), item=f"L{i % 3}") for i in range(40)]
    events.insert(20, ("diagnoses_icd", None, 10, None, ["Sepsis", "Septicemia"]))
    index = build_index(timeline(events), LOOSE, [NEXT_EVENT])
    assert index.height and "diagnoses_icd" not in {x for r in index["labels"] for x in r}
    small = IndexConfig(min_context_events=0, max_context_events=10_000, max_patient_events=30)
    assert build_index(timeline(events), small, [NEXT_EVENT]).is_empty()  # 42 events > 30: patient dropped


def test_audit_flags_a_planted_leak_and_nothing_else():
    n = 40
    rows = pl.DataFrame(
        {
            "task": ["T"] * n,
            "task_type": ["risk_prediction"] * n,
            "output": ["yes", "no"] * (n // 2),
            "input": [
                "## Patient Demographics [None]\n- Gender: F\n\n## Labotary Test Events [2150-01-01 00:00:00]\n- x: 1"
                + ("\n\n## Services [2150-01-01 00:00:00]\n- Curr_Service: MED" if i % 2 == 0 else "")
                for i in range(n)
            ],
        }
    )
    audit = leakage_audit(rows)
    assert [(f["task"], f["event"]) for f in audit["flagged"]] == [("T", "Services")]
    assert audit["shares"]["T"]["Labotary Test Events"] == [1.0, 1.0]


@pytest.fixture(scope="module")
def synthetic_builds(tmp_path_factory):
    from ehr_r1.synth import SynthConfig, write_synthetic_mimic

    root = tmp_path_factory.mktemp("fidelity")
    write_synthetic_mimic(root / "mimic", SynthConfig(patients=400, seed=3))
    sampling = root / "risk.yaml"
    sampling.write_text("name: ehr-ins\nsplit: train\ndefault_quota: -1\nbalance_risk: false\n")
    tasks = [t.name for t in RISK_TASKS]
    ins = build_dataset(
        BuildConfig(str(root / "mimic"), str(root / "ins"), "ehr-ins", sampling=str(sampling), tasks=tasks)
    )
    bench = build_dataset(BuildConfig(str(root / "mimic"), str(root / "bench"), tasks=tasks))
    return root, ins, bench


def test_no_synthetic_input_reveals_its_label_by_event_presence(synthetic_builds):
    root, ins, bench = synthetic_builds
    for manifest in (ins, bench):
        assert manifest["leakage_audit"]["flagged"] == []
    assert ins["counts"]["ED_Hospitalization"] > 20 and ins["counts"]["Inpatient_Mortality"] > 100
    rows = pl.read_parquet(root / "ins" / "data" / "risk_prediction" / "*" / "*.parquet")
    ed = rows.filter(pl.col("task").str.starts_with("ED_"))
    assert not ed["input"].str.contains("## Admissions [", literal=True).any()
    card = (root / "bench" / "README.md").read_text()
    assert "## Leakage audit" in card and "Nothing is flagged" in card


def test_demo_icu_positives_carry_no_discharge_diagnoses(mimic_demo, tmp_path):
    sampling = tmp_path / "all.yaml"
    sampling.write_text("name: ehr-ins\nsplit: train\ndefault_quota: -1\nbalance_risk: false\n")
    tasks = ["ICU_Mortality_1day", "ICU_Mortality_2day", "Inpatient_Mortality", "LengthOfStay_3day"]
    manifest = build_dataset(
        BuildConfig(str(mimic_demo), str(tmp_path / "ins"), "ehr-ins", sampling=str(sampling), tasks=tasks)
    )
    assert manifest["leakage_audit"]["flagged"] == []
    rows = pl.read_parquet(tmp_path / "ins" / "data" / "risk_prediction" / "*" / "*.parquet")
    icu = rows.filter(pl.col("task") == "ICU_Mortality_1day")
    assert icu.height > 20 and (icu["output"] == "yes").any()
    assert not icu["input"].str.contains("## Diagnoses on International", literal=True).any()
    assert rows["input"].str.contains("- Admission_Info: None", literal=True).all()  # printed as the reference does


def test_stage_two_holds_the_chains_plus_a_set_share_of_direct_answers(mimic_demo, tmp_path):
    plain = tmp_path / "plain"
    build_dataset(BuildConfig(str(mimic_demo), str(plain), "ehr-ins", max_per_task=20))
    dm = pl.read_parquet(plain / "data" / "decision_making" / "*" / "*.parquet").sort("idx").head(30)
    chains = tmp_path / "chains.jsonl"
    chains.write_text("".join(f'{{"idx": "{i}", "reasoning": "## Extraction\\nchain {i}"}}\n' for i in dm["idx"]))
    out = tmp_path / "mixed"
    build_dataset(
        BuildConfig(
            str(mimic_demo), str(out), "ehr-ins", max_per_task=20, reasoning_file=str(chains), no_think_share=0.25
        )
    )
    reasoning = pl.read_parquet(out / "data" / "reasoning" / "*.parquet")
    sft = pl.read_parquet(out / "data" / "sft" / "*.parquet")
    assert reasoning.height == 40 and reasoning["think"].sum() == 30  # 30 chains + 10 direct answers = 25 %
    assert sft.height > 200  # stage 1 keeps every sample
    think = reasoning.filter(pl.col("think"))
    assert set(think["idx"]) == set(dm["idx"])
    for messages in think["messages"]:
        assert messages[1]["content"].endswith("\n/think")
        assert messages[2]["content"].startswith("<think>\n## Extraction\nchain ")
    for messages in reasoning.filter(~pl.col("think"))["messages"]:
        assert messages[1]["content"].endswith("\n/no_think")
        assert messages[2]["content"].startswith("<think>\n\n</think>\n\n")

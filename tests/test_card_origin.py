# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Dataset cards name the real source of their data: a MEDS build of another hospital's data does not claim MIMIC-IV
(gated, owner-approval gate, `--meds-dir` command), a MEDS build of the MIMIC-IV MEDS ETL keeps the PhysioNet gate, and
the push guard treats both as derived (gated, private only)."""

import json
from pathlib import Path

import pytest
from meds_factory import omop_fixture

from ehr_r1 import hub, layout, provenance
from ehr_r1.cards import MIMIC_GATE
from ehr_r1.cli import main
from ehr_r1.errors import EhrR1Error


MEDS_DEMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "mimic-iv-demo-meds"
HOSPITAL = "Northwind General Hospital EHR"
OMOP_ARGS = ["--meds-vocab", "omop", "--tasks", "labevents", "--min-context-events", "2", "--max-per-task", "5"]


def _bench(meds_dir: Path, out: Path, *extra: str) -> Path:
    assert main(["build-bench", "--meds-dir", str(meds_dir), "--output", str(out), *extra]) == 0
    return out


def _card(folder: Path) -> tuple[dict, str]:
    return layout.read_card_metadata(folder), layout.split_front_matter((folder / layout.CARD).read_text())[1]


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Path:
    """A bench built from an OMOP-vocabulary MEDS folder whose dataset.json names another hospital."""
    root = tmp_path_factory.mktemp("origin")
    meds = omop_fixture(root / "nw-meds", subjects=12)
    info = {"dataset_name": HOSPITAL, "dataset_version": "2025.2", "etl_name": "nw_omop_etl", "etl_version": "1.3"}
    (meds / "metadata" / "dataset.json").write_text(json.dumps(info))
    return _bench(meds, root / "bench", *OMOP_ARGS)


@pytest.fixture(scope="module")
def mimic_meds(tmp_path_factory) -> Path:
    if not (MEDS_DEMO / "metadata" / "dataset.json").is_file():
        pytest.skip(f"MEDS demo not found at {MEDS_DEMO}")
    return _bench(MEDS_DEMO, tmp_path_factory.mktemp("origin-mimic") / "bench", "--max-per-task", "3")


def test_other_hospital_card_names_its_source_and_never_mimic(hospital):
    meta, body = _card(hospital)
    assert "mimic" not in (hospital / layout.CARD).read_text().lower()
    assert meta["license"] == "other" and "license_name" not in meta and "license_link" not in meta
    assert meta["gated"] is True and "meds" in meta["tags"] and "synthetic" not in meta["tags"]
    assert HOSPITAL in meta["extra_gated_prompt"] and "data owner" in meta["extra_gated_prompt"]
    assert "PhysioNet" not in json.dumps({k: v for k, v in meta.items() if k.startswith("extra_gated")})
    assert any(v == "checkbox" and "data owner's approval" in k for k, v in meta["extra_gated_fields"].items())
    assert f"Derived from {HOSPITAL} (a MEDS folder)" in body and "gated, private" in body
    assert "`ehr-r1 build-bench --meds-dir <MEDS folder> --meds-vocab omop --output <folder>" in body
    assert f"MEDS events of {HOSPITAL} (version 2025.2, ETL nw_omop_etl 1.3)" in body
    assert f"| {HOSPITAL} source data (MEDS folder) | **no**" in body
    assert "licence: not stated in the folder's `metadata/dataset.json`" in body


def test_push_guard_treats_other_hospital_data_as_derived(hospital, tmp_path):
    assert not provenance.dataset_is_synthetic(hospital)
    hub.check_dataset_card(hospital, layout.read_card_metadata(hospital), derived=True)  # its gate passes the guard
    with pytest.raises(EhrR1Error, match="cannot go to a public repo"):
        hub.push_dataset(hospital, "someone/northwind-bench", private=False)
    meta, body = _card(hospital)
    ungated = tmp_path / "ungated"
    ungated.mkdir()
    meta.pop("gated")
    (ungated / layout.CARD).write_text(layout.card_text(meta, body))
    with pytest.raises(EhrR1Error, match="without the DUA gate"):
        hub.check_dataset_card(ungated, layout.read_card_metadata(ungated), derived=True)


def test_unnamed_meds_folder_is_named_by_its_folder_and_licence_kept(tmp_path):
    meds = omop_fixture(tmp_path / "clinic-7-export", subjects=12)
    meta, body = _card(_bench(meds, tmp_path / "bench", *OMOP_ARGS))
    assert "mimic" not in (tmp_path / "bench" / layout.CARD).read_text().lower()
    assert meta["gated"] is True and "clinic-7-export" in meta["extra_gated_prompt"]
    assert "Derived from clinic-7-export (a MEDS folder)" in body
    (meds / "metadata" / "dataset.json").write_text(json.dumps({"license": "Clinic 7 DUA v2"}))
    meta, body = _card(_bench(meds, tmp_path / "bench2", *OMOP_ARGS))
    assert meta["license"] == "other" and meta["license_name"] == "clinic-7-dua-v2" and meta["gated"] is True
    assert "licence: Clinic 7 DUA v2" in body


def test_malformed_dataset_json_is_one_line_error_and_no_output(tmp_path, capsys):
    meds = omop_fixture(tmp_path / "meds", subjects=12)
    (meds / "metadata" / "dataset.json").write_text('{"dataset_name": ')
    out = tmp_path / "bench"
    assert main(["build-bench", "--meds-dir", str(meds), "--output", str(out), *OMOP_ARGS]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(meds / "metadata" / "dataset.json") in errors[0] and "malformed JSON" in errors[0]
    assert not out.exists()


def test_mimic_meds_build_keeps_the_physionet_gate_and_shows_meds_dir(mimic_meds):
    meta, body = _card(mimic_meds)
    assert meta["license_name"] == "physionet-credentialed-health-data-license-1.5.0" and meta["gated"] is True
    assert {k: meta[k] for k in MIMIC_GATE} == MIMIC_GATE
    assert {"mimic-iv", "meds"} <= set(meta["tags"]) and "synthetic" not in meta["tags"]
    info = json.loads((MEDS_DEMO / "metadata" / "dataset.json").read_text())
    assert f"Derived from MIMIC-IV (MEDS folder: {info['dataset_name']} {info['dataset_version']}" in body
    assert "`ehr-r1 build-bench --meds-dir <MEDS folder> --output <folder>" in body and "--mimic-dir" not in body
    assert "codes read with the `mimic_iv_meds` vocabulary" in body
    assert "convert it with the MIMIC-IV MEDS ETL" in body
    assert not provenance.dataset_is_synthetic(mimic_meds)
    hub.check_dataset_card(mimic_meds, meta, derived=True)
    with pytest.raises(EhrR1Error, match="cannot go to a public repo"):
        hub.push_dataset(mimic_meds, "someone/mimic-meds-bench", private=False)


def test_reasoning_card_of_other_hospital_data_keeps_its_gate_and_never_says_mimic(hospital):
    from ehr_r1.reasoning.writer import _body, front_matter

    ins_card, _ = _card(hospital)  # the reasoning card copies its EHR-Ins card's licence and gate
    meta = front_matter(ins_card, 10)
    manifest = {"teacher": {"kind": "template"}, "knowledge": [], "counts": {}}
    body = _body(meta, manifest)
    assert meta["gated"] is True and "mimic-iv" not in meta["tags"]
    assert {k: v for k, v in meta.items() if k.startswith("extra_gated")} == {
        k: v for k, v in ins_card.items() if k.startswith("extra_gated")
    }
    assert "Restricted data" in body and "mimic" not in body.lower()
    mimic = front_matter({**ins_card, "tags": ["mimic-iv"]}, 10)
    assert "Derived from MIMIC-IV" in _body(mimic, manifest)


def test_a_model_trained_on_other_hospital_data_is_gated_for_that_data_owner(hospital, mimic_meds, tmp_path):
    from huggingface_hub import ModelCard

    from ehr_r1.model_card import write_model_card

    def card_for(dataset: Path, name: str) -> ModelCard:
        folder = tmp_path / name
        folder.mkdir()
        record = {"stage": "domain", "dataset": str(dataset), "base_model": "Qwen/Qwen3-1.7B",
                  "derived_from_mimic": True, "steps": 2, "final_loss": 1.0}  # fmt: skip
        (folder / "ehr_r1_training.json").write_text(json.dumps(record))
        return ModelCard.load(write_model_card(folder))

    meta = card_for(hospital, "hospital-model").data.to_dict()
    assert meta["gated"] is True and meta["license"] == "other" and "physionet" not in json.dumps(meta).lower()
    assert HOSPITAL in meta["extra_gated_prompt"] and meta["extra_gated_prompt"].startswith("This model was trained")
    mimic = card_for(mimic_meds, "mimic-model").data.to_dict()  # MIMIC-IV through the MEDS ETL: the PhysioNet gate
    assert mimic["license_name"] == "physionet-credentialed-health-data-license-1.5.0"
    assert {k: mimic[k] for k in MIMIC_GATE if k != "extra_gated_prompt"} == {
        k: v for k, v in MIMIC_GATE.items() if k != "extra_gated_prompt"
    }

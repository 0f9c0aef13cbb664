# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""build-bench / build-ins on the real MIMIC-IV demo: layout, loading, determinism, disjointness, atomicity."""

import json
from pathlib import Path

import datasets
import polars as pl
import pytest
import yaml

from ehr_r1 import builder
from ehr_r1.builder import BuildConfig, build_dataset
from ehr_r1.errors import EhrR1Error
from ehr_r1.manifest import file_sha256
from ehr_r1.truncation import blocks_of_text


SEED = 7


@pytest.fixture(scope="module")
def bench(tmp_path_factory, mimic_demo, ethos_mappings) -> Path:
    out = tmp_path_factory.mktemp("b") / "ehr-bench"
    build_dataset(BuildConfig(str(mimic_demo), str(out), seed=SEED, atc_map=str(ethos_mappings), format="jsonl"))
    return out


@pytest.fixture(scope="module")
def ins(tmp_path_factory, mimic_demo, bench) -> Path:
    tmp = tmp_path_factory.mktemp("i")
    config = tmp / "small_ins.yaml"  # EHR-Ins with small caps, to keep the test fast
    config.write_text("name: ehr-ins\nsplit: train\ndefault_quota: 40\nbalance_risk: false\n")
    out = tmp / "ehr-ins"
    cfg = BuildConfig(
        str(mimic_demo),
        str(out),
        dataset="ehr-ins",
        seed=SEED,
        sampling=str(config),
        check_disjoint=str(bench),
        cpt=True,
    )
    build_dataset(cfg)
    return out


def _card(folder: Path) -> dict:
    return yaml.safe_load((folder / "README.md").read_text().split("---")[1])


def test_bench_loads_offline_with_every_config(bench):
    names = datasets.get_dataset_config_names(str(bench))
    assert names[:1] == ["decision_making"] and "risk_prediction" in names and "labevents" in names
    dm = datasets.load_dataset(str(bench), "decision_making", split="test")
    assert set(dm.column_names) == {
        "idx",
        "task",
        "task_type",
        "instruction",
        "input",
        "output",
        "candidates",
        "task_info",
        "subject_id",
        "hadm_id",
    }
    assert set(dm["task_type"]) == {"decision_making"}
    risk = datasets.load_dataset(str(bench), "ICU_Stay_7day", split="test")
    assert set(risk["output"]) <= {"yes", "no"} and all(c == ["yes", "no"] for c in risk["candidates"])


def test_bench_content_and_manifest(bench):
    manifest = json.loads((bench / "manifest.json").read_text())
    frame = pl.read_parquet(bench / "data" / "*" / "*" / "*.parquet")
    assert manifest["counts"] == dict(sorted(frame.group_by("task").len().iter_rows()))
    assert max(manifest["counts"].values()) <= 500 and "next_event" not in manifest["counts"]
    assert manifest["missing_modules"] == ["note", "ed"]
    for rel, digest in manifest["output_fingerprints"].items():
        assert file_sha256(bench / rel) == digest
    for row in frame.head(200).iter_rows(named=True):
        labels = row["output"].split("\n")
        assert labels == sorted(labels) and labels == row["task_info"]["labels"]
        assert row["input"].startswith("## Patient Demographics [None]\n")
        if row["task_type"] == "decision_making":
            assert set(labels) <= set(row["candidates"]) and len(row["candidates"]) <= 100 + len(labels)
    risk = (
        frame.filter(pl.col("task_type") == "risk_prediction")
        .group_by("task")
        .agg(yes=(pl.col("output") == "yes").sum(), no=(pl.col("output") == "no").sum())
    )
    assert (risk["yes"] <= 250).all() and (risk["no"] <= 250).all()  # --balance_force: N // 2 per label at most
    card = _card(bench)
    assert card["gated"] is True and "extra_gated_fields" in card and card["license"] == "other"
    assert "prescriptions_atc" in manifest["counts"]  # ATC via the ethos tables


def test_released_jsonl_layout(bench):
    lines = (bench / "ehr_bench_risk_prediction.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert set(record) == {"idx", "instruction", "input", "output", "candidates", "task_info"}
    assert record["task_info"]["label"] == record["output"] and record["task_info"]["metric"] == "aucroc"
    dm = json.loads((bench / "ehr_bench_decision_making.jsonl").read_text().splitlines()[0])
    assert dm["task_info"]["label"] == dm["output"].split("\n")


def test_same_seed_is_byte_identical_and_a_killed_build_leaves_nothing(
    bench, tmp_path, mimic_demo, ethos_mappings, monkeypatch
):
    out = tmp_path / "again"
    cfg = BuildConfig(str(mimic_demo), str(out), seed=SEED, atc_map=str(ethos_mappings), format="jsonl", num_shards=3)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(builder, "render_samples", killed)
        with pytest.raises(KeyboardInterrupt):
            build_dataset(cfg)
    assert not out.exists()
    build_dataset(cfg)  # re-run after the kill, with another shard count
    first, second = (json.loads((p / "manifest.json").read_text()) for p in (bench, out))
    assert first["output_fingerprints"] == second["output_fingerprints"]
    assert first["input_fingerprints"] == second["input_fingerprints"]


def test_ins_is_patient_disjoint_and_trl_ready(bench, ins):
    manifest = json.loads((ins / "manifest.json").read_text())
    assert manifest["split"] == "train" and manifest["disjointness"]["overlap"] == 0
    assert max(manifest["counts"].values()) <= 40
    ins_subjects = set(pl.read_parquet(ins / "data" / "*" / "*" / "*.parquet")["subject_id"])
    bench_subjects = set(pl.read_parquet(bench / "data" / "*" / "*" / "*.parquet")["subject_id"])
    assert ins_subjects and bench_subjects and not ins_subjects & bench_subjects
    sft = datasets.load_dataset(str(ins), "sft", split="train")
    first = sft[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"] and not first[1]["content"].endswith("think")
    grpo = datasets.load_dataset(str(ins), "grpo", split="train")
    for row in grpo.select(range(50)):
        suffix = "\n/think" if row["task_type"] == "decision_making" else "\n/no_think"
        assert row["prompt"][-1]["content"].endswith(suffix)
    frame = pl.read_parquet(ins / "data" / "grpo" / "*.parquet")  # datasets 5.2 may serve a cached older folder
    share = pl.len().over("task", "output") / pl.len().over("task")  # the class-balanced reward's prevalence
    risk = frame.filter(pl.col("task_type") == "risk_prediction")
    assert risk.height and ((risk["label_prevalence"] - risk.select(share).to_series()).abs() < 1e-9).all()
    assert frame.filter(pl.col("task_type") == "decision_making")["label_prevalence"].is_null().all()
    assert not (ins / "data" / "reasoning").exists()  # stage 2 trains on reasoning chains: none were given
    cpt = datasets.load_dataset(str(ins), "cpt", split="train")
    assert set(cpt["subject_id"]) >= ins_subjects and not set(cpt["subject_id"]) & bench_subjects
    assert cpt[0]["text"].startswith("## Patient Demographics")


def test_disjointness_check_catches_overlap(bench, tmp_path, mimic_demo):
    out = tmp_path / "ins-other-seed"
    cfg = BuildConfig(
        str(mimic_demo), str(out), dataset="ehr-ins", seed=SEED + 1, check_disjoint=str(bench), tasks=["labevents"]
    )
    with pytest.raises(EhrR1Error, match="would share patients"):  # refused from the manifests, before any work
        build_dataset(cfg)
    assert not out.exists() and not list(tmp_path.glob(".ins-other-seed.*"))
    same_side = BuildConfig(str(mimic_demo), str(out), seed=SEED, check_disjoint=str(bench), tasks=["labevents"])
    with pytest.raises(EhrR1Error, match="test-split patients too"):
        build_dataset(same_side)


def test_synthetic_mimic_covers_ed_note_and_chartevents_tasks(tmp_path):
    from ehr_r1.synth import SynthConfig, write_synthetic_mimic

    mimic = tmp_path / "synth"
    write_synthetic_mimic(mimic, SynthConfig(patients=300, seed=1))
    out = tmp_path / "bench"
    manifest = build_dataset(BuildConfig(str(mimic), str(out), seed=SEED, max_per_task=50))
    produced = set(manifest["counts"])
    for task in (
        "chartevents",
        "radiology",
        "pyxis",
        "diagnosis",
        "diagnosis_ccs",
        "prescriptions_atc",
        "ED_Hospitalization",
        "ED_Reattendance_3day",
        "Readmission_30day",
        "ICU_Mortality_7day",
    ):
        assert task in produced, task
    assert len(produced) >= 40 and max(manifest["counts"].values()) <= 50
    card = _card(out)
    assert "synthetic" in card["tags"] and card["license"] == "apache-2.0" and "gated" not in card


def test_token_budget_drops_oldest_events_and_keeps_header(tmp_path, mimic_demo, tiny_model_dir):
    from transformers import AutoTokenizer

    from ehr_r1 import prompting

    out = tmp_path / "fitted"
    cfg = BuildConfig(
        str(mimic_demo),
        str(out),
        seed=SEED,
        tasks=["labevents", "LengthOfStay_3day"],
        max_per_task=20,
        max_length=1500,
        tokenizer=str(tiny_model_dir),
    )
    manifest = build_dataset(cfg)
    assert manifest["truncation"]["samples_truncated"] > 0 and manifest["truncation"]["events_dropped"] > 0
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = pl.read_parquet(out / "data" / "*" / "*" / "*.parquet")
    for row in rows.iter_rows(named=True):
        chat = prompting.build_messages(
            row["input"],
            row["instruction"],
            think=False,
            completion=prompting.assistant_target(row["output"], think=False),
        )
        n = len(tokenizer(tokenizer.apply_chat_template(chat, tokenize=False), add_special_tokens=False)["input_ids"])
        header, events = blocks_of_text(row["input"])
        assert n <= 1500 or not events  # fits, unless only the header is left
        assert row["input"].startswith("## Patient Demographics") and header

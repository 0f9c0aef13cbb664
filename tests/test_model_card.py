# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Model cards: ``model-index`` from a real ``ehr-r1 eval`` results.json, licence and gate, facts, training callback."""

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard

from ehr_r1 import layout, provenance
from ehr_r1.cards import MIMIC_GATE
from ehr_r1.cli import main
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.model_card import (
    MODEL_CARDS,
    TRAINING_FACTS,
    ModelCardCallback,
    dataset_fingerprint,
    render_model_card,
    write_model_card,
)


REPO = Path(__file__).resolve().parents[1]
TASKS = ["labevents", "poe", "LengthOfStay_3day", "LengthOfStay_7day"]  # a few of each type keep the eval short


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, Path]:
    """Synthetic MIMIC-IV → EHR-Bench and EHR-Ins (same seed, disjoint patients), and a logreg eval of the bench."""
    root = tmp_path_factory.mktemp("mc")
    mimic = root / "mimic"
    assert main(["synth-mimic", "--out", str(mimic), "--patients", "60", "--compression", "none"]) == 0
    assert main(["build-bench", "--mimic-dir", str(mimic), "--output", str(root / "bench")]) == 0
    ins = ["build-ins", "--mimic-dir", str(mimic), "--output", str(root / "ins"), "--max-per-task", "4"]
    assert main(ins) == 0
    out = root / "eval"
    assert main(["eval", "--baseline", "logreg", "--bench", str(root / "bench"), "--output", str(out), "--n-resamples", "20"]) == 0  # fmt: skip
    return {"mimic": mimic, "bench": root / "bench", "ins": root / "ins", "eval": out}


def _checkpoint(tmp_path: Path, **facts) -> Path:
    folder = tmp_path / "checkpoint"
    folder.mkdir(parents=True)
    stage = {"stage": "grpo", "recipe": None, "dataset": None, "dataset_fingerprint": None,
             "base_model": "Qwen/Qwen3-1.7B", "derived_from_mimic": True, "steps": 3, "mean_reward": 0.5}  # fmt: skip
    (folder / TRAINING_FACTS).write_text(json.dumps(stage | facts))
    return folder


def _expected(results: dict) -> dict[str, tuple]:
    """(value, ci_low, ci_high, n) per aggregate and per task with a defined score, straight from results.json."""
    entries = {**results["aggregates"], **results["tasks"]}
    return {
        name: (e["score"], e["ci_low"], e["ci_high"], e["n"])
        for name, e in entries.items()
        if e["score"] is not None and not math.isnan(e["score"])
    }


def check_card_matches_results(card_path: Path, results_path: Path) -> ModelCard:
    """``ModelCard.load`` parses the card, and its eval results are results.json's, entry for entry."""
    results = json.loads(results_path.read_text())
    card = ModelCard.load(card_path)
    got = {
        e.dataset_config: (e.metric_value, e.metric_args["ci_low"], e.metric_args["ci_high"], e.metric_args["n"])
        for e in card.data.eval_results
    }
    assert got == _expected(results)
    assert len(card.data.eval_results) == len(got)  # one entry per task / aggregate
    for e in card.data.eval_results:
        assert e.dataset_args["fingerprint"] == results["bench"]["fingerprint"] and e.dataset_split == "test"
        metric = results["tasks"].get(e.dataset_config, {}).get("metric") or (
            "f1" if e.dataset_config == "decision_making" else "auroc"
        )
        assert e.metric_type == {"f1": "f1", "auroc": "roc_auc"}[metric]
        assert e.metric_args["confidence"] == results["bootstrap"]["confidence"]
    return card


def test_model_index_round_trips_results_json(synthetic, tmp_path):
    folder = _checkpoint(tmp_path)
    path = write_model_card(folder, results=synthetic["eval"] / "results.json")
    card = check_card_matches_results(path, synthetic["eval"] / "results.json")
    results = json.loads((synthetic["eval"] / "results.json").read_text())
    undefined = [t for t, e in results["tasks"].items() if e["score"] is None]
    assert len(card.data.eval_results) == 2 + len(results["tasks"]) - len(undefined)
    assert (folder / "per_task.png").read_bytes() == (synthetic["eval"] / "per_task.png").read_bytes()
    assert "](per_task.png)" in card.text
    for task in results["tasks"]:
        assert f"| `{task}` |" in card.text


def test_derived_checkpoint_is_gated_under_the_physionet_licence(tmp_path):
    card = ModelCard.load(write_model_card(_checkpoint(tmp_path)))
    meta = card.data.to_dict()
    assert meta["license"] == "other" and meta["license_name"].startswith("physionet-credentialed")
    assert meta["gated"] is True and meta["extra_gated_fields"] == MIMIC_GATE["extra_gated_fields"]
    assert "model-index" not in yaml.safe_load(layout.split_front_matter(card.content)[0])
    assert "Not for clinical use" in card.text and "### Out-of-scope use" in card.text
    assert "Not evaluated yet" in card.text and "arXiv:2510.25628" in card.text


def test_no_training_record_counts_as_derived(tmp_path):
    """A folder without ``ehr_r1_training.json`` says nothing about its data: gate it."""
    folder = tmp_path / "weights"
    folder.mkdir()
    card = render_model_card(folder)
    assert card.data.license == "other" and card.data.to_dict()["gated"] is True
    assert "stages and training data of this checkpoint are not recorded" in card.text


def test_synthetic_only_checkpoint_is_apache(synthetic, tmp_path):
    ins = str(synthetic["ins"])  # built from synth-mimic output: verified synthetic
    card = render_model_card(_checkpoint(tmp_path, derived_from_mimic=False, dataset=ins))
    meta = card.data.to_dict()
    assert meta["license"] == "apache-2.0" and "gated" not in meta and "synthetic" in meta["tags"]
    assert "Synthetic training data only" in card.text


def test_a_record_claiming_synthetic_is_not_trusted(synthetic, tmp_path, mimic_demo):
    """``derived_from_mimic: false`` without a verified synthetic dataset behind it still gets the gate."""
    bench = tmp_path / "demo-bench"
    assert main(["build-bench", "--mimic-dir", str(mimic_demo), "--output", str(bench), "--max-per-task", "2"]) == 0
    for dataset in (None, str(bench), "someone/EHR-Ins"):
        card = render_model_card(_checkpoint(tmp_path / str(hash(dataset)), derived_from_mimic=False, dataset=dataset))
        assert card.data.license == "other" and card.data.to_dict()["gated"] is True, dataset


@pytest.mark.parametrize("size", ["1.7b", "8b", "72b"])
def test_per_model_facts_match_the_recipes(size, tmp_path):
    facts = yaml.safe_load((MODEL_CARDS / f"ehr-r1-{size}.yaml").read_text())
    recipe = yaml.safe_load((REPO / "recipes" / f"ehr-r1-{size}" / "domain" / "config_full.yaml").read_text())
    assert facts["base_model"] == recipe["model_name_or_path"]
    for stage in facts["stages"]:
        assert all((REPO / r).is_file() for r in stage["recipes"]), stage
    folder = _checkpoint(tmp_path, recipe=f"recipes/ehr-r1-{size}/grpo/config_full.yaml", base_model="outputs/x")
    card = render_model_card(folder)  # the facts file is found from the recipe path
    assert card.data.model_name == facts["model_name"] and card.data.base_model == facts["base_model"]
    paper = facts["paper_results"]
    assert f"mean F1 {paper['decision_making']}" in card.text and f"AUROC {paper['risk_prediction']}" in card.text
    assert card.data.eval_results is None  # the paper's numbers are cited, never put in the model-index


def test_bad_input_is_a_named_error_and_touches_nothing(synthetic, tmp_path):
    folder = _checkpoint(tmp_path)
    bad = tmp_path / "results.json"
    bad.write_text('{"model": "x"}')
    with pytest.raises(InputError, match=f"{bad}.*not an `ehr-r1 eval` results.json"):
        write_model_card(folder, results=bad)
    bad.write_text("{not json")
    with pytest.raises(InputError, match=str(bad)):
        write_model_card(folder, results=bad)
    assert not (folder / "README.md").exists()
    theirs = "---\nlicense: mit\n---\n# my own card\n"
    (folder / "README.md").write_text(theirs)
    with pytest.raises(InputError, match="README.md.*did not write"):
        write_model_card(folder, results=synthetic["eval"])
    assert (folder / "README.md").read_text() == theirs and not (folder / "per_task.png").exists()
    with pytest.raises(EhrR1Error, match="not a checkpoint folder"):
        write_model_card(tmp_path / "missing")


@pytest.mark.slow
def test_callback_cards_every_save_and_the_final_model(synthetic, tiny_model_dir, tmp_path):
    """Two TRL SFT stages (2 steps, then 1) on the tiny model with the callback on, then an eval and the final card."""
    import datasets
    from trl import SFTConfig, SFTTrainer

    ins = synthetic["ins"]
    data = datasets.load_dataset("parquet", data_files=str(ins / "data" / "sft" / "*.parquet"), split="train")
    data = data.select(range(4))
    kwargs = dict(per_device_train_batch_size=2, save_strategy="steps", save_steps=1, use_cpu=True, bf16=False,
                  report_to="none", logging_steps=1, max_length=256, gradient_checkpointing=False, disable_tqdm=True)  # fmt: skip
    stages = [("domain", tiny_model_dir, tmp_path / "domain", 2), ("reasoning", tmp_path / "domain", tmp_path / "final", 1)]  # fmt: skip
    for stage, start, out, steps in stages:
        callback = ModelCardCallback(recipe=f"recipes/tiny/{stage}.yaml", dataset=str(ins), stage=stage)
        args = SFTConfig(output_dir=str(out), max_steps=steps, **kwargs)
        trainer = SFTTrainer(model=str(start), args=args, train_dataset=data, callbacks=[callback])
        trainer.train()
        trainer.save_model(str(out))
        for folder in [out / f"checkpoint-{s}" for s in range(1, steps + 1)] + [out]:
            facts = json.loads((folder / TRAINING_FACTS).read_text())
            assert facts["stage"] == stage and facts["base_model"] == str(start)
            assert facts["dataset_fingerprint"] == dataset_fingerprint(ins) is not None
            assert math.isfinite(facts["final_loss"]) and facts["derived_from_mimic"] is False  # verified synthetic
            assert facts["base_local"] is True and facts["base_derived"] is False  # tiny model, then stage 1
            assert ModelCard.load(folder / "README.md").data.model_name == folder.name
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        assert facts["steps"] == steps and facts["final_loss"] == losses[-1]
    final = tmp_path / "final"
    out = tmp_path / "eval"
    argv = ["eval", "--model", str(final), "--bench", str(synthetic["bench"]), "--output", str(out), "--limit", "4",
            "--max-new-tokens", "4", "--n-resamples", "20", "--tasks", *TASKS]  # fmt: skip
    assert main(argv) == 0
    card = check_card_matches_results(write_model_card(final, results=out / "results.json"), out / "results.json")
    assert [row.split(" | ")[0] for row in card.text.split("| stage | recipe |")[1].splitlines()[2:4]] == [
        "| domain",
        "| reasoning",
    ]
    assert card.data.base_model is None  # a local tiny model has no Hub id
    assert "Trained on synthetic data only" in card.text and "Trained on real EHR data" not in card.text
    assert str(tmp_path) not in card.content and "`recipes/tiny/domain.yaml`" in card.text  # no local paths published
    shutil.move(
        tmp_path / "domain", tmp_path / "moved"
    )  # stage 1 moved away: the final model can no longer be verified
    assert provenance.model_provenance(final)["derived"] is True

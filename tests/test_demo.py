# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""`ehr-r1 demo`: synthetic MIMIC-IV through the three training stages to a carded, scored model; a failing stage stops
the demo naming it and leaves the earlier outputs as they were; folders the demo did not write are refused."""

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

import pytest

from ehr_r1.cli_args import parse_args
from ehr_r1.commands.demo import CONFIG, run
from ehr_r1.errors import EhrR1Error


STAGES = ["synth-mimic", "tiny-model", "build-bench", "build-ins", "build-reasoning", "mix-reasoning", "domain",
          "reasoning", "grpo", "model", "eval", "eval-logreg", "model-card"]  # fmt: skip
SMALL = ["--patients", "100", "--max-per-task", "4", "--bench-per-task", "2", "--max-steps", "1"]


def demo(*argv: str) -> int:
    """``ehr-r1 demo ARGV`` as the console command runs it (options parsed from the dataclass, then ``run``)."""
    return run(parse_args(CONFIG, list(argv)))


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def link_copy(source: Path, target: Path) -> Path:
    """A copy of a demo output with hard-linked files (the demo replaces files, never writes into them)."""
    shutil.copytree(source, target, copy_function=os.link)
    return target


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert demo("--output", str(out), *SMALL) == 0
    return out, printed.getvalue()


@pytest.mark.slow
def test_demo_trains_every_stage_from_the_previous_one(demo_out):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM

    out, printed = demo_out
    for folder in ("mimic", "bench", "ins", "reasoning", "model", "eval", "eval-logreg"):
        assert (out / folder).is_dir(), folder
    assert (out / "ins" / "data" / "reasoning").is_dir() and (out / "reasoning" / "reasoning.jsonl").stat().st_size
    base = out / "tiny-model"
    for stage in ("domain", "reasoning", "grpo"):
        checkpoint = out / "checkpoints" / stage
        assert AutoModelForCausalLM.from_pretrained(checkpoint).num_parameters() > 0
        facts = json.loads((checkpoint / "ehr_r1_training.json").read_text())
        assert facts["stage"] == stage and facts["steps"] == 1 and facts["dataset"] == str(out / "ins")
        assert Path(facts["base_model"]).resolve() == base.resolve(), f"{stage} did not start from {base}"
        assert Path(facts["recipe"]).name == f"{stage}.yaml" and Path(facts["recipe"]).parent.name == "tiny"
        assert ModelCard.load(checkpoint / "README.md").data.model_name == stage  # not its temporary folder's name
        assert facts["base_local"] is True and facts["base_derived"] is False  # synthetic data, a chain of local bases
        base = checkpoint
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "demo" and manifest["status"] == "done"
    assert [s["stage"] for s in manifest["stages"]] == STAGES
    trained = {s["stage"]: s for s in manifest["stages"] if s["steps"] is not None}
    assert set(trained) == {"domain", "reasoning", "grpo"}
    assert all(math.isfinite(s["final_loss"]) for s in trained.values()), trained
    assert trained["domain"]["final_loss"] > 1 and math.isfinite(trained["grpo"]["mean_reward"])
    for stage in STAGES:  # one line per stage with its time, and the final table
        assert any(line.startswith("[") and f"] {stage}: done in " in line for line in printed.splitlines()), stage
        assert any(line.split("|")[0].strip() == stage for line in printed.splitlines()), stage
    assert not list(out.rglob(".*.tmp-*")) and not list(out.rglob(".*.previous"))


@pytest.mark.slow
def test_demo_model_is_the_final_checkpoint_with_a_card_of_its_scores(demo_out):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM

    out, _ = demo_out
    model = out / "model"
    assert AutoModelForCausalLM.from_pretrained(model).num_parameters() > 0
    weights = "model.safetensors"
    assert (model / weights).read_bytes() == (out / "checkpoints" / "grpo" / weights).read_bytes()
    results = json.loads((out / "eval" / "results.json").read_text())
    assert Path(results["model"]).resolve() == model.resolve() and results["bench"]["limit"] == 2
    card = ModelCard.load(model / "README.md")
    scored = {**results["aggregates"], **results["tasks"]}
    expected = {name: e["score"] for name, e in scored.items() if isinstance(e["score"], float | int)}
    assert {r.dataset_config: r.metric_value for r in card.data.eval_results} == pytest.approx(expected)
    assert {"decision_making", "risk_prediction"} <= set(expected)
    baseline = json.loads((out / "eval-logreg" / "results.json").read_text())
    assert baseline["baseline"] == "logreg" and baseline["aggregates"]["decision_making"]["n"] > 0


@pytest.mark.slow
def test_a_failing_stage_stops_the_demo_naming_it_and_keeps_earlier_outputs(demo_out, tmp_path):
    out = link_copy(demo_out[0], tmp_path / "out")
    shutil.rmtree(out / "ins" / "data" / "reasoning")  # stage 2's training data is gone
    kept = {name: digest(out / name) for name in ("ins", "checkpoints")}
    with pytest.raises(EhrR1Error, match=r"^demo stage reasoning failed: .*data/reasoning/\S+\.parquet: .*missing"):
        demo("--output", str(out), *SMALL, "--from-stage", "reasoning")
    assert digest(out / "ins") == kept["ins"]
    assert digest(out / "checkpoints") == kept["checkpoints"]  # stage 1, and stage 2's previous checkpoint, restored
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed at reasoning"
    assert [s["stage"] for s in manifest["stages"]] == STAGES[: STAGES.index("reasoning")]
    assert not list(out.rglob(".*.tmp-*")) and not list(out.rglob(".*.previous"))


@pytest.mark.slow
def test_demo_pushes_both_datasets_and_the_carded_model_to_private_repos(demo_out, tmp_path, monkeypatch, capsys):
    """`--push-to ORG` against a local Hub-protocol server, driven by the real huggingface_hub client."""
    from hub_server import HubServer
    from huggingface_hub import ModelCard, constants

    out = link_copy(demo_out[0], tmp_path / "out")
    token, org = "hf_SECRETdemoWrite0123456789abcdef", "ehr-org"
    for name, value in {
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_XET": True,
        "HF_TOKEN_PATH": str(tmp_path / "none"),
    }.items():
        monkeypatch.setattr(constants, name, value)
    monkeypatch.setenv("HF_TOKEN", token)
    with HubServer({token: {"name": "tester", "role": "write", "orgs": [org]}}) as hub:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=hub.url, token=token)
        api.create_repo(f"{org}/EHR-R1-demo", private=False)  # the model's guard refuses: nothing may be pushed
        before = hub.snapshot()
        with pytest.raises(EhrR1Error, match="push.*exists and is public"):
            demo("--output", str(out), *SMALL, "--from-stage", "push", "--push-to", org, "--endpoint", hub.url)
        assert hub.snapshot() == before  # the two datasets were not uploaded (nor their repos created) either
        api.delete_repo(f"{org}/EHR-R1-demo")
        assert demo("--output", str(out), *SMALL, "--from-stage", "push", "--push-to", org, "--endpoint", hub.url) == 0
        repos = {name: hub.repo(kind, f"{org}/{name}") for kind, name in
                 [("dataset", "EHR-Bench-demo"), ("dataset", "EHR-Ins-demo"), ("model", "EHR-R1-demo")]}  # fmt: skip
        assert all(repo["private"] for repo in repos.values())
        model = "model", f"{org}/EHR-R1-demo"
        assert hub.file_bytes(*model, "model.safetensors") == (out / "model" / "model.safetensors").read_bytes()
        card = ModelCard(hub.file_bytes(*model, "README.md").decode())
        bench = hub.file_bytes("dataset", f"{org}/EHR-Bench-demo", "manifest.json")
    assert json.loads(bench) == json.loads((out / "bench" / "manifest.json").read_text())
    results = json.loads((out / "eval" / "results.json").read_text())
    assert {r.dataset_config: r.metric_value for r in card.data.eval_results}["decision_making"] == pytest.approx(
        results["aggregates"]["decision_making"]["score"]
    )
    printed = capsys.readouterr()
    assert token not in printed.out + printed.err and "] push: done in" in printed.out
    assert json.loads((out / "manifest.json").read_text())["stages"][-1]["stage"] == "push"


def test_a_broken_base_model_stops_the_demo_at_its_first_use(tmp_path):
    broken = tmp_path / "base"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    out = tmp_path / "out"
    with pytest.raises(EhrR1Error, match=r"^demo stage build-bench failed: ") as err:
        demo("--output", str(out), "--patients", "20", "--base-model", str(broken))
    assert "\n" not in str(err.value)
    assert (out / "mimic" / "synthetic_mimic.json").is_file() and (out / "mimic" / "hosp").is_dir()  # stage 1 kept
    assert not (out / "bench").exists() and not (out / "tiny-model").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed at build-bench"


@pytest.mark.parametrize("writer", ["user", "build-bench"])
def test_demo_refuses_a_folder_it_did_not_write(tmp_path, writer):
    out = tmp_path / "out"
    out.mkdir()
    if writer == "user":
        (out / "notes.txt").write_text("mine")
    else:
        (out / "manifest.json").write_text(json.dumps({"command": writer}))
    before = digest(out)
    with pytest.raises(EhrR1Error, match=r"--output .*(did not write|written by `ehr-r1 build-bench`)"):
        demo("--output", str(out), "--patients", "20")
    assert digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_demo_refuses_an_input_inside_its_output_and_unknown_stages(tmp_path):
    inside = tmp_path / "out" / "mimic-copy"
    inside.mkdir(parents=True)
    with pytest.raises(EhrR1Error, match="input"):
        demo("--output", str(tmp_path / "out"), "--mimic-dir", str(inside))
    with pytest.raises(EhrR1Error, match="--from-stage 'nope': not a stage"):
        demo("--output", str(tmp_path / "new"), "--from-stage", "nope")
    with pytest.raises(EhrR1Error, match="--from-stage grpo: earlier outputs missing"):
        demo("--output", str(tmp_path / "new"), "--from-stage", "grpo")

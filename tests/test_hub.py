# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Hub pushes end to end against a local Hub-protocol server (tests/hub_server.py), driven by the real clients:
gating of MIMIC-derived folders, the guard's refusals (checked on the server's storage), and round trips through
``datasets.load_dataset``, ``from_pretrained``, ``AutoPeftModelForCausalLM`` and ``ModelCard.load``."""

import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from hub_server import HubServer

from ehr_r1 import cli, layout, provenance
from ehr_r1.builder import BuildConfig, build_dataset
from ehr_r1.errors import EhrR1Error
from ehr_r1.hub import push_dataset, push_model


TOKEN = "hf_SECRETwriteToken0123456789abcdef"  # must never appear in logs, outputs, cards or uploads
READ_TOKEN = "hf_SECRETreadOnly0123456789abcdef"
USER, ORG = "tester", "ehr-org"
TASKS = ["labevents", "Readmission_30day", "ICU_Mortality_7day"]


@pytest.fixture(scope="module")
def hub():
    tokens = {TOKEN: {"name": USER, "role": "write", "orgs": [ORG]}, READ_TOKEN: {"name": "reader", "role": "read"}}
    with HubServer(tokens) as server:
        yield server


@pytest.fixture
def online(hub, monkeypatch, tmp_path):
    """The real clients pointed at the local server (the Hub libraries read these settings at import time)."""
    import datasets
    from huggingface_hub import constants, hf_api

    for key, value in {"HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_XET": "1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    patches = {
        constants: {
            "ENDPOINT": hub.url,
            "HUGGINGFACE_CO_URL_TEMPLATE": hub.url + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_XET": True,
            "HF_HUB_CACHE": str(tmp_path / "hub-cache"),
            "HF_TOKEN_PATH": str(tmp_path / "no-stored-token"),
        },
        datasets.config: {
            "HF_ENDPOINT": hub.url,
            "HUB_DATASETS_URL": hub.url + "/datasets/{repo_id}/resolve/{revision}/{path}",
            "HF_HUB_OFFLINE": False,
        },
    }
    for module, values in patches.items():
        for name, value in values.items():
            monkeypatch.setattr(module, name, value)
    monkeypatch.setattr(hf_api.api, "endpoint", hub.url)  # the HfApi behind huggingface_hub.file_exists & co.
    monkeypatch.setitem(cli.COMMANDS, "push-dataset", ("ehr_r1.commands.push", "push a dataset"))
    monkeypatch.setitem(cli.COMMANDS, "push-model", ("ehr_r1.commands.push", "push a model"))
    return hub


# ------------------------------------------------------------------------------------------------- built folders


@pytest.fixture(scope="module")
def built(tmp_path_factory, mimic_demo) -> dict[str, Path]:
    """A verified synthetic build, and a build of real MIMIC-IV demo tables beside an empty synthetic_mimic.json."""
    from ehr_r1.synth import SynthConfig, write_synthetic_mimic

    tmp = tmp_path_factory.mktemp("built")
    write_synthetic_mimic(tmp / "synth-mimic", SynthConfig(patients=30, seed=0))
    real = tmp / "real-mimic"  # the real demo tables (linked, never copied) plus a forged, empty record
    for table in mimic_demo.rglob("*.csv.gz"):
        link = real / table.relative_to(mimic_demo)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(table)
    (real / "synthetic_mimic.json").write_text("")
    out = {}
    for name, source in (("synthetic", tmp / "synth-mimic"), ("real", real)):
        out[name] = tmp / f"{name}-bench"
        build_dataset(BuildConfig(str(source), str(out[name]), max_per_task=2, tasks=TASKS))
    return out


def _copy(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def _cli(*argv: str) -> int:
    return cli.main(list(argv))


def test_provenance_is_verified_not_trusted(built, tmp_path):
    from ehr_r1.synth import SynthConfig, write_synthetic_mimic

    assert provenance.dataset_is_synthetic(built["synthetic"])
    assert not provenance.dataset_is_synthetic(built["real"])  # the empty record proves nothing
    assert layout.read_manifest(built["real"])["synthetic_inputs"] is None
    assert "gated" in layout.read_card_metadata(built["real"])
    mimic = tmp_path / "m"
    write_synthetic_mimic(mimic, SynthConfig(patients=5, seed=1))
    files = {p.name: p for p in (mimic / "hosp").glob("*.csv.gz")}
    assert provenance.synthetic_inputs(mimic, files) is not None
    table = mimic / "hosp" / "patients.csv.gz"
    table.write_bytes(table.read_bytes() + b"\n")  # a table edited after the generator wrote it
    assert provenance.synthetic_inputs(mimic, files) is None
    forged = _copy(built["real"], tmp_path, "forged")  # a synthetic build's manifest beside real data files
    shutil.copy(built["synthetic"] / layout.MANIFEST, forged / layout.MANIFEST)
    assert not provenance.dataset_is_synthetic(forged)


def test_synthetic_dataset_goes_public_and_loads_back(online, built):
    import datasets

    url = push_dataset(built["synthetic"], f"{ORG}/ehr-bench-synthetic", private=False)
    assert "/commit/" in url
    repo = online.repo("dataset", f"{ORG}/ehr-bench-synthetic")
    assert repo["private"] is False and repo["gated"] is False
    loaded = datasets.load_dataset(f"{ORG}/ehr-bench-synthetic", "labevents", split="test")
    local = datasets.load_dataset("parquet", data_files=[str(p) for p in (built["synthetic"] / "data").glob(
        "*/labevents/*.parquet")], split="train")  # fmt: skip
    assert loaded.num_rows == local.num_rows > 0
    assert (
        loaded["subject_id"] == local["subject_id"]
        and loaded["input"] == local["input"]
        and loaded["output"] == local["output"]
    )


def test_derived_dataset_is_private_gated_and_loads_with_the_token(online, built):
    import datasets
    from huggingface_hub import DatasetCard

    push_dataset(built["real"], f"{USER}/ehr-bench")
    repo = online.repo("dataset", f"{USER}/ehr-bench")
    assert repo["private"] is True and repo["gated"] == "manual"
    card = DatasetCard.load(f"{USER}/ehr-bench", repo_type="dataset")
    assert card.data.gated is True and "PhysioNet username" in card.data.extra_gated_fields
    assert datasets.load_dataset(f"{USER}/ehr-bench", "decision_making", split="test").num_rows == 2


def _edit_card(folder: Path, **changes) -> None:
    meta = layout.read_card_metadata(folder)
    _, body = layout.split_front_matter((folder / layout.CARD).read_text())
    for key, value in changes.items():
        meta[key] = value(meta.get(key)) if callable(value) else value
    (folder / layout.CARD).write_text(layout.card_text(meta, body))


def _edit_manifest(folder: Path, key: str, value) -> None:
    manifest = layout.read_manifest(folder)
    manifest[key] = value
    (folder / layout.MANIFEST).write_text(json.dumps(manifest))


def _existing(hub, repo_id: str, repo_type: str, private: bool, gated=False) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=TOKEN)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    if gated:
        api.update_repo_settings(repo_id, repo_type=repo_type, gated=gated)


DATASET_REFUSALS = {
    "derived-to-public": (lambda b, t: b["real"], ["--public"], "cannot go to a public repo"),
    "forged-synthetic-manifest-public": (
        lambda b, t: _forge(b, t), ["--public"], "cannot go to a public repo"),
    "edited-card-tag": (
        lambda b, t: _tap(_copy(b["real"], t), lambda f: _edit_card(f, tags=lambda v: [*v, "synthetic"])), [],
        "tagged synthetic"),
    "ungated-card": (
        lambda b, t: _tap(_copy(b["real"], t), lambda f: _edit_card(f, gated=False)), [], "without the DUA gate"),
    "disjointness-failed": (
        lambda b, t: _tap(_copy(b["synthetic"], t), lambda f: _edit_manifest(
            f, "disjointness", {"split_verified": True, "overlap": 3, "checked_against": "ehr-ins"})),
        ["--public"], "shares 3 patients"),
    "disjointness-missing": (
        lambda b, t: _tap(_copy(b["synthetic"], t), lambda f: _edit_manifest(f, "disjointness", None)), [],
        "disjointness check is missing or failed"),
}  # fmt: skip


def _tap(folder: Path, edit) -> Path:
    edit(folder)
    return folder


def _forge(built: dict, tmp_path: Path) -> Path:
    folder = _copy(built["real"], tmp_path)
    shutil.copy(built["synthetic"] / layout.MANIFEST, folder / layout.MANIFEST)
    return folder


@pytest.mark.parametrize("case", list(DATASET_REFUSALS))
def test_dataset_refusals_upload_nothing(online, built, tmp_path, capsys, case):
    make, flags, message = DATASET_REFUSALS[case]
    folder = make(built, tmp_path)
    before = online.snapshot()
    assert _cli("push-dataset", "--folder", str(folder), "--repo-id", f"{ORG}/refused-{case}", *flags) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0 and err.startswith("error: ")
    assert online.snapshot() == before


def test_token_and_existing_repo_refusals(online, built, monkeypatch, capsys):
    synthetic, real = str(built["synthetic"]), str(built["real"])
    _existing(online, f"{ORG}/public-one", "dataset", private=False)
    _existing(online, f"{ORG}/private-ungated", "dataset", private=True)
    _existing(online, f"{ORG}/private-auto", "dataset", private=True, gated="auto")
    cases = [
        ({}, real, f"{ORG}/public-one", "exists and is public"),  # create_repo(exist_ok=True) would keep it public
        ({}, real, f"{ORG}/private-ungated", "not gated with manual approval"),
        ({}, real, f"{ORG}/private-auto", "gated='auto'"),
        ({}, synthetic, f"{ORG}/public-one", "pass --public"),  # a private push never lands in a public repo
        ({"HF_TOKEN": READ_TOKEN}, synthetic, f"{ORG}/new", "read access, user reader) cannot write"),
        ({}, synthetic, "someone-else/new", "cannot write here"),
        ({"HF_TOKEN": "hf_unknown"}, synthetic, f"{ORG}/new", "HTTP 401"),
        ({"HF_TOKEN": None}, synthetic, f"{ORG}/new", "no Hugging Face token"),
    ]
    for env, folder, repo_id, message in cases:
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value) if value else m.delenv(key)
            before = online.snapshot()
            assert _cli("push-dataset", "--folder", folder, "--repo-id", repo_id) == 2, repo_id
            err = capsys.readouterr().err.strip()
            assert message in err and "\n" not in err, (message, err)
            assert online.snapshot() == before


# ---------------------------------------------------------------------------------------------------- models


def _logits(model) -> list[float]:
    import torch

    with torch.no_grad():
        return model(torch.tensor([[1, 2, 3, 4]])).logits[0, -1, :5].tolist()


@pytest.fixture
def trained(tiny_model_dir, built, tmp_path) -> Path:
    """The tiny model as a checkpoint trained on the synthetic build (record as the training callback writes it)."""
    folder = _copy(tiny_model_dir, tmp_path, "trained")
    (folder / layout.MANIFEST).unlink()
    record = {"stage": "domain", "recipe": "recipes/tiny/domain.yaml", "dataset": str(built["synthetic"]),
              "dataset_fingerprint": provenance.dataset_fingerprint(built["synthetic"]),
              "base_model": str(tiny_model_dir), "derived_from_mimic": False, "steps": 2, "final_loss": 7.5}  # fmt: skip
    (folder / provenance.TRAINING_RECORD).write_text(json.dumps(record))
    return folder


def test_model_provenance(trained, built, tiny_model_dir, tmp_path):
    assert provenance.model_provenance(tiny_model_dir)["derived"] is False  # untrained (ehr-r1 tiny-model)
    assert provenance.model_provenance(trained) == {
        "derived": False, "datasets": [str(built["synthetic"])], "reason": "trained on verified synthetic data"}  # fmt: skip
    record = json.loads((trained / provenance.TRAINING_RECORD).read_text())
    for change, reason in (
        ({"dataset": str(built["real"]), "dataset_fingerprint": None}, "not verified synthetic"),
        ({"derived_from_mimic": True}, "derived_from_mimic"),
        ({"dataset": "org/EHR-Ins"}, "not a local folder"),
        ({"dataset_fingerprint": "0" * 16}, "changed since training"),
        ({"base_model": str(trained)}, "loop"),
    ):
        (trained / provenance.TRAINING_RECORD).write_text(json.dumps(record | change))
        origin = provenance.model_provenance(trained)
        assert origin["derived"] and reason in origin["reason"], (change, origin)
    (trained / provenance.TRAINING_RECORD).unlink()
    (trained / "training_args.bin").write_bytes(b"")
    assert provenance.model_provenance(trained)["derived"]  # trained, data unknown


@pytest.mark.slow
def test_models_and_adapters_round_trip(online, trained, tiny_model_dir, built, tmp_path, caplog, capsys):
    from huggingface_hub import ModelCard
    from peft import AutoPeftModelForCausalLM, LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    local = AutoModelForCausalLM.from_pretrained(trained)
    caplog.set_level(logging.DEBUG)
    assert _cli("-v", "push-model", "--folder", str(trained), "--repo-id", f"{USER}/tiny", "--revision", "run-1") == 0
    out = capsys.readouterr()
    repo = online.repo("model", f"{USER}/tiny")
    assert repo["private"] is True and repo["gated"] is False  # verified synthetic training data: not gated
    assert "run-1" in repo["branches"] and provenance.TRAINING_RECORD in online.snapshot()["repos"][
        f"model:{USER}/tiny"]["branches"]["run-1"]  # fmt: skip
    remote = AutoModelForCausalLM.from_pretrained(f"{USER}/tiny", revision="run-1")
    assert _logits(remote) == _logits(local)

    adapter = tmp_path / "adapter"  # a PEFT adapter: no training record, so MIMIC-derived until shown otherwise
    lora = get_peft_model(
        local, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    lora.save_pretrained(adapter)
    push_model(adapter, f"{ORG}/tiny-lora")
    repo = online.repo("model", f"{ORG}/tiny-lora")
    assert repo["private"] is True and repo["gated"] == "manual"
    assert _logits(AutoPeftModelForCausalLM.from_pretrained(f"{ORG}/tiny-lora")) == _logits(lora)
    card = ModelCard.load(f"{ORG}/tiny-lora")
    assert "PhysioNet username" in card.data.extra_gated_fields  # the gate fields a derived model's card carries

    uploaded = b"".join(p.read_bytes() for p in (online.storage / "objects").iterdir())
    for text in (caplog.text, out.out, out.err, uploaded.decode("latin-1")):
        assert TOKEN not in text and READ_TOKEN not in text


@pytest.mark.slow
def test_model_card_carries_the_eval_results(online, trained, built, tmp_path):
    pytest.importorskip("ehr_r1.model_card", reason="model cards (ehr_r1.model_card) not in this tree yet")
    from huggingface_hub import ModelCard

    from ehr_r1.evaluation import evaluate_bench
    from ehr_r1.evaluation.config import EvalConfig

    results = evaluate_bench(EvalConfig(bench=str(built["real"]), output=str(tmp_path / "eval"), model=str(trained),
                                        max_new_tokens=8, n_resamples=20))  # fmt: skip
    push_model(trained, f"{USER}/tiny-scored", results=tmp_path / "eval" / "results.json")
    card = ModelCard.load(f"{USER}/tiny-scored")
    values = {(r.dataset_config, r.metric_value) for r in card.data.eval_results}
    for task, entry in results["tasks"].items():
        if entry["score"] is not None:
            assert (task, entry["score"]) in values


def _results(tmp_path: Path, name: str, **fields) -> Path:
    results = {"model": None, "baseline": None, "bench": {"path": "x", "fingerprint": "abc123", "n_samples": 2},
               "aggregates": {}, "tasks": {"labevents": {"score": 0.5}}} | fields  # fmt: skip
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(results))
    return path


def test_model_refusals_upload_nothing(online, trained, built, tiny_model_dir, tmp_path, capsys):
    other = _copy(tiny_model_dir, tmp_path, "other")  # same architecture, other weights
    from safetensors.torch import load_file, save_file

    weights = load_file(other / "model.safetensors")
    save_file({k: v + 1 for k, v in weights.items()}, other / "model.safetensors", metadata={"format": "pt"})
    scored = _copy(trained, tmp_path, "scored")
    meta = {"model-index": [{"name": "x", "results": [{"dataset": {"name": "EHR-Bench", "type": "org/EHR-Bench",
                                                                      "revision": "f00d"}}]}]}  # fmt: skip
    (scored / layout.CARD).write_text(layout.card_text(meta, "# card\n"))
    derived = _copy(trained, tmp_path, "derived")
    (derived / provenance.TRAINING_RECORD).unlink()
    _existing(online, f"{ORG}/public-model", "model", private=False)
    empty, no_weights = tmp_path / "empty", _copy(tiny_model_dir, tmp_path, "no-weights")
    empty.mkdir()
    (no_weights / "model.safetensors").unlink()
    repo = f"{ORG}/tiny-refused"
    fingerprint = provenance.dataset_fingerprint(built["synthetic"])
    cases = [
        (empty, [], "not a checkpoint"),
        (no_weights, [], "config.json without weights"),
        (trained, ["--results", str(_results(tmp_path, "other", model=str(other)))], "scores model"),
        (trained, ["--results", str(_results(tmp_path, "baseline", baseline="logreg"))], "logreg baseline"),
        (scored, ["--results", str(_results(tmp_path, "bench", model=str(scored)))], "from another bench"),
        (
            trained,
            ["--results", str(_results(tmp_path, "train", model=str(trained), bench={"fingerprint": fingerprint}))],
            "its own training data",
        ),
        (trained, ["--results", str(tmp_path / "missing.json")], "results file not found"),
        (derived, ["--public"], "cannot go to a public repo"),
        (derived, [], "exists and is public"),
    ]
    for folder, flags, message in cases:
        target = f"{ORG}/public-model" if message == "exists and is public" else repo
        before = online.snapshot()
        assert _cli("push-model", "--folder", str(folder), "--repo-id", target, *flags) == 2, message
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, (message, err)
        assert online.snapshot() == before


# ------------------------------------------------------------------------------------------ training callback


def test_training_callback_gates_and_refuses(online, built):
    from ehr_r1.callbacks import PushToHubRevisionCallback

    def begin(repo_id: str, dataset: str | None = None, revision: str | None = None):
        args = SimpleNamespace(push_to_hub=True, hub_model_id=repo_id, hub_revision=revision, hub_token=None,
                               output_dir="outputs/ehr-r1-8b-grpo", hub_private_repo=True)  # fmt: skip
        PushToHubRevisionCallback(dataset=dataset).on_train_begin(
            args, SimpleNamespace(is_world_process_zero=True), None
        )
        return args

    assert begin(f"{ORG}/run-model").hub_revision == "ehr-r1-8b-grpo"  # no dataset named: gated
    repo = online.repo("model", f"{ORG}/run-model")
    assert repo["private"] and repo["gated"] == "manual" and "ehr-r1-8b-grpo" in repo["branches"]
    begin(f"{ORG}/synthetic-run", dataset=str(built["synthetic"]), revision="grpo-v02")
    repo = online.repo("model", f"{ORG}/synthetic-run")
    assert repo["private"] and repo["gated"] is False and "grpo-v02" in repo["branches"]
    _existing(online, f"{ORG}/trainer-made", "model", private=True)  # what Trainer.__init__ creates: empty, ungated
    assert begin(f"{ORG}/trainer-made", revision="main").hub_revision == "ehr-r1-8b-grpo"  # main is for releases
    assert online.repo("model", f"{ORG}/trainer-made")["gated"] == "manual"
    _existing(online, f"{ORG}/public-run", "model", private=False)
    before = online.snapshot()
    with pytest.raises(EhrR1Error, match="exists and is public"):
        begin(f"{ORG}/public-run", dataset=str(built["real"]))
    assert online.snapshot() == before


def test_cards_of_pushed_datasets_keep_their_gate(online, built):
    """The card the server holds is the built one: its gate survives the push (cardData in repo info)."""
    from huggingface_hub import HfApi

    push_dataset(built["real"], f"{ORG}/ehr-bench-gated")
    info = HfApi(endpoint=online.url, token=TOKEN).dataset_info(f"{ORG}/ehr-bench-gated")
    assert info.gated == "manual" and info.private
    assert yaml.safe_dump(info.card_data.to_dict()).count("extra_gated") >= 3


@pytest.mark.slow
def test_a_training_run_pushes_the_ehr_r1_card_and_no_trainer_files(online, built, tiny_model_dir, tmp_path):
    """`push_to_hub: true` in a recipe: the run's branch gets the ehr-r1 card (not TRL's) and no pickled arguments."""
    from ehr_r1.training import make_sft_trainer, parse_recipe, train_and_save

    ins = tmp_path / "ins"
    synth = built["synthetic"].parent / "synth-mimic"
    build_dataset(BuildConfig(str(synth), str(ins), dataset="ehr-ins", max_per_task=2, tasks=["labevents"],
                              max_length=512, tokenizer=str(tiny_model_dir)))  # fmt: skip
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "tiny" / "domain.yaml"
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(ins), "--output_dir", str(tmp_path / "run"),
            "--push_to_hub", "true", "--hub_model_id", f"{ORG}/tiny-run", "--hub_private_repo", "true"]  # fmt: skip
    parsed = parse_recipe(recipe, args=args)
    train_and_save(make_sft_trainer(*parsed, recipe=str(recipe), stage="domain"), parsed[1], parsed[0])
    repo = online.snapshot()["repos"][f"model:{ORG}/tiny-run"]
    assert repo["private"] and repo["gated"] is False  # verified synthetic training data: private, not gated
    files = repo["branches"]["run"]
    assert "model.safetensors" in files and "ehr_r1_training.json" in files and "training_args.bin" not in files
    card = online.file_bytes("model", f"{ORG}/tiny-run", "README.md", revision="run").decode()
    assert card == (tmp_path / "run" / "README.md").read_text() and "ehr-r1" in card and "Out-of-scope" in card
    parsed[1].hub_token = TOKEN  # a token in the arguments would be pickled into training_args.bin: refused
    with pytest.raises(EhrR1Error, match="hub_token would be pickled"):
        make_sft_trainer(*parsed, recipe=str(recipe), stage="domain").train()

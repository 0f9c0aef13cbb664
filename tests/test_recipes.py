# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Recipes: every YAML parses with TRL's parser for its stage and keeps the paper's settings; the tiny recipes train
through the `trl` command; bad recipes and datasets fail before training, naming the key or column."""

import ast
import math
import os
import re
import runpy
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from ehr_ins_fixture import write_tiny_ehr_ins

from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.training import check_recipe, finalize_model, parse_recipe, trainer_for_recipe


REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes"
MODEL_RECIPES = sorted(RECIPES.glob("ehr-r1-*/*/config_*.yaml"))
TINY = {p.stem: p for p in sorted((RECIPES / "tiny").glob("*.yaml"))}
CPU = ["--bf16", "false", "--use_cpu", "true"]  # GPU recipes say bf16: true, which TrainingArguments rejects on CPU
TRL = str(Path(sys.executable).with_name("trl"))


def read(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_recipe_matrix_is_complete():
    found = {(p.parts[-3], p.parts[-2], p.stem) for p in MODEL_RECIPES}
    models, stages = ("ehr-r1-1.7b", "ehr-r1-8b", "ehr-r1-72b"), ("domain", "reasoning", "grpo", "cpt")
    assert found == {(m, s, f"config_{v}") for m in models for s in stages for v in ("full", "qlora")}
    assert set(TINY) == {"domain", "reasoning", "grpo", "cpt", "qlora"}
    for name in ("ddp", "zero3", "fsdp2", "fsdp2_qlora"):
        assert read(RECIPES / "accelerate" / f"{name}.yaml")["distributed_type"] in ("MULTI_GPU", "DEEPSPEED", "FSDP")
    assert (RECIPES / "slurm" / "train.slurm").is_file() and (RECIPES / "README.md").is_file()


@pytest.mark.parametrize("path", MODEL_RECIPES + list(TINY.values()), ids=lambda p: str(p.relative_to(RECIPES)))
def test_recipe_parses_with_trl_and_keeps_invariants(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Config for"), "first line is the hardware comment"
    for accelerate in re.findall(r"recipes/accelerate/(\w+)\.yaml", path.read_text()):
        assert (RECIPES / "accelerate" / f"{accelerate}.yaml").is_file()
    script, args, model, _ = parse_recipe(path, args=[] if path.parent.name == "tiny" else CPU)
    assert args.hub_model_id and (args.hub_revision or path.parent.name == "tiny")
    if trainer_for_recipe(path) == "grpo":
        assert args.generation_batch_size % args.num_generations == 0
        assert len(args.reward_weights) == len(script.reward_funcs)
        assert script.reward_funcs == ["ehr_r1.rewards.ehr_accuracy_reward", "ehr_r1.rewards.ehr_format_reward"]
        assert script.dataset_config == "grpo" and args.beta == 0.0 and args.loss_type and args.scale_rewards
    if "qlora" in path.stem:
        assert model.load_in_4bit and model.use_peft and model.bnb_4bit_quant_type == "nf4"


@pytest.mark.parametrize(
    "path", [p for p in MODEL_RECIPES if p.stem == "config_full"], ids=lambda p: p.parts[-3] + "/" + p.parts[-2]
)
def test_full_recipes_use_paper_hyperparameters(path):
    stage = path.parent.name
    script, args, model, _ = parse_recipe(path, args=CPU)
    n_gpus = 32 if "72b" in str(path) else 8  # the hardware comment's GPU count
    global_batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * n_gpus
    assert model.dtype == "bfloat16" and args.use_liger_kernel and args.gradient_checkpointing
    assert args.lr_scheduler_type == "cosine" and args.warmup_steps == 0.03 and args.weight_decay == 0.0
    if (
        stage == "domain"
    ):  # recipes/README.md: effective global batch 8, 1 epoch, 2e-5, 8192 tokens, loss on all tokens
        assert (args.learning_rate, args.num_train_epochs, args.max_length) == (2e-5, 1, 8192)
        assert global_batch == max(8, n_gpus) and not args.assistant_only_loss and script.dataset_config == "sft"
    elif stage == "reasoning":  # recipes/README.md: global batch 64, 5 epochs, 12288 tokens
        assert (args.learning_rate, args.num_train_epochs, args.max_length, global_batch) == (2e-5, 5, 12288, 64)
    elif (
        stage == "grpo"
    ):  # recipes/README.md: 4 prompts x 16 samples, 2e-6, vLLM colocate, T 0.7 / top_p 0.95 / top_k 20
        assert (args.learning_rate, args.num_generations, args.max_completion_length) == (2e-6, 16, 2048)
        assert args.per_device_train_batch_size * n_gpus == args.generation_batch_size == 64
        assert (
            args.use_vllm
            and args.vllm_mode == "colocate"
            and (args.temperature, args.top_p, args.top_k) == (0.7, 0.95, 20)
        )
    else:
        assert args.packing and args.dataset_text_field == "text" and script.dataset_config == "cpt"


# ------------------------------------------------------------------------------------------- tiny runs via `trl`
@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, tiny_model_dir) -> Path:
    """A real `ehr-r1 build-ins` output (synthetic MIMIC-IV), fitted to 1024 tokens of the tiny model's tokenizer, with
    the stage-2 chains of a real `ehr-r1 build-reasoning` run (the offline template teacher)."""
    from ehr_r1.builder import BuildConfig, build_dataset
    from ehr_r1.cli import main
    from ehr_r1.synth import SynthConfig, write_synthetic_mimic

    tmp = tmp_path_factory.mktemp("ehr-ins")
    write_synthetic_mimic(tmp / "mimic", SynthConfig(patients=120, seed=0))
    cfg = BuildConfig(str(tmp / "mimic"), str(tmp / "plain"), dataset="ehr-ins", max_per_task=3, cpt=True,
                      max_length=1024, tokenizer=str(tiny_model_dir))  # fmt: skip
    build_dataset(cfg)
    loose = ["--min-support", "1", "--lift-threshold", "0"]  # a few samples per task: keep every co-occurrence
    assert main(["build-reasoning", "--ins", str(tmp / "plain"), "--output", str(tmp / "reasoning"), *loose]) == 0
    cfg.output, cfg.reasoning_file = str(tmp / "ehr-ins"), str(tmp / "reasoning" / "reasoning.jsonl")
    build_dataset(cfg)
    assert (tmp / "ehr-ins" / "data" / "reasoning").is_dir()
    return tmp / "ehr-ins"


def trl_run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(
        command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800
    )  # wide: CI may be loaded


@pytest.fixture(scope="module")
def tiny_runs(tiny_model_dir, tiny_data, tmp_path_factory) -> dict:
    """Each tiny recipe through `trl sft|grpo --config`, two at a time (each run is mostly imports)."""
    out = tmp_path_factory.mktemp("runs")
    bad = out / "bad.yaml"
    bad.write_text(TINY["domain"].read_text() + "max_seq_length: 1024\n")  # removed in TRL 1.x
    jobs = {
        name: [TRL, trainer_for_recipe(path), "--config", str(path), "--model_name_or_path", str(tiny_model_dir),
               "--dataset_name", str(tiny_data), "--output_dir", str(out / name)]
        for name, path in TINY.items()
    }  # fmt: skip
    jobs["unknown_key"] = [TRL, "sft", "--config", str(bad), "--model_name_or_path", str(tiny_model_dir)]
    order = ["grpo", "unknown_key", "domain", "reasoning", "cpt", "qlora"]  # longest first
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(order, pool.map(lambda n: trl_run(jobs[n], REPO), order), strict=True))
    return {name: (result, out / name) for name, result in results.items()}


def poisoned_ehr_ins(out: Path, config: str, good: int = 1000, bad: int = 200) -> Path:
    """An EHR-Ins whose ``config`` holds ``good`` realistic rows, then ``bad`` empty conversations that TRL's
    tokenization rejects: any run that tokenizes the whole split fails on them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ehr_r1 import layout

    data = write_tiny_ehr_ins(out, n=16)
    path = data / layout.config_file(config, "train")
    table = pq.read_table(path)
    rows = table.to_pylist()
    poisoned = [rows[i % len(rows)] for i in range(good)] + [{**rows[0], "messages": []}] * bad
    pq.write_table(pa.Table.from_pylist(poisoned, schema=table.schema), path)
    return data


@pytest.mark.parametrize("name", ["domain", "reasoning"])
def test_tiny_recipes_tokenize_only_the_rows_their_steps_use(tmp_path, tiny_model_dir, name):
    """The smoke recipes stay smoke runs on a full-size EHR-Ins: the split is streamed, so tokenization stops at what
    ``max_steps`` consumes (packing: its first batch of 1,000 rows) instead of covering every sample up front."""
    from itertools import islice

    from datasets import IterableDataset

    from ehr_r1.training import make_sft_trainer

    data = poisoned_ehr_ins(tmp_path / "ehr-ins", read(TINY[name])["dataset_config"])
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(data), "--output_dir", str(tmp_path)]
    trainer = make_sft_trainer(*parse_recipe(TINY[name], args=args))
    assert isinstance(trainer.train_dataset, IterableDataset)
    batches = list(islice(trainer.get_train_dataloader(), trainer.args.max_steps))
    assert len(batches) == trainer.args.max_steps and all(b["input_ids"].numel() > 0 for b in batches)
    with pytest.raises(IndexError):  # the same recipe, every row tokenized up front: TRL reads messages[0] of each
        make_sft_trainer(*parse_recipe(TINY[name], args=[*args, "--dataset_streaming", "false"]))


def logged_steps(log: str) -> list[dict]:
    return [ast.literal_eval(line) for line in log.splitlines() if line.startswith("{'loss'")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["domain", "reasoning", "cpt", "qlora", "grpo"])
def test_tiny_recipe_trains_through_trl(tiny_runs, name):
    result, output_dir = tiny_runs[name]
    assert result.returncode == 0, result.stderr[-3000:]
    steps = logged_steps(result.stdout + result.stderr)
    assert len(steps) == read(TINY[name])["max_steps"]
    assert all(math.isfinite(float(s["loss"])) for s in steps)
    if name == "grpo":  # the rewards were imported by dotted path and called on every step
        assert all("rewards/ehr_accuracy_reward/mean" in s and "rewards/ehr_format_reward/mean" in s for s in steps)
    else:
        assert all(float(s["grad_norm"]) > 0 for s in steps)
    saved = {p.name for p in output_dir.iterdir()}
    assert "adapter_model.safetensors" in saved if name == "qlora" else "model.safetensors" in saved


@pytest.mark.slow
def test_trl_cli_rejects_unknown_recipe_key(tiny_runs):
    result, _ = tiny_runs["unknown_key"]
    assert result.returncode != 0 and "max_seq_length" in result.stderr


# ------------------------------------------------------------------------------------------------- bad input
def test_unknown_key_fails_at_parse_time_naming_it(tmp_path):
    recipe = tmp_path / "domain.yaml"
    recipe.write_text(TINY["domain"].read_text() + "torch_dtype: bfloat16\n")
    with pytest.raises(EhrR1Error, match="torch_dtype"):
        parse_recipe(recipe)


def test_batch_not_divisible_by_num_generations_fails_at_parse_time():
    with pytest.raises(EhrR1Error, match=r"num_generations \(3\)"):
        parse_recipe(TINY["grpo"], args=["--num_generations", "3"])
    with pytest.raises(EhrR1Error, match=r"generation_batch_size \(24\) must be divisible by num_generations \(16\)"):
        parse_recipe(RECIPES / "ehr-r1-8b" / "grpo" / "config_full.yaml", args=[*CPU, "--generation_batch_size", "24"])


@pytest.mark.parametrize(
    ("recipe", "config", "column"), [("grpo", "grpo", "task_type"), ("grpo", "grpo", "output"), ("grpo", "grpo", "prompt"),
                                     ("domain", "sft", "messages"), ("reasoning", "reasoning", "messages"),
                                     ("cpt", "cpt", "text")],
)  # fmt: skip
def test_missing_column_fails_before_training_naming_it(tmp_path, tiny_model_dir, recipe, config, column):
    data = write_tiny_ehr_ins(tmp_path / "ehr-ins", n=4, drop={config: column})
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(data)]
    with pytest.raises(InputError, match=repr(column)) as err:
        check_recipe(TINY[recipe], args)
    assert err.value.column == column and str(data) in str(err.value)


def test_a_config_file_missing_from_a_built_folder_is_named(tmp_path, tiny_model_dir):
    from ehr_r1 import layout

    data = write_tiny_ehr_ins(tmp_path / "ehr-ins", n=4)
    (data / layout.config_file("reasoning", "train")).unlink()
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(data)]
    with pytest.raises(InputError, match=r"data/reasoning/train-\S+\.parquet: missing, yet listed in the README"):
        check_recipe(TINY["reasoning"], args)


def test_grpo_script_checks_columns_before_loading_the_model(tmp_path):
    data = write_tiny_ehr_ins(tmp_path / "ehr-ins", n=4, drop={"grpo": "output"})
    args = ["--model_name_or_path", str(tmp_path / "no-such-model"), "--dataset_name", str(data)]
    script = runpy.run_path(str(REPO / "scripts" / "grpo.py"))
    with pytest.raises(InputError, match="'output'"):  # a model load would fail first with another error
        script["main"](*parse_recipe(TINY["grpo"], args=args))


# ------------------------------------------------------------------------------------------ checkpoints, Hub
@pytest.mark.slow
def test_sft_script_saves_generation_config_with_chat_eos(tmp_path, tiny_model_dir, tiny_data):
    import json

    out = tmp_path / "run"
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(tiny_data), "--output_dir", str(out),
            "--max_steps", "1", "--gradient_checkpointing", "true"]  # fmt: skip
    script = runpy.run_path(str(REPO / "scripts" / "sft.py"))
    summary = script["main"](*parse_recipe(TINY["domain"], args=args), recipe=str(TINY["domain"]))
    assert json.loads((out / "config.json").read_text())["use_cache"] is True
    assert 151645 in json.loads((out / "generation_config.json").read_text())["eos_token_id"]  # <|im_end|>
    facts = json.loads((out / "ehr_r1_training.json").read_text())  # the model-card callback ran at the end
    assert (facts["stage"], facts["steps"], facts["recipe"]) == ("domain", 1, str(TINY["domain"]))
    assert summary["steps"] == 1 and math.isfinite(summary["final_loss"]) and (out / "README.md").is_file()


@pytest.mark.parametrize("script", ["sft", "grpo"])
def test_scripts_refuse_more_ranks_than_devices_before_loading_anything(monkeypatch, tmp_path, script):
    """`accelerate launch` with an 8-GPU config on this CPU machine: one line, before the data or model is read."""
    args = ["--model_name_or_path", str(tmp_path / "no-such-model"), "--dataset_name", str(tmp_path / "no-such-data")]
    parsed = parse_recipe(TINY["grpo" if script == "grpo" else "domain"], args=args)
    main = runpy.run_path(str(REPO / "scripts" / f"{script}.py"))["main"]
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    with pytest.raises(EhrR1Error, match="8 processes on this machine"):
        main(*parsed)


def test_finalize_model_restores_cache_and_chat_eos():
    from transformers import GenerationConfig

    model = SimpleNamespace(
        config=SimpleNamespace(use_cache=False), generation_config=GenerationConfig(eos_token_id=151643)
    )
    tokenizer = SimpleNamespace(eos_token_id=151645, pad_token_id=151643)
    finalize_model(model, tokenizer)
    assert model.config.use_cache and model.generation_config.eos_token_id == [151645, 151643]
    assert model.generation_config.pad_token_id == 151643


@pytest.mark.gpu
def test_qlora_sft_on_gpu(tmp_path, tiny_model_dir, tiny_data):
    script = runpy.run_path(str(REPO / "scripts" / "sft.py"))
    args = ["--model_name_or_path", str(tiny_model_dir), "--dataset_name", str(tiny_data), "--output_dir",
            str(tmp_path / "run"), "--use_cpu", "false", "--bf16", "true", "--dtype", "bfloat16"]  # fmt: skip
    script["main"](*parse_recipe(TINY["qlora"], args=args))
    assert (tmp_path / "run" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("recipe", [TINY["domain"], RECIPES / "ehr-r1-8b" / "reasoning" / "config_full.yaml"])
def test_an_over_long_sample_keeps_its_answer_through_trl_tokenization(tmp_path, tiny_model_dir, recipe):
    """The recipes' truncation: a sample over max_length loses its oldest tokens, never the assistant's answer."""
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from ehr_r1.prompting import assistant_target, build_messages

    args = [
        "--model_name_or_path",
        str(tiny_model_dir),
        "--output_dir",
        str(tmp_path / "out"),
        *CPU,
        "--max_length",
        "256",
    ]
    _, training_args, _, _ = parse_recipe(recipe, args=args)
    assert training_args.truncation_mode == "keep_end"
    events = "\n\n".join(
        f"## Labotary Test Events [2150-01-01 {h:02d}:00:00]\n- Item_Name: Creatinine" for h in range(24)
    )
    answer = "Potassium\nSodium"
    messages = build_messages(events * 4, "predict the next labs", completion=assistant_target(answer, think=False))
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]) > 256
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        args=training_args,
        train_dataset=datasets.Dataset.from_list([{"messages": messages}]),
        processing_class=tokenizer,
    )
    ids = trainer.train_dataset[0]["input_ids"]
    assert len(ids) == 256
    tail = tokenizer.decode(ids[-24:])
    assert answer in tail and tail.rstrip().endswith("<|im_end|>")

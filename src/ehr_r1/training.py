# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Checks that run before training, and the finishing touches before a checkpoint is saved.

Used by ``scripts/sft.py`` / ``scripts/grpo.py`` (TRL's scripts plus these checks) and by the tests:

- ``parse_recipe``: TRL's own parser for the stage, failing on unknown keys (the key is named) and on a GRPO batch
  that ``num_generations`` does not divide (TRL's ``GRPOConfig`` check, at parse time);
- ``check_dataset_columns``: the columns a stage needs, checked on the loaded dataset before the model is loaded;
- ``finalize_model``: ``use_cache=True`` and the tokenizer's EOS in the generation config before the final save;
- ``sft_main`` / ``grpo_main``: the two scripts' bodies (``ehr-r1 demo`` runs them in-process), with the launch check
  (``ehr_r1.launch.check_world_size``), the Hub-branch and model-card callbacks, and a summary of the run.
"""

import glob
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ehr_r1.errors import EhrR1Error, InputError


logger = logging.getLogger(__name__)

TRAINERS = ("sft", "grpo")
# reward-function parameters that TRL fills itself; every other parameter without a default must be a dataset column
TRL_REWARD_KWARGS = {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric"}


def trainer_for_recipe(path: str | os.PathLike) -> str:
    """``grpo`` for recipes of the GRPO stage (``.../grpo/config_*.yaml`` or ``tiny/grpo.yaml``), else ``sft``."""
    path = Path(path)
    return "grpo" if "grpo" in (path.parent.name, path.stem) else "sft"


def make_parser(trainer: str):
    """TRL's parser for ``trl <trainer>`` (script args, training config, ``ModelConfig``, dataset mixture)."""
    if trainer not in TRAINERS:
        raise EhrR1Error(f"unknown trainer {trainer!r}; expected one of {TRAINERS}")
    return importlib.import_module(f"trl.scripts.{trainer}").make_parser()


def parse_recipe(path: str | os.PathLike, trainer: str | None = None, args: Sequence[str] = ()) -> tuple:
    """Parse a recipe (plus command-line ``args`` overriding it) with TRL's parser; unknown keys are errors.

    Returns:
        ``(script_args, training_args, model_args, dataset_args)``, as ``trl sft|grpo`` would see them.
    """
    trainer = trainer or trainer_for_recipe(path)
    try:
        return make_parser(trainer).parse_args_and_config(["--config", str(path), *args], fail_with_unknown_args=True)
    except ValueError as err:  # TRL: "Unknown arguments from config file: ['--key', ...]"; GRPOConfig batch checks
        raise EhrR1Error(f"{path}: {err}") from err
    except SystemExit as err:  # argparse: a bad value or an unknown command-line flag (its message is on stderr)
        raise EhrR1Error(f"{path}: invalid arguments {list(args)}") from err


def load_reward_funcs(names: Sequence[str] | None) -> list[Callable | str]:
    """Resolve ``reward_funcs`` as ``trl grpo`` does: TRL's built-in names or dotted import paths."""
    from trl import rewards as trl_rewards

    funcs: list[Callable | str] = []
    for name in names or []:
        if hasattr(trl_rewards, name):
            funcs.append(getattr(trl_rewards, name))
        elif "." in name:
            module, attr = name.rsplit(".", 1)
            sys.path.insert(0, os.getcwd())
            try:
                funcs.append(getattr(importlib.import_module(module), attr))
            except (ImportError, AttributeError) as err:
                raise EhrR1Error(f"reward_funcs: cannot import {name!r} ({err})") from err
        else:
            raise EhrR1Error(f"reward_funcs: {name!r} is neither a TRL reward nor a dotted import path")
    return funcs


def reward_columns(func: Callable) -> list[str]:
    """Dataset columns a reward function needs: its parameters without defaults that TRL does not fill itself."""
    params = inspect.signature(func).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.default is p.empty and p.name not in TRL_REWARD_KWARGS]


def required_columns(trainer: str, training_args, reward_funcs: Sequence[Callable | str] = ()) -> list[list[str]]:
    """Alternative column sets the stage accepts (the first is the one EHR-Ins provides)."""
    if trainer == "grpo":
        needed = ["prompt"] + [c for f in reward_funcs if callable(f) for c in reward_columns(f)]
        return [list(dict.fromkeys(needed))]
    if getattr(training_args, "assistant_only_loss", False):
        return [["messages"]]
    if getattr(training_args, "completion_only_loss", None):
        return [["prompt", "completion"]]
    options = [["messages"], [training_args.dataset_text_field], ["prompt", "completion"]]
    if getattr(training_args, "packing", False) and training_args.packing_strategy in ("wrapped", "bfd_split"):
        options.insert(0, options.pop(1))  # CPT: language-modelling packing of raw `text`
    return options


def check_dataset_columns(
    dataset, trainer: str, training_args, reward_funcs: Sequence[Callable | str] = (), where: str = "dataset"
) -> None:
    """Raise ``InputError`` naming the first missing column unless the dataset has one of the accepted column sets."""
    columns = set(dataset.column_names or [])
    options = required_columns(trainer, training_args, reward_funcs)
    if any(set(option) <= columns for option in options):
        return
    missing = next(c for c in options[0] if c not in columns)
    others = " or ".join("+".join(o) for o in options[1:])
    hint = f" (or {others})" if others else ""
    raise InputError(where, f"{trainer} needs a {missing!r} column{hint}; found {sorted(columns)}", column=missing)


def load_train_dataset(script_args, dataset_args):
    """The dataset, loaded as ``trl sft|grpo`` loads it (a ``datasets:`` mixture or ``dataset_name`` + config).

    One difference: a local folder's config is loaded from its parquet files (see ``local_data_files``).
    """
    from datasets import load_dataset
    from trl import get_dataset

    if dataset_args.datasets:
        dataset = get_dataset(dataset_args)
    elif script_args.dataset_name:
        files = local_data_files(script_args.dataset_name, script_args.dataset_config)
        missing = [f for split in (files or {}).values() for f in split if not glob.glob(f)]  # paths or patterns
        if missing:
            where = dataset_source(script_args, dataset_args)
            raise InputError(missing[0], f"missing, yet listed in the README configs of {where}; rebuild the dataset")
        source = ("parquet", None) if files else (script_args.dataset_name, script_args.dataset_config)
        dataset = load_dataset(*source, data_files=files, streaming=script_args.dataset_streaming)
    else:
        raise EhrR1Error("recipe: set `dataset_name` (+ `dataset_config`) or a `datasets:` mixture")
    if script_args.dataset_train_split not in dataset:
        raise EhrR1Error(f"{dataset_source(script_args, dataset_args)}: no {script_args.dataset_train_split!r} split")
    return dataset


def local_data_files(folder: str, config: str | None) -> dict[str, list[str]] | None:
    """``{split: [parquet paths]}`` of a config of a local dataset folder, from its README ``configs:``, else None.

    Loading these files directly (not the folder) is deliberate: datasets 5.2 caches a local folder by its name and
    config only, so a folder rebuilt in place would silently load the old rows; parquet files are cached by content.
    """
    from ehr_r1 import layout

    if not (Path(folder) / layout.CARD).is_file():
        return None
    configs = layout.read_card_metadata(folder).get("configs") or []
    default = next((c for c in configs if c.get("default")), configs[0] if len(configs) == 1 else None)
    entry = next((c for c in configs if c.get("config_name") == config), None) if config else default
    if entry is None or not isinstance(entry.get("data_files"), list):
        return None
    files: dict[str, list[str]] = {}
    for item in entry["data_files"]:
        paths = item["path"] if isinstance(item["path"], list) else [item["path"]]
        files.setdefault(item["split"], []).extend(str(Path(folder) / p) for p in paths)
    return files


def dataset_source(script_args, dataset_args) -> str:
    """A short description of where the training data comes from, for error messages."""
    if dataset_args.datasets:
        return ", ".join(f"{d.path}" + (f" ({d.name})" if d.name else "") for d in dataset_args.datasets)
    return f"{script_args.dataset_name}" + (
        f" (config {script_args.dataset_config})" if script_args.dataset_config else ""
    )


def check_recipe(path: str | os.PathLike, args: Sequence[str] = ()) -> tuple:
    """Parse a recipe and check its dataset's columns, without loading the model; returns the parsed arguments."""
    trainer = trainer_for_recipe(path)
    parsed = parse_recipe(path, trainer, args)
    script_args, training_args, _, dataset_args = parsed
    dataset = load_train_dataset(script_args, dataset_args)[script_args.dataset_train_split]
    rewards = load_reward_funcs(getattr(script_args, "reward_funcs", None)) if trainer == "grpo" else ()
    check_dataset_columns(dataset, trainer, training_args, rewards, where=dataset_source(script_args, dataset_args))
    return parsed


def finalize_model(model, tokenizer) -> None:
    """Before the final save: ``use_cache=True`` (training turns it off) and the tokenizer's EOS in the generation config.

    Without the chat EOS (``<|im_end|>`` for Qwen) ``pipeline()`` and ``generate()`` run until ``max_new_tokens``.
    """
    model.config.use_cache = True
    generation_config = getattr(model, "generation_config", None)
    eos = getattr(tokenizer, "eos_token_id", None)
    if generation_config is None or eos is None:
        return
    current = generation_config.eos_token_id
    current = [] if current is None else [current] if isinstance(current, int) else list(current)
    generation_config.eos_token_id = list(dict.fromkeys([eos, *current]))
    if generation_config.pad_token_id is None:
        generation_config.pad_token_id = tokenizer.pad_token_id
    generation_config.use_cache = True


def model_init_kwargs(model_args, training_args) -> dict:
    """The ``model_init_kwargs`` TRL's scripts build from the model arguments."""
    return {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }


def training_summary(state) -> dict:
    """``{"steps", "final_loss"}`` (SFT) or ``{"steps", "final_loss", "mean_reward"}`` (GRPO) from a trainer state."""
    logged = [e for e in state.log_history if "loss" in e]
    summary = {"steps": state.global_step, "final_loss": float(logged[-1]["loss"]) if logged else None}
    rewards = [float(e["reward"]) for e in logged if "reward" in e]
    if rewards:
        summary["mean_reward"] = sum(rewards) / len(rewards)
    return summary


def push_final_model(training_args) -> str:
    """The final model, with the ehr-r1 card, to the run's branch through ``ehr_r1.hub.push_model`` (its guards, no
    trainer state files) rather than ``Trainer.push_to_hub`` (TRL's card, ``training_args.bin``)."""
    from ehr_r1 import hub
    from ehr_r1.model_card import write_model_card

    write_model_card(training_args.output_dir)
    url = hub.push_model(training_args.output_dir, training_args.hub_model_id, revision=training_args.hub_revision)
    logger.info("pushed %s to %s", training_args.output_dir, url)
    return url


def train_and_save(trainer, training_args, script_args) -> dict:
    """Train (resuming when asked), fix the generation config, save, and push to the run's Hub branch if enabled.

    Returns:
        The run's ``training_summary``.
    """
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    finalize_model(trainer.model, trainer.processing_class)
    push, training_args.push_to_hub = training_args.push_to_hub, False  # Trainer.save_model would push TRL's card
    try:
        trainer.save_model(training_args.output_dir)
    finally:
        training_args.push_to_hub = push
    logger.info("model saved to %s", training_args.output_dir)
    if push and trainer.is_world_process_zero():
        push_final_model(training_args)
    trainer.end()
    return training_summary(trainer.state)


def stage_for_recipe(path: str | os.PathLike | None) -> str | None:
    """The stage a recipe trains: ``recipes/<model>/<stage>/config_*.yaml`` or ``recipes/tiny/<stage>.yaml``."""
    if path is None:
        return None
    path = Path(path)
    return path.stem if path.parent.name == "tiny" else path.parent.name


def run_callbacks(script_args, dataset_args, recipe: str | None, stage: str | None) -> list:
    """The callbacks of every run: the run's own Hub branch, and a model card in every saved folder."""
    from ehr_r1.callbacks import PushToHubRevisionCallback
    from ehr_r1.model_card import ModelCardCallback

    dataset = dataset_args.datasets[0].path if dataset_args.datasets else script_args.dataset_name
    card = ModelCardCallback(
        recipe=str(recipe) if recipe else None, dataset=dataset, stage=stage or stage_for_recipe(recipe)
    )
    return [PushToHubRevisionCallback(dataset=dataset), card]


def _train_data(trainer: str, script_args, training_args, dataset_args, reward_funcs=()):
    dataset = load_train_dataset(script_args, dataset_args)
    train = dataset[script_args.dataset_train_split]
    where = dataset_source(script_args, dataset_args)
    check_dataset_columns(train, trainer, training_args, reward_funcs, where=where)
    evaluation = dataset[script_args.dataset_test_split] if training_args.eval_strategy != "no" else None
    return train, evaluation


def make_sft_trainer(script_args, training_args, model_args, dataset_args, *, recipe=None, stage=None, callbacks=()):
    """TRL's ``SFTTrainer`` as ``trl sft`` builds it, after the launch and dataset checks (the model is loaded last)."""
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    from ehr_r1.launch import check_world_size

    check_world_size()
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    train, evaluation = _train_data("sft", script_args, training_args, dataset_args)
    return SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        quantization_config=get_quantization_config(model_args),
        peft_config=get_peft_config(model_args),
        callbacks=[*run_callbacks(script_args, dataset_args, recipe, stage), *callbacks],
    )


def make_grpo_trainer(script_args, training_args, model_args, dataset_args, *, recipe=None, stage=None, callbacks=()):
    """TRL's ``GRPOTrainer`` as ``trl grpo`` builds it: rewards resolved and their columns checked before the model."""
    from trl import GRPOTrainer, get_peft_config, get_quantization_config

    from ehr_r1.launch import check_world_size

    check_world_size()
    reward_funcs = load_reward_funcs(script_args.reward_funcs)
    if script_args.reward_model_name_or_path:
        reward_funcs.insert(0, script_args.reward_model_name_or_path)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    train, evaluation = _train_data("grpo", script_args, training_args, dataset_args, reward_funcs)
    return GRPOTrainer(
        model=model_args.model_name_or_path,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        quantization_config=get_quantization_config(model_args),
        peft_config=get_peft_config(model_args),
        callbacks=[*run_callbacks(script_args, dataset_args, recipe, stage), *callbacks],
    )


def sft_main(script_args, training_args, model_args, dataset_args, **kwargs) -> dict:
    """``scripts/sft.py``: build the trainer (``make_sft_trainer``, same keywords), train, save; the run's summary."""
    trainer = make_sft_trainer(script_args, training_args, model_args, dataset_args, **kwargs)
    return train_and_save(trainer, training_args, script_args)


def grpo_main(script_args, training_args, model_args, dataset_args, **kwargs) -> dict:
    """``scripts/grpo.py``: build the trainer (``make_grpo_trainer``, same keywords), train, save; the run's summary."""
    trainer = make_grpo_trainer(script_args, training_args, model_args, dataset_args, **kwargs)
    return train_and_save(trainer, training_args, script_args)


def _recipe_argument(argv: Sequence[str]) -> str | None:
    """The ``--config`` value of a script's command line (the recipe, for the model card)."""
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def run_script(trainer: str, main: Callable) -> None:
    """Entry point of ``scripts/{sft,grpo}.py``: parse the recipe strictly, run ``main`` (given ``recipe=`` the
    ``--config`` file); bad recipes, data and launches end with a one-line error and exit status 2 (errors raised while
    training propagate)."""
    from ehr_r1.launch import check_world_size

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        check_world_size()  # before the training arguments start torch.distributed
        parsed = make_parser(trainer).parse_args_and_config(fail_with_unknown_args=True)
    except (ValueError, EhrR1Error) as err:  # too many ranks, unknown key, batch not divisible by num_generations, ...
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    try:
        main(*parsed, recipe=_recipe_argument(sys.argv[1:]))
    except EhrR1Error as err:  # our input checks (missing dataset column, ...)
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(2)

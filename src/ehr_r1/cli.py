# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``ehr-r1`` console command.

Each subcommand lives in ``ehr_r1.commands.<module>`` and exposes ``HELP``, ``CONFIG`` (its options as a dataclass, or a
``{command name: dataclass}`` dict for a module serving several commands) and ``run(config) -> int``; the options,
``--config FILE.yaml`` included, are generated from the dataclass by :mod:`ehr_r1.cli_args`. Modules that still expose
``add_arguments(parser[, name])`` and ``run(args)`` are served as before. A module is imported only when its subcommand
runs, so ``ehr-r1 --help`` stays fast and the data commands never import torch.
"""

import argparse
import importlib
import logging
import sys

from ehr_r1 import __version__
from ehr_r1.cli_args import add_dataclass_arguments, parse_config
from ehr_r1.errors import EhrR1Error


# subcommand -> (module, one-line help). Help is duplicated here so that `ehr-r1 --help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth-mimic": ("ehr_r1.commands.synth_mimic", "Write a synthetic MIMIC-IV folder (hosp, icu, ed, note)."),
    "build-timelines": ("ehr_r1.commands.build_timelines", "MIMIC-IV folder -> patient-sharded timeline parquet."),
    "build-bench": ("ehr_r1.commands.build_datasets", "Build EHR-Bench (test patients) from a MIMIC-IV folder."),
    "build-ins": ("ehr_r1.commands.build_datasets", "Build EHR-Ins (train patients) from a MIMIC-IV folder."),
    "build-reasoning": (
        "ehr_r1.commands.build_reasoning",
        "Thinking-graph reasoning chains (stage 2) from a built EHR-Ins folder and any OpenAI-compatible teacher.",
    ),
    "eval": ("ehr_r1.commands.eval", "Score a model (or a baseline) on EHR-Bench."),
    "tiny-model": ("ehr_r1.commands.tiny_model", "Write a tiny random Qwen3 model with the real Qwen vocabulary."),
    "demo": (
        "ehr_r1.commands.demo",
        "The whole pipeline on the embedded default: data, reasoning chains, 3 training stages, eval, model card.",
    ),
    "push-dataset": (
        "ehr_r1.commands.push",
        "Push a built EHR-Bench / EHR-Ins folder to a private (gated when MIMIC-derived) Hub dataset repo.",
    ),
    "push-model": (
        "ehr_r1.commands.push",
        "Push a checkpoint (full or PEFT adapter) with its model card to a private (gated) Hub model repo.",
    ),
    "labels": (
        "ehr_r1.commands.labels",
        "ACES task configs on a MEDS folder -> <task_name>.parquet label files (risk tasks for build-bench).",
    ),
    "adapt-ehrshot": (
        "ehr_r1.commands.adapt",
        "EHRSHOT (MEDS release + labels) -> an EHR-Bench folder of its 14 binary tasks.",
    ),
    "adapt-cdm": (
        "ehr_r1.commands.adapt",
        "MIMIC-IV-Ext-CDM (Hager et al.) -> an EHR-Bench folder scored with cdm_diagnosis.",
    ),
}


def config_class(module, name: str) -> type | None:
    """The options dataclass of command ``name`` served by ``module`` (``None`` for an ``add_arguments`` module)."""
    config = getattr(module, "CONFIG", None)
    return config[name] if isinstance(config, dict) else config


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ehr-r1", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ehr-r1 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in (argv or []) if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen command's module is imported
            _add_command(p, importlib.import_module(module), name)
    return parser


def _add_command(parser: argparse.ArgumentParser, mod, name: str) -> None:
    cls = config_class(mod, name)
    if cls is None:  # an add_arguments(parser[, name]) / run(args) module
        mod.add_arguments(parser, name) if mod.add_arguments.__code__.co_argcount >= 2 else mod.add_arguments(parser)
        parser.set_defaults(_run=mod.run)
        return
    add_dataclass_arguments(parser, cls)
    parser.epilog = getattr(mod, "EPILOG", None)
    parser.set_defaults(_run=mod.run, _config_class=cls)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        cls = getattr(args, "_config_class", None)
        return int(args._run(parse_config(cls, args) if cls else args) or 0)
    except EhrR1Error as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)  # noqa: T201
        return 130


if __name__ == "__main__":
    sys.exit(main())

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The ``ehr-r1`` console command.

Each subcommand lives in ``ehr_r1.commands.<module>`` and exposes ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their subcommand runs, so ``ehr-r1 --help`` stays fast and the data
commands never import torch.
"""

import argparse
import importlib
import logging
import sys

from ehr_r1 import __version__
from ehr_r1.errors import EhrR1Error


# subcommand -> (module, one-line help). Help is duplicated here so that `ehr-r1 --help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth-mimic": ("ehr_r1.commands.synth_mimic", "Write a synthetic MIMIC-IV folder (hosp, icu, ed, note)."),
    "build-timelines": ("ehr_r1.commands.build_timelines", "MIMIC-IV folder -> patient-sharded timeline parquet."),
    "build-bench": ("ehr_r1.commands.build_datasets", "Build EHR-Bench (test patients) from a MIMIC-IV folder."),
    "build-ins": ("ehr_r1.commands.build_datasets", "Build EHR-Ins (train patients) from a MIMIC-IV folder."),
    "eval": ("ehr_r1.commands.eval", "Score a model (or a baseline) on EHR-Bench."),
    "tiny-model": ("ehr_r1.commands.tiny_model", "Write a tiny random Qwen3 model with the real Qwen vocabulary."),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ehr-r1", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ehr-r1 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in (argv or []) if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen command's module is imported
            mod = importlib.import_module(module)
            mod.add_arguments(p, name) if _takes_name(mod) else mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def _takes_name(mod) -> bool:
    return mod.add_arguments.__code__.co_argcount >= 2


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
        return int(args._run(args) or 0)
    except EhrR1Error as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)  # noqa: T201
        return 130


if __name__ == "__main__":
    sys.exit(main())

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 tiny-model``: write a tiny random Qwen3 model with the real Qwen vocabulary (offline, seconds)."""

import argparse


HELP = "Write a tiny random Qwen3 model with the real Qwen vocabulary."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, help="Folder to write (replaced if it exists).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the random initialisation.")


def run(args: argparse.Namespace) -> int:
    from ehr_r1.tiny_model import build_tiny_model

    build_tiny_model(args.output, seed=args.seed)
    return 0

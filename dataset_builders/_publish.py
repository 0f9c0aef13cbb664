# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Shared entry of the builder scripts: run ``ehr-r1 <command>``, then push when ``--push-to-hub`` is given."""

import argparse
import sys

from ehr_r1.cli import main
from ehr_r1.errors import EhrR1Error
from ehr_r1.hub import push_dataset


def build_and_maybe_push(command: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--push-to-hub", action="store_true")
    parser.add_argument("--repo-id")
    parser.add_argument("--output")
    known, _ = parser.parse_known_args(argv)
    rest = [a for a in argv if a not in ("--push-to-hub",) and a != "--repo-id" and a != known.repo_id]
    if known.push_to_hub and not known.repo_id:
        print("error: --push-to-hub needs --repo-id", file=sys.stderr)
        return 2
    code = main([command, *rest])
    if code or not known.push_to_hub:
        return code
    try:
        print(push_dataset(known.output, known.repo_id))
    except EhrR1Error as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Shared pieces of the ``build-reasoning`` tests.

- ``demo_ins``: an EHR-Ins built once per session from the real MIMIC-IV demo (50 samples per task); a test module
  uses it with ``demo_ins = reasoning_helpers.demo_ins``.
- ``ehr_r1`` / ``ehr_r1_process``: the console command in process / in a child process (for ``kill -9``).
- ``canned_chain``: what the fake teacher (``openai_server.OpenAIServer``) answers: a chain in the three sections whose
  Final Results are the prompt's correct answer, so a resumed run and an uninterrupted one get the same texts.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED

from ehr_r1 import cli


_BUILT: dict[str, Path] = {}  # each module importing the fixture gets its own; build once for all of them
MIMIC_CODE = SHARED / "data" / "mappings" / "mimic-code"
LEAK_CHAIN = "## Extraction\nThe record.\n\n## Reasoning\nAccording to the ground truth, it is.\n\n## Final Results\n"


def ehr_r1(*args) -> int:
    """``ehr-r1 <args>`` in process; returns the exit status."""
    return cli.main([str(a) for a in args])


def ehr_r1_process(*args, **kwargs) -> subprocess.Popen:
    """``ehr-r1 <args>`` in a child process."""
    return subprocess.Popen([sys.executable, "-m", "ehr_r1.cli", *map(str, args)], **kwargs)


def canned_chain(request) -> str:
    """The fake teacher's answer to an `openai_server.Request`: three sections, Final Results = the correct answer."""
    match = re.search(r"# Correct answer\n(.*?)\n\n# ", request.user, re.DOTALL)
    answer = match.group(1).strip() if match else ""
    return (
        "## Extraction\n**Admissions [2150-01-01 00:00:00]**: the record.\n\n"
        f"## Reasoning\nThe findings point to the items below.\n\n## Final Results\n{answer}"
    )


@pytest.fixture(scope="session")
def demo_ins(tmp_path_factory, mimic_demo, ethos_mappings) -> Path:
    """EHR-Ins built from the real MIMIC-IV demo (50 samples per task)."""
    if "demo" not in _BUILT:
        out = tmp_path_factory.mktemp("reasoning") / "ins"
        argv = ["build-ins", "--mimic-dir", mimic_demo, "--output", out, "--atc-map", ethos_mappings]
        assert ehr_r1(*argv, "--max-per-task", 50) == 0
        _BUILT["demo"] = out
    return _BUILT["demo"]

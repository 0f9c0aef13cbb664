# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Outputs never destroy anything: an --output related to an input, or a folder ehr-r1 did not write, is refused
before any work; rebuilds swap atomically; two runs into one output do not interleave."""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mimic_factory import mini_mimic

from ehr_r1.cli import main


def tree_digest(root: Path) -> str:
    """A digest of every path, size and byte under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _error(capsys, *args: str) -> str:
    capsys.readouterr()  # forget what earlier runs printed
    assert main(list(args)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture
def mimic(tmp_path) -> Path:
    return mini_mimic(tmp_path / "data" / "mimiciv")


@pytest.mark.parametrize("command", ["build-bench", "build-ins", "build-timelines"])
@pytest.mark.parametrize("where", ["itself", "its hosp", "its parent", "cwd"])
def test_output_related_to_the_input_is_refused_and_the_input_untouched(mimic, capsys, monkeypatch, command, where):
    before = tree_digest(mimic.parent)
    output = {"itself": mimic, "its hosp": mimic / "hosp", "its parent": mimic.parent, "cwd": Path(".")}[where]
    monkeypatch.chdir(mimic.parent)
    line = _error(capsys, command, "--mimic-dir", str(mimic), "--output", str(output), "--overwrite")
    assert "the input" in line and str(mimic) in line
    assert tree_digest(mimic.parent) == before
    assert not [p for p in mimic.parent.parent.rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]


def test_a_folder_ehr_r1_did_not_write_is_never_replaced(mimic, tmp_path, capsys):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("irreplaceable")
    for extra in ([], ["--overwrite"]):
        line = _error(capsys, "build-bench", "--mimic-dir", str(mimic), "--output", str(mine), *extra)
        assert "ehr-r1 did not write" in line
    line = _error(capsys, "tiny-model", "--output", str(mine))
    assert (mine / "thesis.txt").read_text() == "irreplaceable" and "did not write" in line


def test_rebuild_replaces_its_own_output_and_another_command_needs_overwrite(mimic, tmp_path, capsys):
    out = tmp_path / "bench"  # the mini MIMIC-IV patient is in the train split: build-ins
    args = ["--mimic-dir", str(mimic), "--output", str(out), "--max-per-task", "5", "--min-context-events", "0"]
    assert main(["build-ins", *args]) == 0
    assert json.loads((out / "manifest.json").read_text())["command"] == "build-ins"
    assert main(["build-ins", *args]) == 0  # a rebuild of the same command
    line = _error(capsys, "build-timelines", "--mimic-dir", str(mimic), "--output", str(out))
    assert "written by `ehr-r1 build-ins`" in line and "--overwrite" in line
    assert (out / "README.md").exists()  # untouched
    assert main(["build-timelines", "--mimic-dir", str(mimic), "--output", str(out), "--overwrite"]) == 0
    assert json.loads((out / "manifest.json").read_text())["command"] == "build-timelines"
    assert not list(tmp_path.glob(".bench.*"))  # no temporary, old or lock file left beside it


def test_a_second_run_into_the_same_output_refuses(mimic, tmp_path, capsys):
    out = tmp_path / "bench"
    with open(tmp_path / ".bench.lock", "w") as held:  # what a running build holds
        fcntl.flock(held, fcntl.LOCK_EX)
        line = _error(capsys, "build-bench", "--mimic-dir", str(mimic), "--output", str(out))
    assert "another ehr-r1 run" in line and not out.exists()


def test_a_kill_at_any_instant_leaves_the_old_or_the_new_output(mimic_demo, tmp_path):
    """SIGKILL rebuilds of the demo bench at several instants: the folder is always a complete build."""
    out = tmp_path / "bench"
    args = ["build-bench", "--mimic-dir", str(mimic_demo), "--output", str(out), "--max-per-task", "20"]
    assert main(args) == 0
    first = json.loads((out / "manifest.json").read_text())["output_fingerprints"]
    code = "import sys; from ehr_r1.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    for delay in (0.5, 1.5, 2.5, 3.5, 5.0):
        child = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=600)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["output_fingerprints"] == first  # same input: the old and the new build are identical
        assert all((out / rel).is_file() for rel in manifest["output_fingerprints"])
    assert main(args) == 0  # the next run cleans up what the killed ones left
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".bench.")]


def test_a_full_disk_is_one_line_and_leaves_nothing(mimic_demo, tmp_path):
    """A file-size limit (as a full or quota-bound disk) stops the build with one line naming the output."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))\n"
        "from ehr_r1.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "ins"
    args = ["build-ins", "--mimic-dir", str(mimic_demo), "--output", str(out), "--max-per-task", "20"]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], check=False, env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert f"--output {out}" in lines[0] and "File too large" in lines[0]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_eval_never_writes_into_what_it_reads(mimic, tmp_path, capsys):
    ins = tmp_path / "ins"
    assert main(["build-ins", "--mimic-dir", str(mimic), "--output", str(ins), "--min-context-events", "0"]) == 0
    before = tree_digest(ins)
    for output in (ins, ins / "runs", tmp_path):
        line = _error(capsys, "eval", "--baseline", "frequency", "--bench", str(ins), "--output", str(output))
        assert "the input" in line
    assert tree_digest(ins) == before

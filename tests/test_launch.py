# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Launch configs: the CPU config starts one process and trains; the GPU configs, launched for real with
``accelerate launch``, refuse to run more ranks than the machine has devices, with one line naming both numbers."""

import ast
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ehr_ins_fixture import write_tiny_ehr_ins

from ehr_r1.errors import EhrR1Error
from ehr_r1.launch import check_world_size, devices


REPO = Path(__file__).resolve().parents[1]
ACCELERATE_CONFIGS = REPO / "recipes" / "accelerate"
ACCELERATE = str(Path(sys.executable).with_name("accelerate"))
LAUNCH_ENV = ("WORLD_SIZE", "LOCAL_WORLD_SIZE", "ACCELERATE_USE_CPU")


@pytest.fixture
def clean_env(monkeypatch):
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def launch(config: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``accelerate launch --config_file recipes/accelerate/<config>.yaml ARGS`` (wide timeout: CI may be loaded)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    command = [ACCELERATE, "launch", "--config_file", str(ACCELERATE_CONFIGS / f"{config}.yaml"), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def errors(result: subprocess.CompletedProcess) -> list[str]:
    """The one-line errors the ranks printed (ranks write concurrently: a line may run into another's start)."""
    return re.findall(r"error: .*? device\(s\) found: (?:pass --num_processes \d+ or fewer|use \S+ \(one CPU process\))",
                      result.stderr)  # fmt: skip


# ------------------------------------------------------------------------------------------------ check_world_size
def test_one_process_always_passes(clean_env):
    check_world_size()  # no launcher
    clean_env.setenv("WORLD_SIZE", "1")
    check_world_size()


def test_more_ranks_than_devices_fail_naming_both(clean_env):
    kind, found = devices()
    clean_env.setenv("WORLD_SIZE", str(found + 7))
    with pytest.raises(EhrR1Error, match=rf"^{found + 7} processes on this machine .* but {found} {kind} device"):
        check_world_size()


def test_ranks_per_machine_not_world_size_count_on_multi_node(clean_env):
    """torchrun sets LOCAL_WORLD_SIZE (ranks on this node) beside WORLD_SIZE (all nodes): the node's count decides."""
    _, found = devices()
    clean_env.setenv("WORLD_SIZE", str(4 * max(found, 1)))
    clean_env.setenv("LOCAL_WORLD_SIZE", str(max(found, 1)))
    check_world_size()
    clean_env.setenv("LOCAL_WORLD_SIZE", str(found + 1 if found else 2))
    with pytest.raises(EhrR1Error, match=rf"^{found + 1 if found else 2} processes"):
        check_world_size()


def test_explicit_cpu_run_may_use_several_processes(clean_env):
    clean_env.setenv("WORLD_SIZE", "2")
    for value in ("true", "1", "True"):
        clean_env.setenv("ACCELERATE_USE_CPU", value)
        check_world_size()
    clean_env.setenv("ACCELERATE_USE_CPU", "False")  # what accelerate sets for a GPU config
    if devices()[1] < 2:
        with pytest.raises(EhrR1Error):
            check_world_size()


def test_bad_world_size_is_named(clean_env):
    clean_env.setenv("WORLD_SIZE", "eight")
    with pytest.raises(EhrR1Error, match=r"WORLD_SIZE='eight' is not an integer"):
        check_world_size()


def test_cpu_and_single_device_configs_start_one_process():
    for name, use_cpu in (("cpu", True), ("single_gpu", False)):
        config = yaml.safe_load((ACCELERATE_CONFIGS / f"{name}.yaml").read_text())
        assert (config["distributed_type"], config["num_processes"], config["use_cpu"]) == ("NO", 1, use_cpu)
        assert (ACCELERATE_CONFIGS / f"{name}.yaml").read_text().startswith("# One process")


# --------------------------------------------------------------------------------------- real accelerate launches
@pytest.mark.slow
def test_ddp_config_refuses_its_eight_ranks_on_this_machine():
    """`accelerate launch --config_file recipes/accelerate/ddp.yaml` as shipped (8 ranks) on a machine with fewer."""
    kind, found = devices()
    if found >= 8:
        pytest.skip(f"{found} {kind} devices: 8 ranks fit")
    result = launch("ddp", "-m", "ehr_r1.launch")
    assert result.returncode != 0
    fix = f"pass --num_processes {found} or fewer" if found else "use recipes/accelerate/cpu.yaml (one CPU process)"
    expected = (
        f"8 processes on this machine (accelerate num_processes / WORLD_SIZE) but {found} {kind} device(s) found"
    )
    assert errors(result) and set(errors(result)) == {f"error: {expected}: {fix}"}, result.stderr[-3000:]
    assert len(errors(result)) == result.stderr.count("error: ")  # nothing else failed


@pytest.mark.slow
@pytest.mark.parametrize("script", ["sft", "grpo"])
def test_training_scripts_refuse_more_ranks_than_devices_before_loading_anything(script):
    """scripts/sft.py and scripts/grpo.py under the FSDP2 config with one rank more than the devices: the launch check
    fails first (the model and dataset paths do not exist, so any later step would fail with another error)."""
    kind, found = devices()
    ranks = found + 1 if found else 2  # the cheapest over-subscription
    result = launch("fsdp2", "--num_processes", str(ranks), f"scripts/{script}.py", "--config",
                    f"recipes/tiny/{'grpo' if script == 'grpo' else 'domain'}.yaml", "--model_name_or_path",
                    "/no/such/model", "--dataset_name", "/no/such/data")  # fmt: skip
    assert result.returncode != 0
    lines = set(errors(result))
    assert len(lines) == 1 and len(errors(result)) == result.stderr.count("error: "), result.stderr[-3000:]
    assert next(iter(lines)).startswith(f"error: {ranks} processes on this machine (accelerate num_processes")
    assert f"but {found} {kind} device(s) found" in next(iter(lines))


@pytest.mark.slow
def test_cpu_config_launches_and_trains_a_tiny_recipe(tmp_path, tiny_model_dir):
    """The CPU config end to end: one process, the tiny SFT recipe trains through scripts/sft.py to a saved model."""
    check = launch("cpu", "-m", "ehr_r1.launch")
    assert check.returncode == 0 and "ok: 1 process(es) on this machine" in check.stderr, check.stderr[-3000:]
    data = write_tiny_ehr_ins(tmp_path / "ehr-ins", n=8)
    out = tmp_path / "run"
    result = launch("cpu", "scripts/sft.py", "--config", "recipes/tiny/domain.yaml", "--model_name_or_path",
                    str(tiny_model_dir), "--dataset_name", str(data), "--output_dir", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("{'loss'")]
    assert len(losses) == yaml.safe_load((REPO / "recipes/tiny/domain.yaml").read_text())["max_steps"]
    assert all(math.isfinite(float(ast.literal_eval(line)["loss"])) for line in losses)
    assert (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_slurm_script_launches_one_node_and_the_guard_stops_it(tmp_path):
    """recipes/slurm/train.slurm as a job step runs it, with `srun` and `scontrol` replaced by the local shell (the one
    node is this machine): the real `accelerate launch` starts GPUS_PER_NODE ranks per node, which this machine
    refuses when it has fewer devices."""
    kind, found = devices()
    per_node = found + 1 if found else 2
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nSLURM_PROCID=0 exec "$@"\n')
    (bin_dir / "scontrol").write_text("#!/bin/bash\necho 127.0.0.1\n")
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
    env.update(PATH=f"{bin_dir}:{Path(sys.executable).parent}:{env['PATH']}", SLURM_NNODES="1", OMP_NUM_THREADS="1",
               SLURM_JOB_NODELIST="node-1", GPUS_PER_NODE=str(per_node), HF_HUB_OFFLINE="1")  # fmt: skip
    command = ["bash", "recipes/slurm/train.slurm", "ehr-r1-1.7b", "domain", "qlora", "ddp", "--max_steps", "1"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode != 0
    lines = set(errors(result))
    assert lines == {
        f"error: {per_node} processes on this machine (accelerate num_processes / WORLD_SIZE) but {found} {kind} "
        f"device(s) found: "
        + (f"pass --num_processes {found} or fewer" if found else "use recipes/accelerate/cpu.yaml (one CPU process)")
    }, result.stderr[-3000:]

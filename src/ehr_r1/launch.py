# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Launch checks: a run must not start more ranks on a machine than it has devices.

``accelerate launch`` and ``torchrun`` start ``num_processes`` (``--nproc_per_node``) ranks whatever the machine holds:
``recipes/accelerate/ddp.yaml`` on a 2-core laptop quietly starts 8 CPU ranks that each load the model.
``scripts/sft.py`` and ``scripts/grpo.py`` call :func:`check_world_size` first, so such a run stops with one line. The
same check runs alone as a preflight of a config on a machine::

    accelerate launch --config_file recipes/accelerate/zero3.yaml -m ehr_r1.launch

A CPU multi-process run is allowed only when it says so: ``ACCELERATE_USE_CPU`` true, which ``use_cpu: true`` in an
accelerate config (``recipes/accelerate/cpu.yaml``) and ``accelerate launch --cpu`` set; for ``torchrun`` on CPU set
it yourself (``ACCELERATE_USE_CPU=1 torchrun --nproc_per_node 2 scripts/sft.py ... --use_cpu true``).
"""

import logging
import os
import sys

from ehr_r1.errors import EhrR1Error


logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


def _env_int(*names: str) -> int | None:
    """The first of the environment variables ``names`` that is set, as an int (``None`` if none is set)."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise EhrR1Error(f"environment variable {name}={value!r} is not an integer") from None
    return None


def ranks_per_machine() -> int:
    """Ranks started on this machine: ``LOCAL_WORLD_SIZE`` (torchrun, accelerate), else ``WORLD_SIZE``, else 1."""
    return _env_int("LOCAL_WORLD_SIZE", "WORLD_SIZE") or 1


def explicit_cpu_run() -> bool:
    """Whether the run asked for CPU ranks (``ACCELERATE_USE_CPU``, set by ``use_cpu: true`` / ``--cpu``)."""
    return os.environ.get("ACCELERATE_USE_CPU", "").strip().lower() in _TRUE


def devices() -> tuple[str, int]:
    """The accelerator type and how many of its devices this process sees (``("cuda", 0)`` on a CPU machine)."""
    import torch

    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6: cuda, xpu, mps, ...
    if accelerator is None:
        return "cuda", torch.cuda.device_count()
    current = accelerator.current_accelerator()
    return (current.type, accelerator.device_count()) if current is not None else ("cuda", 0)


def check_world_size() -> None:
    """Raise :class:`EhrR1Error` when this machine runs more ranks than it has devices.

    The ranks per machine are ``LOCAL_WORLD_SIZE`` (or ``WORLD_SIZE``), which ``accelerate launch`` and ``torchrun``
    set from the config's ``num_processes``; the devices are the accelerator's device count. One process always
    passes; several CPU processes pass only when the run is explicitly a CPU run (:func:`explicit_cpu_run`).
    """
    ranks = ranks_per_machine()
    if ranks <= 1 or explicit_cpu_run():
        return
    kind, found = devices()
    if ranks <= found:
        return
    fix = f"pass --num_processes {found} or fewer" if found else "use recipes/accelerate/cpu.yaml (one CPU process)"
    raise EhrR1Error(
        f"{ranks} processes on this machine (accelerate num_processes / WORLD_SIZE) but {found} {kind} device(s) "
        f"found: {fix}"
    )


def main() -> int:
    """``python -m ehr_r1.launch`` under a launcher: check this rank's machine; exit 2 with one line if it fails."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        check_world_size()
    except EhrR1Error as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    kind, found = devices()
    logger.info("ok: %d process(es) on this machine, %d %s device(s)", ranks_per_machine(), found, kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())

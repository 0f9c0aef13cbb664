# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-bench`` and ``ehr-r1 build-ins``: MIMIC-IV folder → EHR-Bench / EHR-Ins dataset folder."""

import json
from dataclasses import dataclass, field

from ehr_r1.builder import QWEN3, BuildConfig


HELP = {
    "build-bench": "Build EHR-Bench (test patients) from a MIMIC-IV folder.",
    "build-ins": "Build EHR-Ins (train patients) from a MIMIC-IV folder.",
}


@dataclass
class InsBuildConfig(BuildConfig):
    """Options of ``ehr-r1 build-ins`` (those of ``build-bench`` for the training patients). Every sample is fitted to
    a token budget by default, so that training never cuts off an answer."""

    dataset: str = field(default="ehr-ins", metadata={"help": "ehr-bench or ehr-ins.", "cli": False})
    max_length: int | None = field(
        default=8192,
        metadata={"help": "Token budget of a sample's chat (the stage-1 max_length): drop the oldest events to fit."},
    )
    tokenizer: str | None = field(
        default=QWEN3,
        metadata={
            "help": "Tokenizer of the model you train (folder or Hub id), or 'qwen3' (the Qwen2.5/Qwen3 vocabulary, "
            "offline), counting tokens for --max-length."
        },
    )


CONFIG = {"build-bench": BuildConfig, "build-ins": InsBuildConfig}


def run(config: BuildConfig) -> int:
    from ehr_r1.builder import build_dataset

    manifest = build_dataset(config)
    total = sum(manifest["counts"].values())
    print(json.dumps({"output": config.output, "samples": total, "tasks": len(manifest["counts"])}))  # noqa: T201
    return 0

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 tiny-model``: write a tiny random Qwen3 model with the real Qwen vocabulary (offline, seconds)."""

from ehr_r1.tiny_model import TinyModelConfig


HELP = "Write a tiny random Qwen3 model with the real Qwen vocabulary."
CONFIG = TinyModelConfig


def run(config: TinyModelConfig) -> int:
    from ehr_r1.tiny_model import build_tiny_model

    build_tiny_model(config.output, seed=config.seed)
    return 0

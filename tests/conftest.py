# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Shared test settings and fixtures. OMP_NUM_THREADS=1 must be set before torch is imported (2 threads stall here)."""

import os
import tempfile


os.environ.setdefault("OMP_NUM_THREADS", "1")
# datasets 5.2 caches a local folder by its name: a fresh cache per session, so no run reads another run's rows
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="ehr-r1-datasets-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
MIMIC_DEMO = SHARED / "data" / "mimic-iv-demo-2.2"
ETHOS_MAPPINGS = SHARED / "data" / "mappings" / "ethos"


def pytest_collection_modifyitems(config, items):
    """Skip `gpu`-marked tests when CUDA is absent."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def mimic_demo() -> Path:
    """The real MIMIC-IV demo v2.2 (hosp + icu, no chartevents), read from ../shared; never copied into the repo."""
    if not (MIMIC_DEMO / "hosp" / "admissions.csv.gz").exists():
        pytest.skip(f"MIMIC-IV demo not found at {MIMIC_DEMO}")
    return MIMIC_DEMO


@pytest.fixture(scope="session")
def ethos_mappings() -> Path:
    """The MIT-licensed ethos drug->ATC tables in ../shared (users download them from ipolharvard/ethos-paper)."""
    if not (ETHOS_MAPPINGS / "atc_coding.csv.gz").exists():
        pytest.skip(f"ethos mappings not found at {ETHOS_MAPPINGS}")
    return ETHOS_MAPPINGS


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen3 model with the real Qwen vocabulary, built once per test session."""
    from ehr_r1.tiny_model import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-model")
    build_tiny_model(out)
    return out

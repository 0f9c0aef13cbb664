# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Publishing rules: MIMIC-derived folders go to private, manually gated repos; synthetic ones may be public."""

import json
from pathlib import Path

import pytest

from ehr_r1 import layout
from ehr_r1.cards import front_matter
from ehr_r1.errors import EhrR1Error
from ehr_r1.hub import push_dataset


class FakeApi:
    """Records the calls push_dataset makes (the real HfApi needs a Hub server)."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def update_repo_settings(self, repo_id, **kwargs):
        self.calls.append(("update_repo_settings", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        return "https://hub.local/commit/1"


def _folder(tmp_path: Path, synthetic: bool, gated: bool = True) -> Path:

    meta = front_matter("EHR-Bench", [{"config_name": "decision_making", "data_files": []}], 10, synthetic)
    if not gated:
        meta.pop("gated", None)
    (tmp_path / "README.md").write_text(layout.card_text(meta, "# card\n"))
    (tmp_path / "manifest.json").write_text(json.dumps({"counts": {"labevents": 10}}))
    return tmp_path


def test_mimic_data_is_private_and_gated(tmp_path):
    api = FakeApi()
    url = push_dataset(_folder(tmp_path, synthetic=False), "org/EHR-Bench", api=api, private=False)
    assert url.endswith("/commit/1")
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "update_repo_settings", "upload_folder"]
    assert api.calls[0][2]["private"] is True  # private even when asked otherwise
    assert api.calls[1][2] == {"gated": "manual", "repo_type": "dataset"}
    assert "10 samples, 1 tasks" in api.calls[2][2]["commit_message"]


def test_synthetic_data_may_be_public(tmp_path):
    api = FakeApi()
    push_dataset(_folder(tmp_path, synthetic=True), "org/EHR-Bench-synthetic", api=api, private=False)
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][2]["private"] is False


def test_ungated_mimic_card_is_refused(tmp_path):
    api = FakeApi()
    with pytest.raises(EhrR1Error, match="without a gate"):
        push_dataset(_folder(tmp_path, synthetic=False, gated=False), "org/x", api=api)
    assert api.calls == []


def test_not_a_dataset_folder(tmp_path):
    with pytest.raises(EhrR1Error, match="not a built dataset"):
        push_dataset(tmp_path, "org/x", api=FakeApi())

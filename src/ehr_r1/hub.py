# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Publish a built dataset folder to the Hub: private, gated with manual approval unless it is synthetic."""

import logging
from pathlib import Path

from ehr_r1 import layout
from ehr_r1.errors import EhrR1Error


logger = logging.getLogger(__name__)


def push_dataset(folder: str | Path, repo_id: str, api=None, private: bool = True) -> str:
    """Upload ``folder`` to the dataset repo ``repo_id``; MIMIC-derived data is always private and gated.

    Returns the commit URL. ``api`` defaults to ``huggingface_hub.HfApi()`` (token from the usual places).
    """
    folder = Path(folder)
    manifest = layout.read_manifest(folder)
    meta = layout.read_card_metadata(folder)
    synthetic = "synthetic" in meta.get("tags", [])
    if not synthetic and not meta.get("gated"):
        raise EhrR1Error(f"{folder / 'README.md'}: MIMIC-derived card without a gate; rebuild it with ehr-r1")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    private = private or not synthetic
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if not synthetic:
        api.update_repo_settings(repo_id, gated="manual", repo_type="dataset")
    counts = manifest["counts"]
    message = f"Upload {meta.get('pretty_name', folder.name)} ({sum(counts.values())} samples, {len(counts)} tasks)"
    info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="dataset", commit_message=message)
    logger.info("pushed %s to %s (private=%s, gated=%s)", folder, repo_id, private, not synthetic)
    return str(getattr(info, "commit_url", info))

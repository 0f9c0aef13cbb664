# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Trainer callbacks: every run pushes to its own branch of a private Hub repo (``main`` is for releases)."""

import logging
from pathlib import Path

from transformers import TrainerCallback


logger = logging.getLogger(__name__)


def run_branch(args) -> str:
    """The Hub branch of a run: ``hub_revision`` if the recipe sets one (not ``main``), else the output folder name."""
    if args.hub_revision and args.hub_revision != "main":
        return args.hub_revision
    return Path(args.output_dir).name


class PushToHubRevisionCallback(TrainerCallback):
    """Create the run's branch before the first save, so that the Trainer's pushes (``hub_revision``) land on it.

    The Trainer already pushes every save and the final model to ``args.hub_revision`` but fails if that branch does
    not exist. This callback sets ``hub_revision`` to the run's branch (see ``run_branch``) and creates the private
    repo and the branch on the main process. It does nothing unless ``push_to_hub`` is on.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        if not args.push_to_hub:
            return
        if not args.hub_model_id:
            raise ValueError("push_to_hub is on but hub_model_id is not set: name the repo in the recipe")
        args.hub_revision = run_branch(args)
        if state.is_world_process_zero:
            from huggingface_hub import HfApi

            api = HfApi(token=args.hub_token)
            repo_id = api.create_repo(args.hub_model_id, private=True, exist_ok=True).repo_id
            api.create_branch(repo_id, branch=args.hub_revision, exist_ok=True)
            logger.info("pushing this run to %s@%s", repo_id, args.hub_revision)

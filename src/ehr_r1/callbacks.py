# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Trainer callbacks: every run pushes to its own branch of a private Hub repo (``main`` is for releases), gated with
manual approval unless the training data is verified synthetic (``ehr_r1.provenance``)."""

import logging
from pathlib import Path

from transformers import TrainerCallback

from ehr_r1.errors import EhrR1Error


logger = logging.getLogger(__name__)


def run_branch(args) -> str:
    """The Hub branch of a run: ``hub_revision`` if the recipe sets one (not ``main``), else the output folder name."""
    if args.hub_revision and args.hub_revision != "main":
        return args.hub_revision
    return Path(args.output_dir).name


class PushToHubRevisionCallback(TrainerCallback):
    """Check and prepare the run's Hub repo before the first save, so that the Trainer's pushes (``hub_revision``)
    land on the run's branch of a private repo, gated when the weights are MIMIC-derived.

    The Trainer pushes every save and the final model to ``args.hub_revision`` but fails if that branch does not
    exist, and creates the repo when it starts with ``private=hub_private_repo`` (public when unset). This callback
    sets ``hub_revision`` to the run's branch (see ``run_branch``) and, on the main process, checks the token
    (``whoami``) and the repo (``ehr_r1.hub.ensure_repo``): an existing public repo is refused, an ungated one is
    refused unless it is private and still empty (then it is gated); the branch is then created. It does nothing
    unless ``push_to_hub`` is on.

    Args:
        dataset (`str`, *optional*): the training dataset folder. Only a dataset that verifies as synthetic
            (``ehr_r1.provenance.dataset_is_synthetic``) leaves the repo ungated; without it the run counts as
            MIMIC-derived.
    """

    def __init__(self, dataset: str | None = None):
        self.dataset = dataset

    @property
    def derived(self) -> bool:
        from ehr_r1.provenance import dataset_is_synthetic

        return not (self.dataset and Path(self.dataset).is_dir() and dataset_is_synthetic(self.dataset))

    def on_train_begin(self, args, state, control, **kwargs):
        if not args.push_to_hub:
            return
        if not args.hub_model_id:
            raise ValueError("push_to_hub is on but hub_model_id is not set: name the repo in the recipe")
        if args.hub_token:
            raise EhrR1Error("hub_token would be pickled into training_args.bin and uploaded with the checkpoints: set "
                             "HF_TOKEN (or `hf auth login`) instead")  # fmt: skip
        args.hub_revision = run_branch(args)
        if not state.is_world_process_zero:
            return
        from ehr_r1.hub import check_write, ensure_repo, make_api

        derived = self.derived
        if derived and getattr(args, "hub_private_repo", None) is False:
            raise EhrR1Error(
                f"{args.hub_model_id}: MIMIC-derived weights cannot go to a public repo (hub_private_repo)"
            )
        api = make_api(args.hub_token)
        repo_id = ensure_repo(api, check_write(api, args.hub_model_id), "model", derived=derived, private=True,
                              adopt_empty=True)  # fmt: skip
        api.create_branch(repo_id, branch=args.hub_revision, exist_ok=True)
        logger.info("pushing this run to %s@%s (gated: %s)", repo_id, args.hub_revision, derived)

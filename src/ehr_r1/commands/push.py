# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 push-dataset`` and ``ehr-r1 push-model``: publish a built dataset or a checkpoint to the Hub.

Examples::

    ehr-r1 push-dataset ehr_bench/ --repo-id my-org/EHR-Bench
    ehr-r1 push-model runs/ehr-r1-8b-grpo --repo-id my-org/EHR-R1-8B --revision grpo-v1 \\
        --results runs/eval-8b/results.json

Private by default. MIMIC-derived folders (synthetic only when verified, see ``ehr_r1.provenance``) go only to a
private repo gated with manual approval; every check of ``ehr_r1.hub`` runs before anything is uploaded. The token
comes from ``HF_TOKEN`` or ``hf auth login`` and is never printed.
"""

from dataclasses import dataclass, field


HELP = {
    "push-dataset": "Push a built EHR-Bench / EHR-Ins folder to a private (gated when MIMIC-derived) Hub dataset repo.",
    "push-model": "Push a checkpoint (full or PEFT adapter) with its model card to a private (gated) Hub model repo.",
}
EPILOG = "The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT selects another Hub."


@dataclass
class PushDatasetConfig:
    """Options of ``ehr-r1 push-dataset``."""

    folder: str = field(
        metadata={
            "help": "A folder written by build-bench / build-ins.",
            "aliases": ["--dir"],
            "positional": True,
            "metavar": "DIR",
        }
    )
    repo_id: str = field(metadata={"help": "Hub dataset repo, e.g. my-org/EHR-Bench (a bare name: your namespace)."})
    public: bool = field(
        default=False, metadata={"help": "Make a new repo public (refused for MIMIC-derived data; default: private)."}
    )
    endpoint: str | None = field(default=None, metadata={"help": "Hub endpoint (default: HF_ENDPOINT or the Hub)."})


@dataclass
class PushModelConfig:
    """Options of ``ehr-r1 push-model``."""

    folder: str = field(metadata={"help": "A checkpoint folder: config.json + weights, or a PEFT adapter.", "aliases": ["--dir"], "positional": True, "metavar": "DIR"})  # fmt: skip
    repo_id: str = field(metadata={"help": "Hub model repo, e.g. my-org/EHR-R1-8B (a bare name: your namespace)."})
    revision: str | None = field(default=None, metadata={"help": "Branch to push to (created if missing)."})
    results: str | None = field(
        default=None, metadata={"help": "results.json of `ehr-r1 eval` on this model: its scores go in the card."}
    )
    public: bool = field(
        default=False,
        metadata={"help": "Make a new repo public (refused for MIMIC-derived weights; default: private)."},
    )
    endpoint: str | None = field(default=None, metadata={"help": "Hub endpoint (default: HF_ENDPOINT or the Hub)."})


CONFIG = {"push-dataset": PushDatasetConfig, "push-model": PushModelConfig}


def run(config: PushDatasetConfig | PushModelConfig) -> int:
    from ehr_r1 import hub

    if isinstance(config, PushModelConfig):
        url = hub.push_model(config.folder, config.repo_id, revision=config.revision, results=config.results,
                             private=not config.public, endpoint=config.endpoint)  # fmt: skip
    else:
        url = hub.push_dataset(config.folder, config.repo_id, private=not config.public, endpoint=config.endpoint)
    print(f"pushed {config.folder} -> {url}")  # noqa: T201 - the command's result line
    return 0

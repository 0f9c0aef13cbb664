# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL's ``trl grpo`` script plus the EHR-R1 checks: same recipes, same parser, same trainer.

Differences from ``trl grpo --config <recipe>``: more ranks than devices and unknown recipe keys fail here, the dataset
must hold ``prompt`` and every column the reward functions read (``output`` and ``task_type`` for ``ehr_r1.rewards``)
before the model is loaded, every saved folder gets a model card (``ehr_r1.model_card.ModelCardCallback``), the
generation config gets the chat EOS and ``use_cache=True`` before the final save, and with ``push_to_hub`` each run
goes to its own Hub branch. The body is ``ehr_r1.training.grpo_main`` (``ehr-r1 demo`` runs it in-process).

    accelerate launch --config_file recipes/accelerate/fsdp2.yaml scripts/grpo.py \
        --config recipes/ehr-r1-8b/grpo/config_full.yaml
"""


def main(script_args, training_args, model_args, dataset_args, recipe: str | None = None) -> dict:
    from ehr_r1.training import grpo_main

    return grpo_main(script_args, training_args, model_args, dataset_args, recipe=recipe)


if __name__ == "__main__":
    from ehr_r1.training import run_script

    run_script("grpo", main)

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL's ``trl sft`` script plus the EHR-R1 checks: same recipes, same parser, same trainer.

Differences from ``trl sft --config <recipe>``: unknown recipe keys fail here (not in ``accelerate launch``), the
dataset's columns are checked before the model is loaded, the generation config gets the chat EOS and
``use_cache=True`` before the final save, and with ``push_to_hub`` each run goes to its own Hub branch.

    accelerate launch --config_file recipes/accelerate/zero3.yaml scripts/sft.py \
        --config recipes/ehr-r1-8b/domain/config_full.yaml
"""


def main(script_args, training_args, model_args, dataset_args) -> None:
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    from ehr_r1.callbacks import PushToHubRevisionCallback
    from ehr_r1.training import (
        check_dataset_columns,
        dataset_source,
        load_train_dataset,
        model_init_kwargs,
        train_and_save,
    )

    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    dataset = load_train_dataset(script_args, dataset_args)
    train = dataset[script_args.dataset_train_split]
    check_dataset_columns(train, "sft", training_args, where=dataset_source(script_args, dataset_args))
    trainer = SFTTrainer(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=train,
        eval_dataset=dataset[script_args.dataset_test_split] if training_args.eval_strategy != "no" else None,
        quantization_config=get_quantization_config(model_args),
        peft_config=get_peft_config(model_args),
        callbacks=[PushToHubRevisionCallback()],
    )
    train_and_save(trainer, training_args, script_args)


if __name__ == "__main__":
    from ehr_r1.training import run_script

    run_script("sft", main)

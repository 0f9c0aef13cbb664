# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL's ``trl grpo`` script plus the EHR-R1 checks: same recipes, same parser, same trainer.

Differences from ``trl grpo --config <recipe>``: unknown recipe keys fail here, the dataset must hold ``prompt`` and
every column the reward functions read (``output`` and ``task_type`` for ``ehr_r1.rewards``) before the model is
loaded, the generation config gets the chat EOS and ``use_cache=True`` before the final save, and with
``push_to_hub`` each run goes to its own Hub branch.

    accelerate launch --config_file recipes/accelerate/fsdp2.yaml scripts/grpo.py \
        --config recipes/ehr-r1-8b/grpo/config_full.yaml
"""


def main(script_args, training_args, model_args, dataset_args) -> None:
    from trl import GRPOTrainer, get_peft_config, get_quantization_config

    from ehr_r1.callbacks import PushToHubRevisionCallback
    from ehr_r1.training import (
        check_dataset_columns,
        dataset_source,
        load_reward_funcs,
        load_train_dataset,
        model_init_kwargs,
        train_and_save,
    )

    reward_funcs = load_reward_funcs(script_args.reward_funcs)
    if script_args.reward_model_name_or_path:
        reward_funcs.insert(0, script_args.reward_model_name_or_path)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args)
    dataset = load_train_dataset(script_args, dataset_args)
    train = dataset[script_args.dataset_train_split]
    check_dataset_columns(train, "grpo", training_args, reward_funcs, where=dataset_source(script_args, dataset_args))
    trainer = GRPOTrainer(
        model=model_args.model_name_or_path,
        reward_funcs=reward_funcs,
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

    run_script("grpo", main)

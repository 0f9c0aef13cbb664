# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""TRL's ``trl sft`` script plus the EHR-R1 checks: same recipes, same parser, same trainer.

Differences from ``trl sft --config <recipe>``: unknown recipe keys fail here (not in ``accelerate launch``), the
dataset's columns are checked before the model is loaded, the generation config gets the chat EOS and
``use_cache=True`` before the final save, and with ``push_to_hub`` each run goes to its own Hub branch.

    accelerate launch --config_file recipes/accelerate/zero3.yaml scripts/sft.py \
        --config recipes/ehr-r1-8b/domain/config_full.yaml
"""

import logging
import sys

from ehr_r1.errors import EhrR1Error


logger = logging.getLogger("ehr_r1.scripts.sft")


def main(script_args, training_args, model_args, dataset_args) -> None:
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    from ehr_r1.callbacks import PushToHubRevisionCallback
    from ehr_r1.training import check_dataset_columns, dataset_source, finalize_model, load_train_dataset

    training_args.model_init_kwargs = {
        "revision": model_args.model_revision,
        "trust_remote_code": training_args.trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }
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
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    finalize_model(trainer.model, trainer.processing_class)
    trainer.save_model(training_args.output_dir)
    logger.info("model saved to %s", training_args.output_dir)
    if training_args.push_to_hub:
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    trainer.end()


if __name__ == "__main__":
    from ehr_r1.training import make_parser

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        parsed = make_parser("sft").parse_args_and_config(fail_with_unknown_args=True)
        main(*parsed)
    except (EhrR1Error, ValueError) as err:  # parse errors (unknown key) and our input checks; not training errors
        if not isinstance(err, EhrR1Error) and "parsed" in locals():
            raise
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(2)

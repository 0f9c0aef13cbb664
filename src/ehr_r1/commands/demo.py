# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 demo``: synthetic MIMIC-IV → EHR-Bench + EHR-Ins → reasoning chains → the three training stages through
TRL → eval of the final checkpoint and of the logreg baseline → a model card (see :mod:`ehr_r1.demo`).

Examples::

    ehr-r1 demo --output outputs/demo                                   # the embedded default, a few minutes on CPU
    ehr-r1 demo --output runs/demo --mimic-dir mimiciv/2.2 --base-model Qwen/Qwen3-1.7B \\
        --trl-args "--use_cpu false --bf16 true" --push-to my-org       # real data, a real base model, the Hub
    ehr-r1 demo --output outputs/demo --from-stage reasoning            # re-run the training from stage 2
"""

from ehr_r1.demo import DemoConfig


HELP = "The whole pipeline on the embedded default: data, reasoning chains, 3 training stages, eval, model card."
EPILOG = (
    "Leaves OUT/{mimic,tiny-model,bench,ins,reasoning}, OUT/checkpoints/{domain,reasoning,grpo}, OUT/model (the final "
    "checkpoint with its README.md card), OUT/eval/results.json, OUT/eval-logreg and OUT/manifest.json. A failed stage "
    "stops the demo with its name; the earlier stages' outputs stay."
)
CONFIG = DemoConfig


def run(config: DemoConfig) -> int:
    from ehr_r1.demo import format_table, run_demo

    results = run_demo(config, echo=lambda line: print(line, flush=True))  # noqa: T201
    print(format_table(results))  # noqa: T201 - the command's result
    print(f"final model with its card: {config.output}/model; scores: {config.output}/eval/results.json")  # noqa: T201
    return 0

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-reasoning``: EHR-Ins folder → thinking graphs → teacher chains → filtered stage-2 dataset.

Example::

    ehr-r1 build-reasoning --ins ehr-ins --output ehr-ins-reasoning --atc-map ethos/data        # offline template
    ehr-r1 build-reasoning --ins ehr-ins --output ehr-ins-reasoning --teacher-url http://127.0.0.1:8000/v1 \\
        --teacher-model Qwen/Qwen3-32B --max-samples 20000
"""

import sys

from ehr_r1.reasoning.config import ReasoningConfig


HELP = "Thinking-graph reasoning chains (stage 2) from a built EHR-Ins folder and any OpenAI-compatible teacher."
EPILOG = (
    "Without --teacher-url the offline template teacher (a knowledge-path baseline, not an LLM) writes the chains. "
    "Mix the output into EHR-Ins with `ehr-r1 build-ins ... --reasoning-file OUT/reasoning.jsonl`."
)
CONFIG = ReasoningConfig


def run(config: ReasoningConfig) -> int:
    from ehr_r1.reasoning.pipeline import build

    manifest = build(config)
    teacher = manifest["teacher"]
    failed, requests = teacher.get("failed", 0), max(1, teacher.get("requests", 0))
    print(  # noqa: T201 - the command's result line
        f"wrote {manifest['kept']} reasoning samples ({manifest['samples']} sent to the teacher, "
        f"{failed} failed requests) to {config.output}"
    )
    if failed / requests > config.teacher.max_failed_fraction:
        print(  # noqa: T201
            f"error: {failed} of {teacher['requests']} teacher requests failed "
            f"(more than {config.teacher.max_failed_fraction:.0%}); re-run to retry them",
            file=sys.stderr,
        )
        return 1
    return 0

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Build EHR-Ins (train patients; TRL-ready sft / reasoning / grpo configs) and optionally publish it gated.

    python dataset_builders/build_ehr_ins.py --mimic-dir /data/mimiciv/3.1 --output ehr-ins \
        --check-disjoint ehr-bench [--push-to-hub --repo-id my-org/EHR-Ins]

Every option of ``ehr-r1 build-ins`` is accepted. Push only from a machine allowed to hold MIMIC-IV data.
"""

import sys

from _publish import build_and_maybe_push


if __name__ == "__main__":
    sys.exit(build_and_maybe_push("build-ins", sys.argv[1:]))

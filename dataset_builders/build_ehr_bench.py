# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Build EHR-Bench from a credentialed MIMIC-IV copy and optionally publish it as a gated Hub dataset.

    python dataset_builders/build_ehr_bench.py --mimic-dir /data/mimiciv/3.1 --output ehr-bench --format jsonl \
        [--push-to-hub --repo-id my-org/EHR-Bench]

Every option of ``ehr-r1 build-bench`` is accepted. Push only from a machine allowed to hold MIMIC-IV data.
"""

import sys

from _publish import build_and_maybe_push


if __name__ == "__main__":
    sys.exit(build_and_maybe_push("build-bench", sys.argv[1:]))

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 labels``: ACES task configs on a MEDS folder → a label folder (``<task_name>.parquet`` per task).

Example (a MEDS-DEV task template with the MIMIC-IV MEDS 0.2.0 predicates shipped in ``dataset_builders/aces/``)::

    ehr-r1 labels --meds-dir mimic-iv-meds/ --output labels/ \\
        --aces-config dataset_builders/aces/mortality/in_icu/first_24h.yaml \\
        --predicates dataset_builders/aces/MIMIC-IV/predicates.yaml
    ehr-r1 build-bench --meds-dir mimic-iv-meds/ --labels labels/ --output ehr_bench/
"""

import json
import logging

from ehr_r1.labels import LabelsConfig


HELP = "ACES task configs on a MEDS folder -> <task_name>.parquet label files (risk tasks for build-bench)."
CONFIG = LabelsConfig


def run(config: LabelsConfig) -> int:
    from ehr_r1.labels import make_labels

    if logging.getLogger().level > logging.DEBUG:  # ACES logs every step at INFO; -v shows them
        logging.getLogger("aces").setLevel(logging.WARNING)
    counts = make_labels(config)
    print(json.dumps({"output": config.output, "tasks": counts}))  # noqa: T201
    return 0

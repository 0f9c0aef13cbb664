# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 adapt-ehrshot`` and ``ehr-r1 adapt-cdm``: external benchmarks → EHR-Bench folders for ``ehr-r1 eval``.

Examples (on your own credentialed copies; see docs/adapters.md)::

    ehr-r1 adapt-ehrshot --ehrshot-dir EHRSHOT_MEDS/ --output ehrshot_bench/ --max-per-task 500
    ehr-r1 adapt-cdm --cdm-dir mimic-iv-ext-cdm-1.1/ --labitems mimic-iv/hosp/d_labitems.csv.gz --output cdm_bench/
    ehr-r1 eval --model BlueZeros/EHR-R1-1.7B --bench cdm_bench/ --output runs/cdm
"""

import json

from ehr_r1.adapters.cdm import CdmConfig
from ehr_r1.adapters.ehrshot import EhrshotConfig


HELP = {
    "adapt-cdm": "MIMIC-IV-Ext-CDM (Hager et al.) -> an EHR-Bench folder scored with cdm_diagnosis.",
    "adapt-ehrshot": "EHRSHOT (MEDS release + labels) -> an EHR-Bench folder of its 14 binary tasks.",
}
CONFIG = {"adapt-cdm": CdmConfig, "adapt-ehrshot": EhrshotConfig}


def run(config: CdmConfig | EhrshotConfig) -> int:
    if isinstance(config, CdmConfig):
        from ehr_r1.adapters.cdm import adapt_cdm

        manifest = adapt_cdm(config)
    else:
        from ehr_r1.adapters.ehrshot import adapt_ehrshot

        manifest = adapt_ehrshot(config)
    print(json.dumps({"output": config.output, "samples": sum(manifest["counts"].values()),  # noqa: T201
                      "tasks": manifest["counts"]}))  # fmt: skip
    return 0

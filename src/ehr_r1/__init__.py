# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR-R1 release toolkit: data (MIMIC-IV / MEDS → EHR-Ins, EHR-Bench), training recipes, evaluation and cards."""

__version__ = "0.1.0.dev0"

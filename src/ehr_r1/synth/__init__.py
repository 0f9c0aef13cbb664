# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Synthetic data in the layouts the toolkit reads (MIMIC-IV), for tests, demos and scale benchmarks."""

from ehr_r1.synth.mimic import MODULES, TABLES, SynthConfig, generate, generate_tables, write_synthetic_mimic


__all__ = ["MODULES", "TABLES", "SynthConfig", "generate", "generate_tables", "write_synthetic_mimic"]

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Synthetic data for tests, demos and scale benchmarks: a synthetic MIMIC-IV folder, the hosp and icu modules of
v2.2, plus MIMIC-IV-ED and MIMIC-IV-Note, with their column names, column order, CSV conventions (empty = null,
``YYYY-MM-DD HH:MM:SS``) and gzip files.

Every value is made up. The codes and labels come from the small embedded vocabulary in :mod:`ehr_r1.synth.vocab`.
What the generator keeps consistent, so that the EHR-R1 tasks (docs/tasks.md) have something to find:

- one timeline per admission: ED stay → admission → ward / ICU transfers → discharge, with labs, medications, ICU
  charting, notes and orders inside the stay; a latent *acuity* per admission raises ICU use, length of stay, in-hospital
  death and abnormal labs and vitals, so the risk tasks carry some signal;
- links between tables: ``hadm_id`` / ``stay_id`` / ``pharmacy_id`` / ``poe_id`` / ``orderid`` / ``note_id`` all
  resolve, every itemid and ICD code is in the written dictionaries, ``dod`` agrees with ``deathtime``;
- the awkward parts of real data: ``hadm_id`` is null for outpatient labs, radiology and ED-only visits, ICD-9 and
  ICD-10 are mixed, times are shifted into 2110-2210, the procedureevents header keeps MIMIC's ``ORIGINALAMOUNT``.

Determinism: the output depends only on (seed, patients, density, modules), byte for byte. Patients are generated in
chunks of :data:`CHUNK_PATIENTS` with their own random streams, so a larger run starts with exactly the patients and rows
of a smaller one with the same seed, and memory stays bounded at any size.

The code is split by MIMIC module: :mod:`~ehr_r1.synth.config` (:class:`SynthConfig`, :data:`TABLES`),
:mod:`~ehr_r1.synth.population` (patients, admissions, ICU stays), :mod:`~ehr_r1.synth.hosp`,
:mod:`~ehr_r1.synth.medications`, :mod:`~ehr_r1.synth.icu`, :mod:`~ehr_r1.synth.ed`, :mod:`~ehr_r1.synth.note`,
:mod:`~ehr_r1.synth.chunk` (one chunk, all its tables) and :mod:`~ehr_r1.synth.writer` (the folder). This package
exports the public names; patch :data:`ehr_r1.synth.config.CHUNK_PATIENTS` to change the chunk size.
"""

from ehr_r1.synth.config import MODULES, TABLES, SynthConfig
from ehr_r1.synth.writer import generate, generate_tables, write_synthetic_mimic


__all__ = ["MODULES", "TABLES", "SynthConfig", "generate", "generate_tables", "write_synthetic_mimic"]

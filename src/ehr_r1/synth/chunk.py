# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""One chunk of synthetic patients with every table that belongs to them, in the order the tables are built."""

from collections.abc import Iterator

import polars as pl

from ehr_r1.synth.ed import _EdTables
from ehr_r1.synth.hosp import _HospTables
from ehr_r1.synth.icu import _IcuTables
from ehr_r1.synth.medications import _MedicationTables
from ehr_r1.synth.note import _NoteTables


class _Chunk(_HospTables, _MedicationTables, _IcuTables, _EdTables, _NoteTables):
    """One block of patients and every table row that belongs to them."""

    def tables(self) -> Iterator[tuple[str, pl.DataFrame]]:
        """Yield ``(module/table, frame)`` for the configured modules. hosp tables are always built (the others
        depend on them) but only yielded when hosp is written."""
        mods = set(self.cfg.modules)
        hosp = [
            ("patients", self.patients),
            ("admissions", self.admissions),
            ("transfers", self.transfers),
            ("services", self.services),
            ("diagnoses_icd", self.diagnoses_icd),
            ("procedures_icd", self.procedures_icd),
            ("hcpcsevents", self.hcpcsevents),
            ("drgcodes", self.drgcodes),
            ("labevents", self.labevents),
            ("microbiologyevents", self.microbiologyevents),
            ("prescriptions", self.prescriptions),
            ("pharmacy", self.pharmacy),
            ("emar", self.emar),
            ("poe", self.poe),
            ("omr", self.omr),
        ]
        for name, fn in hosp:
            df = fn()
            if "hosp" in mods:
                yield f"hosp/{name}", df
        if "icu" in mods:
            for name in (
                "icustays",
                "chartevents",
                "procedureevents",
                "datetimeevents",
                "inputevents",
                "ingredientevents",
                "outputevents",
            ):
                yield f"icu/{name}", getattr(self, name)()
        if "ed" in mods or "note" in mods:
            ed = self.edstays()
            if "ed" in mods:
                yield "ed/edstays", ed
                for name in ("triage", "vitalsign", "diagnosis", "medrecon", "pyxis"):
                    yield f"ed/{name}", getattr(self, name)()
        if "note" in mods:
            ds = self.discharge()
            yield "note/discharge", ds
            yield "note/discharge_detail", self.discharge_detail(ds)
            yield "note/radiology", self.radiology()
            yield "note/radiology_detail", self.radiology_detail()

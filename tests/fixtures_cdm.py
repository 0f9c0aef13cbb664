# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A small MIMIC-IV-Ext-CDM folder in the release's layout (made-up admissions; the real data is credentialed)."""

import csv
import gzip
import json
from pathlib import Path


# pathology -> (ICD diagnosis titles, a radiology finding); titles in the style of d_icd_diagnoses
CASES = {
    "appendicitis": (["Acute appendicitis without mention of peritonitis", "Hypertension NOS"], "dilated appendix"),
    "cholecystitis": (["Calculus of gallbladder with acute cholecystitis", "Obesity, unspecified"], "gallstones"),
    "diverticulitis": (["Diverticulitis of colon (without mention of hemorrhage)"], "sigmoid wall thickening"),
    "pancreatitis": (["Acute pancreatitis", "Alcohol abuse, unspecified", "Hyperlipidemia NEC/NOS"], "peripancreatic fat stranding"),
}  # fmt: skip
LABS = [
    ("51301", "WBC", "K/uL", 4.0, 11.0),
    ("50912", "Creatinine", "mg/dL", 0.5, 1.2),
    ("51003", "Troponin T", "ng/mL", "", ""),
]


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def write_cdm(root: Path, per_pathology: int = 3, gz: bool = False) -> Path:
    """Write the CDM files for ``per_pathology`` admissions of each of the four pathologies; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    ext = ".csv.gz" if gz else ".csv"
    ids: dict[str, list[int]] = {}
    hpi, pe, labs, micro, rad, icd = [], [], [], [], [], []
    for p_i, (pathology, (titles, finding)) in enumerate(CASES.items()):
        for k in range(per_pathology):
            hadm = 20_000_000 + 1000 * p_i + k
            ids.setdefault(pathology, []).append(hadm)
            hpi.append([hadm, f"___ y/o with {k + 1} days of abdominal pain, nausea and anorexia."])
            pe.append([hadm, "VS: T 38.1 HR 104 BP 128/76. Abd: tender, guarding.\nNo rebound."])
            for itemid, _, unit, low, high in LABS[: 2 + k % 2]:
                value = f"{9.5 + 3 * k:.1f} {unit}" if itemid != "51003" else "<0.01 ng/mL"
                labs.append([hadm, itemid, value, low, high])
            if k == 0:
                micro.append([hadm, "90201", "NO GROWTH", "70079"])
            rad.append([hadm, 10_000 + hadm, "CT", "Abdomen", "CT ABD & PELVIS WITH CONTRAST",
                        f"FINDINGS: {finding}.\nIMPRESSION: findings | consistent with {pathology}."])  # fmt: skip
            icd.extend([hadm, t] for t in titles)
    _write(root / f"history_of_present_illness{ext}", ["hadm_id", "hpi"], hpi)
    _write(root / f"physical_examination{ext}", ["hadm_id", "pe"], pe)
    _write(
        root / f"laboratory_tests{ext}", ["hadm_id", "itemid", "valuestr", "ref_range_lower", "ref_range_upper"], labs
    )
    _write(root / f"microbiology{ext}", ["hadm_id", "test_itemid", "valuestr", "spec_itemid"], micro)
    _write(root / f"radiology_reports{ext}", ["hadm_id", "note_id", "modality", "region", "exam_name", "text"], rad)
    _write(root / f"icd_diagnosis{ext}", ["hadm_id", "icd_diagnosis"], icd)
    mapping = [[name, f"['{itemid}']"] for itemid, name, *_ in LABS[:2]]  # Troponin T left unnamed
    _write(root / f"lab_test_mapping{ext}", ["label", "corresponding_ids"], mapping)
    (root / "pathology_ids.json").write_text(json.dumps(ids))
    return root

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A few realistic EHR-Ins rows in the built layout (parquet + README ``configs:``), for the training tests.

Layout as ``ehr-r1 build-ins`` writes it: ``OUT/data/<config>/train-00000-of-00001.parquet`` for the TRL-ready configs
``sft`` / ``reasoning`` / ``grpo`` / ``cpt``, and ``OUT/README.md`` listing them.
"""

import random
from pathlib import Path

from ehr_r1 import layout
from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION, assistant_target, build_messages, default_think


INSTRUCTIONS = {
    "diagnoses_ccs": "Given the sequence of events that have occurred in a hospital, please give the next diagnoses "
    "suggestion for the patients.",
    "labevents": "Given the sequence of events that have occurred in a hospital, please give the next laboratory "
    "tests suggestion for the patients.",
    "mortality": "Given the sequence of events that have occurred in a hospital, please predict whether the patient "
    "will die in the hospital.",
    "readmission_30d": "Given the sequence of events that have occurred in a hospital, please predict whether the "
    "patient will be readmitted within 30 days.",
}
TASK_TYPES = {"diagnoses_ccs": DECISION_MAKING, "labevents": DECISION_MAKING}
LABELS = {
    "diagnoses_ccs": ["Acute renal failure", "Fluid and electrolyte disorders", "Congestive heart failure; nonhypertensive",
                      "Septicemia (except in labor)", "Deficiency and other anemia", "Essential hypertension"],
    "labevents": ["Creatinine", "Potassium", "Hemoglobin", "Lactate", "Sodium", "White Blood Cells"],
}  # fmt: skip
LABS = [("Creatinine", "mg/dL", 0.5, 4.5), ("Potassium", "mEq/L", 3.0, 6.5), ("Hemoglobin", "g/dL", 6.5, 16.0)]


def patient_timeline(rng: random.Random, n_events: int) -> str:
    """A rendered patient timeline in the §4.1 event-block format."""
    blocks = [
        f"## Patient Demographics\nGender: {rng.choice('FM')}\nAge: {rng.randint(20, 90)}\nRace: WHITE",
        f"## Admissions [2180-05-0{rng.randint(1, 9)} 10:15:00]\nAdmission Type: EW EMER.\nAdmission Location: ER",
    ]
    for i in range(n_events):
        rows = "\n".join(f"| {n} | {rng.uniform(lo, hi):.1f} | {u} |" for n, u, lo, hi in rng.sample(LABS, 1 + i % 2))
        blocks.append(f"## Laboratory Test Events [2180-05-1{i % 10} 0{i % 10}:30:00]\n| item | value | unit |\n"
                      f"|---|---|---|\n{rows}")  # fmt: skip
        if i:
            blocks.append(f"## Medication Events [2180-05-1{i % 10} 1{i % 10}:00:00]\nFurosemide 40 mg IV")
    return "\n\n".join(blocks)


def raw_samples(n: int = 16, seed: int = 0) -> list[dict]:
    """Raw EHR-Ins samples (idx, task, task_type, instruction, input, output, reasoning)."""
    rng = random.Random(seed)
    samples = []
    for idx in range(n):
        task = list(INSTRUCTIONS)[idx % len(INSTRUCTIONS)]
        task_type = TASK_TYPES.get(task, RISK_PREDICTION)
        output = (
            "\n".join(rng.sample(LABELS[task], rng.randint(1, 3))) if task in LABELS else rng.choice(["yes", "no"])
        )
        reasoning = f"## Extraction\nCreatinine is rising.\n## Reasoning\nLikely renal.\n## Final Results\n{output}"
        samples.append(dict(idx=idx, task=task, task_type=task_type, instruction=INSTRUCTIONS[task],
                            input=patient_timeline(rng, 1 + idx % 2), output=output,
                            reasoning=reasoning if idx % 2 == 0 and task_type == DECISION_MAKING else None))  # fmt: skip
    return samples


def write_tiny_ehr_ins(out: Path, n: int = 16, seed: int = 0, drop: dict[str, str] | None = None) -> Path:
    """Write the ``sft``, ``reasoning``, ``grpo`` and ``cpt`` configs of a tiny EHR-Ins to ``out``.

    Args:
        drop: ``{config: column}`` columns to leave out, renamed to ``unused_<column>`` (bad-input tests).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    samples = raw_samples(n, seed)
    configs = {
        "sft": [dict(messages=build_messages(s["input"], s["instruction"], s["output"]), task=s["task"],
                     task_type=s["task_type"]) for s in samples],
        "reasoning": [dict(messages=build_messages(s["input"], s["instruction"],
                                                   assistant_target(s["output"], s["reasoning"], think=bool(s["reasoning"])),
                                                   think=bool(s["reasoning"])),
                           task=s["task"], task_type=s["task_type"]) for s in samples],
        "grpo": [dict(prompt=build_messages(s["input"], s["instruction"], think=default_think(s["task_type"])),
                      output=s["output"], task_type=s["task_type"], task=s["task"]) for s in samples],
        "cpt": [dict(text=s["input"]) for s in samples],
    }  # fmt: skip
    for config, rows in configs.items():
        table = pa.Table.from_pylist(rows)
        if drop and config in drop:
            table = table.rename_columns([f"unused_{c}" if c == drop[config] else c for c in table.column_names])
        path = out / layout.config_file(config, "train")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
    meta = {"configs": [layout.config_entry(c, "train") for c in configs]}
    (out / layout.CARD).write_text(layout.card_text(meta, "# tiny EHR-Ins (test fixture)\n"))
    return out

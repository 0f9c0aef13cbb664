# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The task catalogue: 26 decision-making tasks + ``next_event`` (spec §1.3) and 18 risk tasks (spec §1.4).

Each task is a declarative spec; ``ehr_r1.tasks.index`` turns specs into a sample index.
"""

from dataclasses import dataclass

from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION


INSTRUCTION_PREFIX = "Given the sequence of events that have occurred in a hospital, please "
HOUR = 3600


@dataclass(frozen=True)
class DecisionTask:
    """Predict the set of target values in the next event of one table.

    Args:
        name (`str`): task id, e.g. ``labevents``.
        table (`str`): table of the target event.
        target_key (`str`): rendered key whose values are the labels (``multi``: radiology exam list; ``table``:
            the event type for ``next_event``; ``careunit|eventtype``: transfers' special case).
        subject (`str`): the ``<X>`` of the instruction.
        bid_events (`tuple[str, ...]`): tables hidden from the context to prevent label leakage.
        metric (`str`): the reference's metric label (all set tasks are scored by set F1).
        weighted (`bool`): sample with inverse label-frequency weights (spec §3.2).
        max_labels (`int | None`): keep only targets with fewer labels (chartevents: 10).
        admission_in_window (`bool`): keep only samples whose admission event is inside the window (procedures and
            diagnoses tasks, spec §3.2).
    """

    name: str
    table: str
    target_key: str
    subject: str
    bid_events: tuple[str, ...] = ()
    metric: str = "em"
    weighted: bool = False
    max_labels: int | None = None
    admission_in_window: bool = False
    task_type: str = DECISION_MAKING

    @property
    def instruction(self) -> str:
        return f"{INSTRUCTION_PREFIX}give the next {self.subject} suggestion for the patients."


@dataclass(frozen=True)
class RiskTask:
    """A yes/no outcome anchored on one event type (spec §1.4).

    Args:
        name (`str`): task id, e.g. ``ICU_Mortality_7day``.
        anchor (`str`): table of the anchor event (``admissions``, ``icustays``, ``edstays``, ``discharge``).
        outcome (`str`): the clause after "predict whether the patient will".
        label (`str`): name of the label rule in ``ehr_r1.tasks.index.RISK_RULES``.
        hours (`float`): the rule's threshold in hours.
    """

    name: str
    anchor: str
    outcome: str
    label: str
    hours: float = 0.0
    metric: str = "auroc"
    task_type: str = RISK_PREDICTION
    bid_events: tuple[str, ...] = ()

    @property
    def instruction(self) -> str:
        return f"{INSTRUCTION_PREFIX}predict whether the patient will {self.outcome}"

    @property
    def table(self) -> str:
        return self.anchor


_DIAG_BID = ("discharge",)
DECISION_TASKS: tuple[DecisionTask, ...] = (
    DecisionTask("admissions", "admissions", "admission_type", "Admissions"),
    DecisionTask("omr", "omr", "result_name", "Online Medical Record"),
    DecisionTask("emar", "emar", "medication", "Electronic Medicine Administration Record", weighted=True),
    DecisionTask("poe", "poe", "order_type", "Provider Order Entry"),
    DecisionTask(
        "procedures_icd",
        "procedures_icd",
        "procedures",
        "Procedures International Classification of Diseases Item",
        admission_in_window=True,
    ),
    DecisionTask(
        "procedures_ccs",
        "procedures_icd",
        "CCS Type",
        "Procedures Clinical Classifications Software Item",
        admission_in_window=True,
    ),
    DecisionTask(
        "diagnoses_icd",
        "diagnoses_icd",
        "diagnoses",
        "Diagnoses International Classification of Diseases Item",
        _DIAG_BID,
        admission_in_window=True,
    ),
    DecisionTask(
        "diagnoses_ccs",
        "diagnoses_icd",
        "CCS Type",
        "Diagnoses Clinical Classifications Software Item",
        _DIAG_BID,
        admission_in_window=True,
    ),
    DecisionTask("labevents", "labevents", "item_name", "Labotary Test Events"),
    DecisionTask("microbiologyevents", "microbiologyevents", "test_name", "Microbiology Test Events"),
    DecisionTask("services", "services", "curr_service", "Services"),
    DecisionTask("transfers", "transfers", "careunit|eventtype", "Transfers"),
    DecisionTask("prescriptions", "prescriptions", "drug", "Prescriptions"),
    DecisionTask(
        "prescriptions_atc",
        "prescriptions",
        "ATC Type",
        "Anatomical Therapeutic Chemical Classification Prescriptions",
    ),
    DecisionTask("radiology", "radiology", "multi", "Radiology Examinations"),
    DecisionTask("medrecon", "medrecon", "name", "ED Medrecon"),
    DecisionTask(
        "medrecon_atc", "medrecon", "ATC Type", "ED Medrecon on Anatomical Therapeutic Chemical (ATC) Classification"
    ),
    DecisionTask("pyxis", "pyxis", "name", "ED Pyxis"),
    DecisionTask(
        "diagnosis", "diagnosis", "icd_title", "ED Diagnoses on International Classification of Diseases", _DIAG_BID
    ),
    DecisionTask(
        "diagnosis_ccs", "diagnosis", "CCS Type", "ED Diagnoses on Clinical Classifications Software Item", _DIAG_BID
    ),
    DecisionTask("chartevents", "chartevents", "item_name", "Chart Events", weighted=True, max_labels=9),
    DecisionTask("ingredientevents", "ingredientevents", "item_name", "Ingredient Events"),
    DecisionTask("datetimeevents", "datetimeevents", "item_name", "Datetime Events"),
    DecisionTask("procedureevents", "procedureevents", "item_name", "Procedure Events"),
    DecisionTask("inputevents", "inputevents", "item_name", "Input Events"),
    DecisionTask("outputevents", "outputevents", "item_name", "Output Events"),
)
NEXT_EVENT = DecisionTask("next_event", "*", "table", "next event", metric="acc", weighted=True)

RISK_TASKS: tuple[RiskTask, ...] = (
    RiskTask(
        "ED_Hospitalization", "edstays", "be admitted to the hospital after this ED visit.", "ed_hospitalization"
    ),
    RiskTask(
        "ED_Inpatient_Mortality", "edstays", "die during the hospital stay following this ED visit.", "ed_mortality"
    ),
    RiskTask(
        "ED_ICU_Tranfer_12hour",
        "edstays",
        "be transferred to the ICU within 12 hours after leaving the ED.",
        "ed_icu",
        12,
    ),
    RiskTask(
        "ED_Reattendance_3day",
        "edstays",
        "return to the ED within 3 days after leaving the ED.",
        "ed_reattendance",
        72,
    ),
    RiskTask(
        "ED_Critical_Outcomes",
        "edstays",
        "have a critical outcome (ICU transfer within 12 hours or inpatient death) after this ED visit.",
        "ed_critical",
        12,
    ),
    RiskTask("LengthOfStay_3day", "admissions", "stay in the hospital for more than 3 days.", "los", 72),
    RiskTask("LengthOfStay_7day", "admissions", "stay in the hospital for more than 7 days.", "los", 168),
    RiskTask("Inpatient_Mortality", "admissions", "die during this hospital stay.", "inpatient_mortality"),
    *(
        RiskTask(f"ICU_Mortality_{n}day", "icustays", f"die within {n} day.", "icu_mortality", 24 * n)
        for n in (1, 2, 3, 7, 14)
    ),
    RiskTask("ICU_Stay_7day", "icustays", "stay in the ICU for 7 days or more.", "icu_stay", 168),
    RiskTask("ICU_Stay_14day", "icustays", "stay in the ICU for 14 days or more.", "icu_stay", 336),
    RiskTask("ICU_Readmission", "icustays", "be readmitted to the ICU during this hospital stay.", "icu_readmission"),
    RiskTask(
        "Readmission_30day",
        "discharge",
        "be readmitted to the hospital within 30 days after discharge.",
        "readmission",
        720,
    ),
    RiskTask(
        "Readmission_60day",
        "discharge",
        "be readmitted to the hospital within 60 days after discharge.",
        "readmission",
        1440,
    ),
)
ALL_TASKS = {t.name: t for t in (*DECISION_TASKS, NEXT_EVENT, *RISK_TASKS)}
BENCH_DECISION_TASKS = tuple(t.name for t in DECISION_TASKS)  # the released bench has no next_event (spec §1.1)


def get_task(name: str) -> DecisionTask | RiskTask:
    if name not in ALL_TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(ALL_TASKS)}")
    return ALL_TASKS[name]

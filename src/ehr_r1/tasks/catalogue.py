# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The task catalogue: 26 decision-making tasks + ``next_event`` (docs/tasks.md) and 18 risk tasks (docs/tasks.md).

Each task is a declarative spec; risk tasks name their label rule in ``ehr_r1.tasks.risk_rules.RISK_RULES``;
``ehr_r1.tasks.index`` turns specs into a sample index. Adding a task is one entry here (``register_task`` for
tasks defined elsewhere) and, for a new kind of risk outcome, one rule. ``docs/tasks.md`` lists them all.
"""

from dataclasses import dataclass
from typing import ClassVar

from ehr_r1.events import EVENT_TYPE
from ehr_r1.prompting import DECISION_MAKING, RISK_PREDICTION
from ehr_r1.tasks.risk_rules import RISK_RULES


INSTRUCTION_PREFIX = "Given the sequence of events that have occurred in a hospital, please "
HOUR = 3600


@dataclass(frozen=True)
class DecisionTask:
    """Predict the set of target values in the next event of one table.

    Args:
        name (`str`): task id, e.g. ``labevents``.
        table (`str`): table of the target event.
        target_key (`str`): info key whose values are the labels (``multi``: radiology exam list; ``table``:
            the event type for ``next_event``; ``careunit|eventtype``: transfers' special case).
        subject (`str`): the ``<X>`` of the instruction.
        bid_events (`tuple[str, ...]`): event types hidden from the context to prevent label leakage.
        metric (`str`): the reference's metric name, written to ``task_info["metric"]`` so its scorer can read our
            files (its ``em`` is set precision / recall / F1; every decision-making task is scored by set F1 here).
        max_labels (`int | None`): keep only targets with fewer labels (chartevents: 10).
        admission_in_window (`bool`): keep only samples whose admission event is inside the window (procedures and
            diagnoses tasks, docs/tasks.md).
    """

    name: str
    table: str
    target_key: str
    subject: str
    bid_events: tuple[str, ...] = ()
    metric: str = "em"
    max_labels: int | None = None
    admission_in_window: bool = False
    task_type: ClassVar[str] = DECISION_MAKING

    def __post_init__(self):
        special = ("multi", "table", "careunit|eventtype")
        if self.table != "*" and self.target_key not in special + EVENT_TYPE[self.table].key_names:
            raise ValueError(f"task {self.name!r}: {self.table} has no info key {self.target_key!r}")

    @property
    def instruction(self) -> str:
        return f"{INSTRUCTION_PREFIX}give the next {self.subject} suggestion for the patients."

    @property
    def reference_target_key(self) -> str:
        """``task_info["target_key"]`` as the reference writes it."""
        return _REFERENCE_TARGET_KEYS.get(self.target_key, self.target_key)


@dataclass(frozen=True)
class RiskTask:
    """A yes/no outcome anchored on one event type (docs/tasks.md).

    Args:
        name (`str`): task id, e.g. ``ICU_Mortality_7day``.
        rule (`str`): name of the label rule in ``ehr_r1.tasks.risk_rules.RISK_RULES`` (it fixes the anchor).
        outcome (`str`): the clause after "predict whether " (the reference's text, byte for byte, odd ends kept).
        hours (`float | None`): the rule's threshold in hours (required by rules that use one, refused otherwise).
    """

    name: str
    rule: str
    outcome: str
    hours: float | None = None
    metric: ClassVar[str] = "aucroc"  # the reference's name; scored by AUROC
    reference_target_key: ClassVar[None] = None
    task_type: ClassVar[str] = RISK_PREDICTION
    bid_events: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if self.rule not in RISK_RULES:
            raise ValueError(f"task {self.name!r}: unknown risk rule {self.rule!r}; known: {sorted(RISK_RULES)}")
        if RISK_RULES[self.rule].uses_hours != (self.hours is not None):
            need = "needs" if RISK_RULES[self.rule].uses_hours else "takes no"
            raise ValueError(f"task {self.name!r}: rule {self.rule!r} {need} hours")

    @property
    def anchor(self) -> str:
        return RISK_RULES[self.rule].anchor

    @property
    def instruction(self) -> str:
        return f"{INSTRUCTION_PREFIX}predict whether {self.outcome}"

    @property
    def table(self) -> str:
        return self.anchor


_DIAG_BID = ("discharge",)
_REFERENCE_TARGET_KEYS = {"careunit|eventtype": "eventtype", "multi": "exam_name", "table": "file_name"}
_RECALL = "recall"  # the reference's metric name of set tasks whose label is a code list (also scored by set F1)
DECISION_TASKS: tuple[DecisionTask, ...] = (
    DecisionTask("admissions", "admissions", "admission_type", "Admissions"),
    DecisionTask("omr", "omr", "result_name", "Online Medical Record"),
    DecisionTask("emar", "emar", "medication", "Electronic Medicine Administration Record"),
    DecisionTask("poe", "poe", "order_type", "Provider Order Entry"),
    DecisionTask(
        "procedures_icd",
        "procedures_icd",
        "procedures",
        "Procedures International Classification of Diseases Item",
        admission_in_window=True,
        metric=_RECALL,
    ),
    DecisionTask(
        "procedures_ccs",
        "procedures_icd",
        "CCS Type",
        "Procedures Clinical Classifications Software Item",
        admission_in_window=True,
        metric=_RECALL,
    ),
    DecisionTask(
        "diagnoses_icd",
        "diagnoses_icd",
        "diagnoses",
        "Diagnoses International Classification of Diseases Item",
        _DIAG_BID,
        admission_in_window=True,
        metric=_RECALL,
    ),
    DecisionTask(
        "diagnoses_ccs",
        "diagnoses_icd",
        "CCS Type",
        "Diagnoses Clinical Classifications Software Item",
        _DIAG_BID,
        admission_in_window=True,
        metric=_RECALL,
    ),
    DecisionTask("labevents", "labevents", "item_name", "Labotary Test Events"),
    DecisionTask("microbiologyevents", "microbiologyevents", "test_name", "Microbiology Test Events"),
    DecisionTask("services", "services", "curr_service", "Services"),
    DecisionTask("transfers", "transfers", "careunit|eventtype", "Transfers"),
    DecisionTask("prescriptions", "prescriptions", "drug", "Prescriptions", metric=_RECALL),
    DecisionTask(
        "prescriptions_atc",
        "prescriptions",
        "ATC Type",
        "Anatomical Therapeutic Chemical Classification Prescriptions",
        metric=_RECALL,
    ),
    DecisionTask("radiology", "radiology", "multi", "Radiology Examinations"),
    DecisionTask("medrecon", "medrecon", "name", "ED Medrecon", metric=_RECALL),
    DecisionTask(
        "medrecon_atc",
        "medrecon",
        "ATC Type",
        "ED Medrecon on Anatomical Therapeutic Chemical (ATC) Classification",
        metric=_RECALL,
    ),
    DecisionTask("pyxis", "pyxis", "name", "ED Pyxis"),
    DecisionTask(
        "diagnosis",
        "diagnosis",
        "icd_title",
        "ED Diagnoses on International Classification of Diseases",
        _DIAG_BID,
        metric=_RECALL,
    ),
    DecisionTask(
        "diagnosis_ccs",
        "diagnosis",
        "CCS Type",
        "ED Diagnoses on Clinical Classifications Software Item",
        _DIAG_BID,
        metric=_RECALL,
    ),
    DecisionTask("chartevents", "chartevents", "item_name", "Chart Events", max_labels=9),
    DecisionTask("ingredientevents", "ingredientevents", "item_name", "Ingredient Events"),
    DecisionTask("datetimeevents", "datetimeevents", "item_name", "Datetime Events"),
    DecisionTask("procedureevents", "procedureevents", "item_name", "Procedure Events"),
    DecisionTask("inputevents", "inputevents", "item_name", "Input Events"),
    DecisionTask("outputevents", "outputevents", "item_name", "Output Events"),
)
NEXT_EVENT = DecisionTask("next_event", "*", "table", "event", metric="acc")

RISK_TASKS: tuple[RiskTask, ...] = (
    RiskTask(
        "ED_Hospitalization", "ed_hospitalization", "the patient will be hospitalized after the emergency room visit."
    ),
    RiskTask("ED_Inpatient_Mortality", "ed_mortality", "the patient will die during hospitalization."),
    RiskTask(
        "ED_ICU_Tranfer_12hour",
        "ed_icu",
        "the patient will be transferred to the ICU within 12 hours after the emergency room.",
        12,
    ),
    RiskTask(
        "ED_Reattendance_3day",
        "ed_reattendance",
        "the patient will return to the emergency department within 72 hours after the emergency visit.",
        72,
    ),
    RiskTask(
        "ED_Critical_Outcomes",
        "ed_critical",
        "the patient will die during hospitalization or will be transferred to the ICU within 12 hours after the "
        "emergency room.",
        12,
    ),
    RiskTask("LengthOfStay_3day", "los", "the patient's hospital stay will exceed 3 days.", 72),
    RiskTask("LengthOfStay_7day", "los", "the patient's hospital stay will exceed 7 days", 168),
    RiskTask("Inpatient_Mortality", "inpatient_mortality", "the patient will die during hospitalization."),
    *(
        RiskTask(f"ICU_Mortality_{n}day", "icu_mortality", f"the patient will die within {n} day.", 24 * n)
        for n in (1, 2, 3, 7, 14)
    ),
    RiskTask("ICU_Stay_7day", "icu_stay", "the patient will stay in the ICU for more than 7 days.", 168),
    RiskTask("ICU_Stay_14day", "icu_stay", "the patient will stay in the ICU for more than 14 days.", 336),
    RiskTask(
        "ICU_Readmission",
        "icu_readmission",
        "the patient will be admitted to the ICU again during this hospitalization",
    ),
    RiskTask("Readmission_30day", "readmission", "the patient will be readmitted to the hospital within 30 days", 720),
    RiskTask(
        "Readmission_60day", "readmission", "the patient will be readmitted to the hospital within 60 days", 1440
    ),
)
ALL_TASKS = {t.name: t for t in (*DECISION_TASKS, NEXT_EVENT, *RISK_TASKS)}
BENCH_DECISION_TASKS = tuple(t.name for t in DECISION_TASKS)  # the released bench has no next_event (docs/tasks.md)


def get_task(name: str) -> DecisionTask | RiskTask:
    if name not in ALL_TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(ALL_TASKS)}")
    return ALL_TASKS[name]


def register_task(task: DecisionTask | RiskTask) -> None:
    """Add a task to the catalogue (builds then index, sample, render and write it like any other)."""
    if task.name in ALL_TASKS:
        raise ValueError(f"task {task.name!r} exists already")
    ALL_TASKS[task.name] = task

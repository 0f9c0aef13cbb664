# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""What the synthetic MIMIC-IV generator writes: its configuration (:class:`SynthConfig`), size limits, time units
and the columns of every table (:data:`TABLES`), in the order MIMIC-IV writes them."""

import dataclasses

from ehr_r1.errors import EhrR1Error


MODULES = ("hosp", "icu", "ed", "note")
CHUNK_PATIENTS = 1000
MAX_PATIENTS = 1_000_000
MAX_ADMISSIONS = 8
FIRST_SUBJECT_ID = 10_000_000
MANIFEST = "synthetic_mimic.json"

MINUTE, HOUR, DAY = 60, 3600, 86400
_EPOCH_2000 = 946_684_800  # 2000-01-01 00:00:00 UTC in seconds
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Every table, its module and its columns, in the order MIMIC-IV v2.2 / ED v2.2 / Note v2.2 write them.
_COLUMNS = {
    "hosp/patients": "subject_id gender anchor_age anchor_year anchor_year_group dod",
    "hosp/admissions": (
        "subject_id hadm_id admittime dischtime deathtime admission_type admit_provider_id admission_location "
        "discharge_location insurance language marital_status race edregtime edouttime hospital_expire_flag"
    ),
    "hosp/transfers": "subject_id hadm_id transfer_id eventtype careunit intime outtime",
    "hosp/services": "subject_id hadm_id transfertime prev_service curr_service",
    "hosp/diagnoses_icd": "subject_id hadm_id seq_num icd_code icd_version",
    "hosp/procedures_icd": "subject_id hadm_id seq_num chartdate icd_code icd_version",
    "hosp/hcpcsevents": "subject_id hadm_id chartdate hcpcs_cd seq_num short_description",
    "hosp/drgcodes": "subject_id hadm_id drg_type drg_code description drg_severity drg_mortality",
    "hosp/labevents": (
        "labevent_id subject_id hadm_id specimen_id itemid order_provider_id charttime storetime value valuenum "
        "valueuom ref_range_lower ref_range_upper flag priority comments"
    ),
    "hosp/microbiologyevents": (
        "microevent_id subject_id hadm_id micro_specimen_id order_provider_id chartdate charttime spec_itemid "
        "spec_type_desc test_seq storedate storetime test_itemid test_name org_itemid org_name isolate_num quantity "
        "ab_itemid ab_name dilution_text dilution_comparison dilution_value interpretation comments"
    ),
    "hosp/prescriptions": (
        "subject_id hadm_id pharmacy_id poe_id poe_seq order_provider_id starttime stoptime drug_type drug "
        "formulary_drug_cd gsn ndc prod_strength form_rx dose_val_rx dose_unit_rx form_val_disp form_unit_disp "
        "doses_per_24_hrs route"
    ),
    "hosp/pharmacy": (
        "subject_id hadm_id pharmacy_id poe_id starttime stoptime medication proc_type status entertime verifiedtime "
        "route frequency disp_sched infusion_type sliding_scale lockout_interval basal_rate one_hr_max "
        "doses_per_24_hrs duration duration_interval expiration_value expiration_unit expirationdate dispensation "
        "fill_quantity"
    ),
    "hosp/emar": (
        "subject_id hadm_id emar_id emar_seq poe_id pharmacy_id enter_provider_id charttime medication event_txt "
        "scheduletime storetime"
    ),
    "hosp/omr": "subject_id chartdate seq_num result_name result_value",
    "hosp/poe": (
        "poe_id poe_seq subject_id hadm_id ordertime order_type order_subtype transaction_type discontinue_of_poe_id "
        "discontinued_by_poe_id order_provider_id order_status"
    ),
    "hosp/provider": "provider_id",
    "hosp/d_labitems": "itemid label fluid category",
    "hosp/d_icd_diagnoses": "icd_code icd_version long_title",
    "hosp/d_icd_procedures": "icd_code icd_version long_title",
    "hosp/d_hcpcs": "code category long_description short_description",
    "icu/icustays": "subject_id hadm_id stay_id first_careunit last_careunit intime outtime los",
    "icu/chartevents": (
        "subject_id hadm_id stay_id caregiver_id charttime storetime itemid value valuenum valueuom warning"
    ),
    "icu/datetimeevents": "subject_id hadm_id stay_id caregiver_id charttime storetime itemid value valueuom warning",
    "icu/inputevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid amount amountuom rate rateuom "
        "orderid linkorderid ordercategoryname secondaryordercategoryname ordercomponenttypedescription "
        "ordercategorydescription patientweight totalamount totalamountuom isopenbag continueinnextdept "
        "statusdescription originalamount originalrate"
    ),
    "icu/ingredientevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid amount amountuom rate rateuom "
        "orderid linkorderid statusdescription originalamount originalrate"
    ),
    "icu/outputevents": "subject_id hadm_id stay_id caregiver_id charttime storetime itemid value valueuom",
    # MIMIC-IV v2.2 really spells the last two columns of this one file in upper case.
    "icu/procedureevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid value valueuom location "
        "locationcategory orderid linkorderid ordercategoryname ordercategorydescription patientweight isopenbag "
        "continueinnextdept statusdescription ORIGINALAMOUNT ORIGINALRATE"
    ),
    "icu/d_items": "itemid label abbreviation linksto category unitname param_type lownormalvalue highnormalvalue",
    "icu/caregiver": "caregiver_id",
    "ed/edstays": "subject_id hadm_id stay_id intime outtime gender race arrival_transport disposition",
    "ed/triage": "subject_id stay_id temperature heartrate resprate o2sat sbp dbp pain acuity chiefcomplaint",
    "ed/vitalsign": "subject_id stay_id charttime temperature heartrate resprate o2sat sbp dbp rhythm pain",
    "ed/diagnosis": "subject_id stay_id seq_num icd_code icd_version icd_title",
    "ed/medrecon": "subject_id stay_id charttime name gsn ndc etc_rn etccode etcdescription",
    "ed/pyxis": "subject_id stay_id charttime med_rn name gsn_rn gsn",
    "note/discharge": "note_id subject_id hadm_id note_type note_seq charttime storetime text",
    "note/discharge_detail": "note_id subject_id field_name field_value field_ordinal",
    "note/radiology": "note_id subject_id hadm_id note_type note_seq charttime storetime text",
    "note/radiology_detail": "note_id subject_id field_name field_value field_ordinal",
}
TABLES: dict[str, tuple[str, ...]] = {name: tuple(cols.split()) for name, cols in _COLUMNS.items()}
DICTIONARY_TABLES = (
    "hosp/provider",
    "hosp/d_labitems",
    "hosp/d_icd_diagnoses",
    "hosp/d_icd_procedures",
    "hosp/d_hcpcs",
    "icu/d_items",
    "icu/caregiver",
)


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Args:
        patients (`int`, defaults to 100): number of patients; each has 1 to 8 admissions.
        seed (`int`, defaults to 0): the random seed; the same config always gives the same bytes.
        density (`float`, defaults to 1.0): multiplies the rate of every repeated event (lab panels, charted vitals,
            medications, ICU inputs and outputs, orders, notes, clinic visits). The patients and their stays do not
            change with it. At 1.0 a patient has about 300 lab rows and an ICU day about 180 chartevents rows.
        modules (`tuple[str, ...]`, defaults to all four): which of ``hosp``, ``icu``, ``ed``, ``note`` to write.
    """

    patients: int = dataclasses.field(default=100, metadata={"help": f"Number of patients, 1 to {MAX_PATIENTS:,}."})
    seed: int = dataclasses.field(default=0, metadata={"help": "Random seed; the same arguments give the same bytes."})
    density: float = dataclasses.field(
        default=1.0,
        metadata={
            "help": "Multiplies the rate of repeated events (labs, vitals, medications, orders...); at 1.0 about 300 "
            "lab rows per patient and 180 chartevents rows per ICU day."
        },
    )
    modules: tuple[str, ...] = dataclasses.field(
        default=MODULES, metadata={"help": "Modules to write, comma- or space-separated.", "sep": ","}
    )

    def __post_init__(self):
        if not 1 <= self.patients <= MAX_PATIENTS:
            raise EhrR1Error(f"--patients must be between 1 and {MAX_PATIENTS:,}, got {self.patients}")
        if not 0 < self.density <= 100:
            raise EhrR1Error(f"--density must be in (0, 100], got {self.density}")
        if self.seed < 0:
            raise EhrR1Error(f"--seed must be >= 0, got {self.seed}")
        unknown = sorted(set(self.modules) - set(MODULES))
        if unknown or not self.modules:
            raise EhrR1Error(f"--modules must be a non-empty subset of {', '.join(MODULES)}; got {list(self.modules)}")
        object.__setattr__(self, "modules", tuple(m for m in MODULES if m in self.modules))

    def tables(self) -> list[str]:
        """The tables this config writes, as ``module/name``."""
        return [t for t in TABLES if t.split("/")[0] in self.modules]

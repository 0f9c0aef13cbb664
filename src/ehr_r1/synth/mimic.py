# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A synthetic MIMIC-IV folder: the hosp and icu modules of v2.2, plus MIMIC-IV-ED and MIMIC-IV-Note, with their column
names, column order, CSV conventions (empty = null, ``YYYY-MM-DD HH:MM:SS``) and gzip files.

Every value is made up. The codes and labels come from the small embedded vocabulary in :mod:`ehr_r1.synth.vocab`.
What the generator keeps consistent, so that the EHR-R1 tasks (spec §1) have something to find:

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
"""

import concurrent.futures
import dataclasses
import gzip
import io
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl

from ehr_r1 import __version__
from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir
from ehr_r1.synth import vocab


logger = logging.getLogger(__name__)

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

    patients: int = 100
    seed: int = 0
    density: float = 1.0
    modules: tuple[str, ...] = MODULES

    def __post_init__(self):
        if not 1 <= self.patients <= MAX_PATIENTS:
            raise EhrR1Error(f"patients must be between 1 and {MAX_PATIENTS:,}, got {self.patients}")
        if not 0 < self.density <= 100:
            raise EhrR1Error(f"density must be in (0, 100], got {self.density}")
        if self.seed < 0:
            raise EhrR1Error(f"seed must be >= 0, got {self.seed}")
        unknown = sorted(set(self.modules) - set(MODULES))
        if unknown or not self.modules:
            raise EhrR1Error(f"modules must be a non-empty subset of {', '.join(MODULES)}; got {list(self.modules)}")
        object.__setattr__(self, "modules", tuple(m for m in MODULES if m in self.modules))

    def tables(self) -> list[str]:
        """The tables this config writes, as ``module/name``."""
        return [t for t in TABLES if t.split("/")[0] in self.modules]


# ----------------------------------------------------------------------------------------------------------- helpers


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts[i]`` children of parent ``i``: each child's parent index and its index within the parent."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(counts.size), counts)
    within = np.arange(parent.size) - (np.cumsum(counts) - counts)[parent]
    return parent, within


def _weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w / w.sum()


def _zipf(n: int, offset: float = 4.0) -> np.ndarray:
    """Rank-based weights: the first entries of a vocabulary list are the common ones."""
    return _weights(1.0 / (np.arange(n) + offset))


def _sample_sets(rng: np.random.Generator, weights: np.ndarray, counts: np.ndarray):
    """Weighted sampling without replacement, one set per row (Gumbel top-k).

    Returns ``(row, choice, rank)`` for every drawn element, rows in order and ranks 0..k-1 within a row.
    """
    w = np.asarray(weights, dtype=np.float64)
    counts = np.minimum(np.asarray(counts, dtype=np.int64), int((w > 0).sum()))
    with np.errstate(divide="ignore"):
        keys = np.log(w)[None, :] + rng.gumbel(size=(counts.size, w.size))
    order = np.argsort(-keys, axis=1, kind="stable")
    row, rank = np.nonzero(np.arange(w.size)[None, :] < counts[:, None])
    return row, order[row, rank], rank


def _events(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, per_day) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson process on each window [start, end): the window index and time of every event."""
    span = np.maximum(end - start, 0)
    n = rng.poisson(np.asarray(per_day, dtype=np.float64) * span / DAY)
    parent, _ = _segments(n)
    t = start[parent] + (rng.random(parent.size) * span[parent]).astype(np.int64)
    return parent, t


def _grid(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, every_s: float, jitter_s: int = 10 * MINUTE):
    """Regular charting times every ``every_s`` seconds inside each window, jittered; returns (window, time)."""
    every = max(int(every_s), MINUTE)
    n = np.maximum((end - start) // every, 0) + 1
    parent, k = _segments(n)
    t = start[parent] + k * every + rng.integers(0, jitter_s + 1, parent.size)
    keep = t < end[parent]
    return parent[keep], t[keep]


def _minute(t: np.ndarray) -> np.ndarray:
    return t - t % MINUTE


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _dt(t: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Epoch seconds → a polars Datetime column (null where ``valid`` is False)."""
    s = pl.Series((np.asarray(t, dtype=np.int64) * 1_000_000).view("datetime64[us]"))
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _date(t: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    return _dt(t, valid).dt.date()


def _day(t: np.ndarray) -> np.ndarray:
    """Midnight of the day of ``t`` (MIMIC writes date-only times as 00:00:00)."""
    return t - t % DAY


def _null_where(s: pl.Series, null: np.ndarray) -> pl.Series:
    if not null.any():
        return s
    return s.zip_with(pl.Series(~null), pl.repeat(None, s.len(), dtype=s.dtype, eager=True))


def _col(values, valid: np.ndarray | None = None, dtype=None) -> pl.Series:
    s = pl.Series(values, dtype=dtype)
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _pick(options, idx: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """``options[idx]`` as a polars column; ``options`` is a sequence or a polars Series."""
    src = options if isinstance(options, pl.Series) else pl.Series(list(options))
    s = src.gather(np.asarray(idx, dtype=np.int64))
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _num_text(values: np.ndarray, decimals: np.ndarray) -> pl.Series:
    """A numeric value as MIMIC's text ``value`` column writes it: ``140``, ``4.2``, ``7.41``."""
    v = pl.Series(values, dtype=pl.Float64)
    as_int = v.round(0).cast(pl.Int64).cast(pl.String)
    return as_int.zip_with(pl.Series(np.asarray(decimals) == 0), v.cast(pl.String))


def _round(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    scale = 10.0 ** np.asarray(decimals, dtype=np.float64)
    return np.round(values * scale) / scale


class _Ids:
    """Running id counters shared by all chunks, so ids are unique in the whole folder."""

    BASES: ClassVar[dict[str, int]] = dict(
        hadm=20_000_000,
        icu_stay=30_000_000,
        ed_stay=35_000_000,
        transfer=40_000_000,
        pharmacy=10_000_000,
        specimen=1_000_000,
        micro_specimen=1_000_000,
        orderid=1_000_000,
        labevent=1,
        microevent=1,
    )

    def __init__(self):
        self.next = dict(self.BASES)

    def take(self, name: str, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """``n`` fresh ids; with ``rng`` they come in shuffled order, as MIMIC's ids are not sorted by time."""
        ids = self.next[name] + np.arange(n, dtype=np.int64)
        self.next[name] += n
        return ids if rng is None else rng.permutation(ids)


def _pools(seed: int) -> tuple[pl.Series, pl.Series]:
    """Provider ids (``P`` + 5 characters) and caregiver ids; fixed by the seed so every chunk draws from the same."""
    rng = np.random.default_rng([seed, 0xC0DE])
    letters = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes = rng.choice(letters, size=(600, 5))
    providers = sorted({"P" + "".join(row) for row in codes})[:500]
    caregivers = np.sort(rng.choice(np.arange(1000, 100_000), size=300, replace=False))
    return pl.Series("provider_id", providers), pl.Series("caregiver_id", caregivers)


# ------------------------------------------------------------------------------------------------------------ chunk


class _Chunk:
    """One block of patients and every table row that belongs to them."""

    def __init__(
        self, cfg: SynthConfig, index: int, n_patients: int, ids: _Ids, providers: pl.Series, caregivers: pl.Series
    ):
        self.cfg, self.index, self.ids = cfg, index, ids
        self.providers, self.caregivers = providers, caregivers
        self.density = cfg.density
        self._core(n_patients)

    def rng(self, name: str) -> np.random.Generator:
        """An independent random stream per table, so leaving a module out does not change the others."""
        return np.random.default_rng([self.cfg.seed, self.index, zlib.crc32(name.encode())])

    def _provider(self, rng, n: int, p_null: float = 0.0) -> pl.Series:
        idx = rng.integers(0, self.providers.len(), n)
        return _pick(self.providers, idx, rng.random(n) >= p_null)

    def _caregiver(self, rng, n: int) -> pl.Series:
        return _pick(self.caregivers, rng.integers(0, self.caregivers.len(), n))

    # -- patients, admissions, stays --------------------------------------------------------------------------------

    def _core(self, P: int):
        rng = self.rng("core")
        first = FIRST_SUBJECT_ID + self.index * CHUNK_PATIENTS + 1
        self.subject = first + np.arange(P, dtype=np.int64)
        self.female = rng.random(P) < 0.5
        self.anchor_age = rng.integers(18, 92, P)
        self.anchor_year = rng.integers(2110, 2186, P)
        self.anchor_group = rng.integers(0, len(vocab.ANCHOR_YEAR_GROUPS), P)
        frailty = rng.normal(size=P)
        self.race = rng.choice(len(vocab.RACES), P, p=_weights(vocab.RACE_WEIGHTS))
        self.marital = rng.choice(len(vocab.MARITAL), P, p=_weights([40, 35, 15, 10]))
        self.height_in = np.clip(rng.normal(66.5, 4, P), 55, 80)
        self.weight_lb = np.clip(rng.normal(178, 42, P), 90, 420)

        n_adm = np.clip(rng.geometric(0.45, P), 1, MAX_ADMISSIONS)
        pa, k = _segments(n_adm)
        A = pa.size
        self.pa, self.k = pa, k
        self.is_last = k == n_adm[pa] - 1
        self.acuity = 0.6 * frailty[pa] + 0.8 * rng.normal(size=A)
        types = list(vocab.ADMISSION_TYPES)
        self.adm_type = rng.choice(len(types), A, p=_weights([w for w, _ in vocab.ADMISSION_TYPES.values()]))
        p_ed = np.array([p for _, p in vocab.ADMISSION_TYPES.values()])[self.adm_type]
        self.via_ed = rng.random(A) < p_ed
        observation = np.array(["OBSERVATION" in t for t in types])[self.adm_type]

        los = np.exp(np.log(80 * HOUR) + 0.25 * self.acuity + 0.7 * rng.normal(size=A))
        los = np.clip(np.where(observation, los * 0.4, los), 6 * HOUR, 60 * DAY).astype(np.int64)
        gap = np.where(rng.random(A) < 0.3, 3 + rng.exponential(20, A), 30 + rng.exponential(300, A))
        gap = (gap * DAY).astype(np.int64)
        year_start = _EPOCH_2000 + ((self.anchor_year - 2000) * 365.2425 * DAY).astype(np.int64)
        first_admit = year_start + (rng.random(P) * 3 * 365 * DAY).astype(np.int64)
        step = np.where(k > 0, gap, 0) + np.where(k > 0, np.roll(los, 1), 0)  # previous stay, then the gap
        offset = np.cumsum(step) - np.cumsum(step)[np.cumsum(n_adm) - n_adm][pa]
        self.admit = _minute(first_admit[pa] + offset)
        self.edreg = _minute(self.admit - rng.integers(90 * MINUTE, 7 * HOUR, A))
        self.edout = _minute(self.admit + rng.integers(15 * MINUTE, 150 * MINUTE, A))
        self.floor = np.where(self.via_ed, self.edout, self.admit)
        self.disch = _minute(np.maximum(self.admit + los, self.floor + 4 * HOUR))
        self.prev_disch = np.where(k > 0, np.roll(self.disch, 1), np.iinfo(np.int64).min // 2)

        # ICU: one stay, sometimes a second one (an ICU readmission) later in the same admission.
        self.icu = rng.random(A) < _sigmoid(-0.7 + 1.3 * self.acuity)
        span = self.disch - self.floor
        icu1_in = self.floor + np.where(rng.random(A) < 0.5, rng.integers(0, HOUR, A), (rng.random(A) * 0.4 * span))
        icu1_in = _minute(icu1_in.astype(np.int64))
        icu_len = np.exp(np.log(48 * HOUR) + 0.3 * self.acuity + 0.6 * rng.normal(size=A)).astype(np.int64)
        icu1_out = np.minimum(icu1_in + np.maximum(icu_len, 4 * HOUR), self.disch)
        icu1_out = np.where(self.disch - icu1_out < 4 * HOUR, self.disch, icu1_out)
        has2 = self.icu & (rng.random(A) < 0.12) & (self.disch - icu1_out > 30 * HOUR)
        icu2_in = icu1_out + 6 * HOUR + (rng.random(A) * 0.5 * (self.disch - icu1_out - 6 * HOUR)).astype(np.int64)
        icu2_out = np.minimum(icu2_in + np.maximum(icu_len // 2, 4 * HOUR), self.disch)

        # Death in hospital only on a patient's last admission; it ends the admission (and the ICU stay it is in).
        self.died = self.is_last & (rng.random(A) < _sigmoid(-3.6 + 1.4 * self.acuity + 1.0 * self.icu))
        last_in_icu = self.died & self.icu
        icu1_out = np.where(last_in_icu & ~has2, self.disch, icu1_out)
        icu2_out = np.where(last_in_icu & has2, self.disch, icu2_out)
        self.icu_in = np.stack([icu1_in, icu2_in], axis=1)
        self.icu_out = np.stack([icu1_out, icu2_out], axis=1)
        self.icu_has = np.stack([self.icu, has2], axis=1)
        dies_later = ~self.died[self.is_last] & (rng.random(P) < 0.08 + 0.1 * (frailty > 1))
        last_disch = self.disch[self.is_last]
        dod = np.where(self.died[self.is_last], last_disch, last_disch + rng.integers(2 * DAY, 400 * DAY, P))
        self.dod, self.has_dod = dod, self.died[self.is_last] | dies_later

        self.hadm = self.ids.take("hadm", A, rng)
        self.ward = rng.integers(0, len(vocab.WARD_UNITS), A)
        self.service = rng.choice(len(vocab.SERVICES), A, p=_zipf(len(vocab.SERVICES), 1.5))
        self.icu_unit = rng.integers(0, len(vocab.ICU_UNITS), (A, 2))
        self.age = self.anchor_age[pa] + (self.admit - year_start[pa]) // (365 * DAY)
        self._diagnoses(rng)

        s_adm, s_k = np.nonzero(self.icu_has)
        self.s_adm, self.s_in, self.s_out = s_adm, self.icu_in[s_adm, s_k], self.icu_out[s_adm, s_k]
        self.s_unit = self.icu_unit[s_adm, s_k]
        self.s_id = self.ids.take("icu_stay", s_adm.size, rng)
        self.s_weight_kg = np.round(self.weight_lb[pa[s_adm]] / 2.2046, 1)

    def _diagnoses(self, rng):
        """ICD version, primary reason for admission and the coded diagnoses of each admission."""
        dx = vocab.table("diagnoses")
        A = self.pa.size
        self.icd10 = rng.random(A) < 0.55
        rows = []
        for version, mask in ((9, ~self.icd10), (10, self.icd10)):
            idx = np.flatnonzero(mask)
            pool = dx.with_row_index("i").filter(pl.col("icd_version") == version)
            prim = pool.filter(pl.col("primary") == 1)["i"].to_numpy()
            sec = pool.filter(pl.col("primary") == 0)["i"].to_numpy()
            primary = prim[rng.choice(prim.size, idx.size, p=_zipf(prim.size, 2))]
            n_sec = np.clip(rng.poisson(6 + 3 * np.maximum(self.acuity[idx], 0)), 1, 24)
            r, c, rank = _sample_sets(rng, _zipf(sec.size), n_sec)
            rows.append(pl.DataFrame({"adm": idx, "dx": primary, "seq_num": np.ones(idx.size, dtype=np.int64)}))
            rows.append(pl.DataFrame({"adm": idx[r], "dx": sec[c], "seq_num": rank + 2}))
        self.dx = pl.concat(rows).sort("adm", "seq_num")
        self.primary_dx = self.dx.filter(pl.col("seq_num") == 1).sort("adm")["dx"].to_numpy()
        complaint_of = [vocab.CHIEF_COMPLAINTS.index(c) for c in _complaints(dx)]
        self.complaint = np.array(complaint_of, dtype=np.int64)[self.primary_dx]

    # -- small helpers over admissions -------------------------------------------------------------------------------

    def _outpatient(self, rng, per_patient: float, years_before: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Events outside any admission (no hadm_id): ``per_patient`` on average, between ``years_before`` years
        before the first admission and a year after the last discharge, never after death. Returns (patient, time)."""
        lo = self.admit[self.k == 0] - years_before * 365 * DAY
        hi = np.where(self.has_dod, self.dod, self.disch[self.is_last] + 365 * DAY)
        return _events(rng, lo, hi, self.density * per_patient * DAY / np.maximum(hi - lo, DAY))

    def _adm_cols(self, adm: np.ndarray, valid: np.ndarray | None = None) -> dict:
        """``subject_id`` and ``hadm_id`` for rows that belong to admissions ``adm`` (null hadm where not valid)."""
        return {"subject_id": self.subject[self.pa[adm]], "hadm_id": _col(self.hadm[adm], valid, pl.Int64)}

    # -- hosp --------------------------------------------------------------------------------------------------------

    def patients(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "subject_id": self.subject,
                "gender": _pick(["M", "F"], self.female.astype(np.int64)),
                "anchor_age": self.anchor_age,
                "anchor_year": self.anchor_year,
                "anchor_year_group": _pick(vocab.ANCHOR_YEAR_GROUPS, self.anchor_group),
                "dod": _date(self.dod, self.has_dod),
            }
        )

    def admissions(self) -> pl.DataFrame:
        rng = self.rng("admissions")
        A = self.pa.size
        loc = rng.integers(0, len(vocab.ADMISSION_LOCATIONS), A)
        dis = rng.choice(len(vocab.DISCHARGE_LOCATIONS), A, p=_weights([30, 28, 20, 8, 5, 3, 2]))
        medicare = (self.age >= 65) & (rng.random(A) < 0.85)
        insurance = np.where(medicare, 0, np.where(rng.random(A) < 0.2, 1, 2))
        return pl.DataFrame(
            {
                **self._adm_cols(np.arange(A)),
                "admittime": _dt(self.admit),
                "dischtime": _dt(self.disch),
                "deathtime": _dt(self.disch, self.died),
                "admission_type": _pick(list(vocab.ADMISSION_TYPES), self.adm_type),
                "admit_provider_id": self._provider(rng, A, 0.05),
                "admission_location": _pick(
                    ("EMERGENCY ROOM", *vocab.ADMISSION_LOCATIONS), np.where(self.via_ed, 0, loc + 1)
                ),
                "discharge_location": _pick(
                    ("DIED", *vocab.DISCHARGE_LOCATIONS),
                    np.where(self.died, 0, dis + 1),
                    self.died | (rng.random(A) >= 0.1),
                ),
                "insurance": _pick(("Medicare", "Medicaid", "Other"), insurance),
                "language": _pick(("ENGLISH", "?"), (rng.random(A) < 0.07).astype(np.int64)),
                "marital_status": _pick(vocab.MARITAL, self.marital[self.pa], rng.random(A) >= 0.04),
                "race": _pick(vocab.RACES, self.race[self.pa]),
                "edregtime": _dt(self.edreg, self.via_ed),
                "edouttime": _dt(self.edout, self.via_ed),
                "hospital_expire_flag": self.died.astype(np.int64),
            }
        )

    def transfers(self) -> pl.DataFrame:
        """ED → ward → ICU → ward (→ ICU → ward) → discharge, one row per segment, zero-length segments dropped."""
        rng = self.rng("transfers")
        A = self.pa.size
        (i1, i2), (o1, o2) = self.icu_in.T, self.icu_out.T
        has1, has2 = self.icu_has.T
        start = np.stack([self.edreg, self.floor, i1, o1, i2, o2, self.disch], axis=1)
        end = np.stack(
            [
                self.floor,
                np.where(has1, i1, self.disch),
                o1,
                np.where(has2, i2, self.disch),
                o2,
                self.disch,
                self.disch,
            ],
            axis=1,
        )
        base = np.stack([self.via_ed, np.ones(A, bool), has1, has1, has2, has2, np.ones(A, bool)], axis=1)
        valid = base & (end - start >= MINUTE)
        valid[:, 6] = True
        in_stay = valid.copy()
        in_stay[:, [0, 6]] = False
        first = in_stay & (np.cumsum(in_stay, axis=1) == 1)
        adm, seg = np.nonzero(valid)
        # eventtype: 0 ED, 1 admit, 2 transfer, 3 discharge
        event = np.where(seg == 0, 0, np.where(seg == 6, 3, np.where(first[adm, seg], 1, 2)))
        unit_names = ("Emergency Department", *vocab.WARD_UNITS, *vocab.ICU_UNITS)
        icu_k = np.where(seg == 2, 0, 1)
        unit = np.where(
            seg == 0,
            0,
            np.where(np.isin(seg, [2, 4]), 1 + len(vocab.WARD_UNITS) + self.icu_unit[adm, icu_k], 1 + self.ward[adm]),
        )
        return pl.DataFrame(
            {
                **self._adm_cols(adm),
                "transfer_id": self.ids.take("transfer", adm.size, rng),
                "eventtype": _pick(("ED", "admit", "transfer", "discharge"), event),
                "careunit": _pick(unit_names, unit, seg != 6),
                "intime": _dt(start[adm, seg]),
                "outtime": _dt(end[adm, seg], seg != 6),
            }
        )

    def services(self) -> pl.DataFrame:
        rng = self.rng("services")
        A = self.pa.size
        first = self.service
        second = (rng.random(A) < 0.2) & (self.disch - self.floor > DAY)
        other = (first + rng.integers(1, len(vocab.SERVICES), A)) % len(vocab.SERVICES)
        t2 = self.floor + (rng.random(A) * (self.disch - self.floor)).astype(np.int64)
        adm = np.concatenate([np.arange(A), np.flatnonzero(second)])
        prev = np.concatenate([np.zeros(A, np.int64), first[second]])
        return pl.DataFrame(
            {
                **self._adm_cols(adm),
                "transfertime": _dt(np.concatenate([self.admit + rng.integers(0, 30 * MINUTE, A), t2[second]])),
                "prev_service": _pick(vocab.SERVICES, prev, np.arange(adm.size) >= A),
                "curr_service": _pick(vocab.SERVICES, np.concatenate([first, other[second]])),
            }
        ).sort("subject_id", "transfertime", maintain_order=True)

    def diagnoses_icd(self) -> pl.DataFrame:
        dx = vocab.table("diagnoses")
        adm = self.dx["adm"].to_numpy()
        i = self.dx["dx"].to_numpy()
        return pl.DataFrame(
            {
                **self._adm_cols(adm),
                "seq_num": self.dx["seq_num"],
                "icd_code": dx["icd_code"].gather(i),
                "icd_version": dx["icd_version"].gather(i),
            }
        )

    def procedures_icd(self) -> pl.DataFrame:
        rng = self.rng("procedures_icd")
        px = vocab.table("procedures")
        frames = []
        for version, mask in ((9, ~self.icd10), (10, self.icd10)):
            idx = np.flatnonzero(mask)
            pool = np.flatnonzero(px["icd_version"].to_numpy() == version)
            n = np.clip(rng.poisson(0.3 + 1.2 * self.icu[idx] + 0.3 * np.maximum(self.acuity[idx], 0)), 0, 6)
            r, c, rank = _sample_sets(rng, _zipf(pool.size), n)
            adm = idx[r]
            t = self.floor[adm] + (rng.random(adm.size) * (self.disch - self.floor)[adm]).astype(np.int64)
            frames.append(
                pl.DataFrame(
                    {
                        **self._adm_cols(adm),
                        "seq_num": rank + 1,
                        "chartdate": _date(t),
                        "icd_code": px["icd_code"].gather(pool[c]),
                        "icd_version": px["icd_version"].gather(pool[c]),
                    }
                )
            )
        self.px = pl.concat(frames)
        return self.px.select(TABLES["hosp/procedures_icd"])

    def hcpcsevents(self) -> pl.DataFrame:
        rng = self.rng("hcpcsevents")
        hc = vocab.table("hcpcs")
        obs = np.array(["OBSERVATION" in t for t in vocab.ADMISSION_TYPES])[self.adm_type]
        A = self.pa.size
        code = np.where(obs, np.where(rng.random(A) < 0.7, 0, 1), 2)
        keep = np.where(obs, rng.random(A) < 0.6, rng.random(A) < 0.03)
        adm = np.flatnonzero(keep)
        return pl.DataFrame(
            {
                **self._adm_cols(adm),
                "chartdate": _date(self.admit[adm]),
                "hcpcs_cd": hc["code"].gather(code[adm]),
                "seq_num": np.ones(adm.size, np.int64),
                "short_description": hc["short_description"].gather(code[adm]),
            }
        )

    def drgcodes(self) -> pl.DataFrame:
        rng = self.rng("drgcodes")
        drg = vocab.table("drgs")
        A = self.pa.size
        code = rng.choice(drg.height, A, p=_zipf(drg.height, 2))
        apr = rng.random(A) < 0.85
        adm = np.concatenate([np.arange(A), np.flatnonzero(apr)])
        is_apr = np.arange(adm.size) >= A
        sev = np.clip(np.round(2 + 0.9 * self.acuity[adm] + rng.normal(0, 0.5, adm.size)), 1, 4).astype(np.int64)
        mort = np.clip(sev - rng.integers(0, 2, adm.size), 1, 4)
        return pl.DataFrame(
            {
                **self._adm_cols(adm),
                "drg_type": _pick(("HCFA", "APR"), is_apr.astype(np.int64)),
                "drg_code": drg["drg_code"].gather(code[adm]),
                "description": drg["description"].gather(code[adm]),
                "drg_severity": _col(sev, is_apr, pl.Int64),
                "drg_mortality": _col(mort, is_apr, pl.Int64),
            }
        ).sort("subject_id", maintain_order=True)

    def labevents(self) -> pl.DataFrame:
        """Lab panels (one specimen, several items) on the wards, in the ICU, at ED arrival and as an outpatient."""
        rng = self.rng("labevents")
        labs, panels = vocab.table("labs"), vocab.table("lab_panels")
        d = self.density
        A = self.pa.size
        # Windows: whole stays at ward rates, ICU stays at ICU rates; then ED first draws and outpatient draws.
        w_adm = [np.arange(A), self.s_adm]
        w_start = [self.floor, self.s_in]
        w_end = [self.disch, self.s_out]
        w_kind = [np.zeros(A, np.int64), np.ones(self.s_adm.size, np.int64)]
        parent, t = _events(
            rng,
            np.concatenate(w_start),
            np.concatenate(w_end),
            np.concatenate([np.full(A, 3.0 * d), np.full(self.s_adm.size, 4.0 * d)]),
        )
        adm, kind = np.concatenate(w_adm)[parent], np.concatenate(w_kind)[parent]
        n_ed_panels = int((panels["ed"] > 0).sum())
        ed_adm = np.repeat(np.flatnonzero(self.via_ed), n_ed_panels)
        ed_t = np.repeat(
            self.edreg[self.via_ed] + rng.integers(20 * MINUTE, 90 * MINUTE, int(self.via_ed.sum())), n_ed_panels
        )
        op_pat, op_t = self._outpatient(rng, 8.0)

        kinds = ("ward", "icu", "ed", "outpatient")
        ptype = np.empty(adm.size, np.int64)
        for j in (0, 1):
            m = kind == j
            ptype[m] = rng.choice(panels.height, int(m.sum()), p=_weights(panels[kinds[j]]))
        ed_types = np.tile(np.flatnonzero(panels["ed"].to_numpy() > 0), int(self.via_ed.sum()))
        op_types = rng.choice(panels.height, op_pat.size, p=_weights(panels["outpatient"]))

        p_adm = np.concatenate([adm, ed_adm, np.full(op_pat.size, -1)])
        p_pat = np.concatenate([self.pa[adm], self.pa[ed_adm], op_pat])
        p_t = _minute(np.concatenate([t, ed_t, op_t]))
        p_type = np.concatenate([ptype, ed_types, op_types])
        self.lab_panels = (p_adm, p_t)  # poe writes one Lab order per inpatient panel

        members = [np.array([int(x) for x in s.split()]) for s in panels["itemids"]]
        item_row = {v: i for i, v in enumerate(labs["itemid"].to_list())}
        flat = np.array([item_row[i] for m in members for i in m])
        starts = np.cumsum([0] + [m.size for m in members])[:-1]
        sizes = np.array([m.size for m in members])[p_type]
        panel, within = _segments(sizes)
        item = flat[starts[p_type[panel]] + within]
        n = item.size

        acu = np.where(p_adm[panel] >= 0, np.maximum(self.acuity[np.maximum(p_adm[panel], 0)], 0), 0.0)
        col = {c: labs[c].to_numpy() for c in ("mean", "sd", "lo", "hi", "dec", "floor", "shift")}
        v = col["mean"][item] + col["sd"][item] * (rng.normal(size=n) + col["shift"][item] * acu)
        v = _round(np.maximum(v, col["floor"][item]), col["dec"][item])
        lo_, hi_ = col["lo"][item], col["hi"][item]
        abnormal = (~np.isnan(lo_) & (v < lo_)) | (~np.isnan(hi_) & (v > hi_))
        specimen = self.ids.take("specimen", p_t.size, rng)
        charttime = p_t[panel]
        store = charttime + rng.integers(20, 150, p_t.size)[panel] * MINUTE
        priority = rng.choice(3, p_t.size, p=[0.55, 0.35, 0.10])[panel]
        df = pl.DataFrame(
            {
                "subject_id": self.subject[p_pat[panel]],
                "hadm_id": _col(self.hadm[np.maximum(p_adm[panel], 0)], p_adm[panel] >= 0, pl.Int64),
                "specimen_id": specimen[panel],
                "itemid": labs["itemid"].gather(item),
                "order_provider_id": self._provider(rng, n, 0.7),
                "charttime": _dt(charttime),
                "storetime": _dt(store),
                "value": _num_text(v, col["dec"][item]),
                "valuenum": v,
                "valueuom": labs["unit"].gather(item),
                "ref_range_lower": _col(lo_, ~np.isnan(lo_), pl.Float64),
                "ref_range_upper": _col(hi_, ~np.isnan(hi_), pl.Float64),
                "flag": _col(np.where(abnormal, "abnormal", ""), abnormal, pl.String),
                "priority": _pick(("STAT", "ROUTINE", "x"), priority, priority < 2),
                "comments": pl.repeat(None, n, dtype=pl.String, eager=True),
            }
        ).sort("subject_id", "charttime", "specimen_id", maintain_order=True)
        return df.with_columns(labevent_id=pl.Series(self.ids.take("labevent", n))).select(TABLES["hosp/labevents"])

    def microbiologyevents(self) -> pl.DataFrame:
        rng = self.rng("microbiologyevents")
        spec, orgs, abx = vocab.table("micro_specimens"), vocab.table("organisms"), vocab.table("antibiotics")
        rate = (
            self.density
            * (0.5 + 1.0 * self.icu + 0.3 * np.maximum(self.acuity, 0))
            / np.maximum((self.disch - self.floor) / DAY, 0.25)
        )
        adm, t = _events(rng, self.floor, self.disch, rate)
        S = adm.size
        st = rng.choice(spec.height, S, p=_weights(spec["weight"]))
        growth = rng.random(S) < spec["growth"].to_numpy()[st] * (1 + 0.5 * np.maximum(self.acuity[adm], 0))
        org = rng.choice(orgs.height, S, p=_zipf(orgs.height, 1.5))
        susceptibility = growth & np.isin(st, [0, 1, 2, 4])  # cultures get antibiotic panels
        n_ab = np.where(susceptibility, rng.integers(4, 8, S), 0)
        r, c, _ = _sample_sets(rng, np.ones(abx.height), n_ab)
        # One row per specimen without susceptibilities, one per antibiotic otherwise.
        row_spec = np.concatenate([np.flatnonzero(~susceptibility), r])
        row_ab = np.concatenate([np.full(int((~susceptibility).sum()), -1), c])
        order = np.lexsort((row_ab, row_spec))
        row_spec, row_ab = row_spec[order], row_ab[order]
        n = row_spec.size
        has_ab, has_org = row_ab >= 0, growth[row_spec]
        interp = rng.choice(3, n, p=[0.8, 0.15, 0.05])  # S, R, I
        dil_val = np.where(interp == 0, rng.choice([0.25, 0.5, 1, 2, 4], n), np.where(interp == 1, 32.0, 8.0))
        dil_cmp = np.where(interp == 0, 0, np.where(interp == 1, 1, 2))
        dil_text = [("<=", "=>", "")[cc] + (f"{x:g}") for cc, x in zip(dil_cmp, dil_val, strict=True)]
        charttime = _minute(t)[row_spec]
        specimen_id = self.ids.take("micro_specimen", S, rng)[row_spec]
        store = _minute(charttime + rng.integers(36 * HOUR, 72 * HOUR, S)[row_spec])
        df = pl.DataFrame(
            {
                **self._adm_cols(adm[row_spec]),
                "micro_specimen_id": specimen_id,
                "order_provider_id": self._provider(rng, n, 0.6),
                "chartdate": _dt(_day(charttime)),
                "charttime": _dt(charttime),
                "spec_itemid": spec["spec_itemid"].gather(st[row_spec]),
                "spec_type_desc": spec["spec_type_desc"].gather(st[row_spec]),
                "test_seq": np.ones(n, np.int64),
                "storedate": _dt(_day(store)),
                "storetime": _dt(store),
                "test_itemid": spec["test_itemid"].gather(st[row_spec]),
                "test_name": spec["test_name"].gather(st[row_spec]),
                "org_itemid": _col(orgs["org_itemid"].gather(org[row_spec]), has_org),
                "org_name": _col(orgs["org_name"].gather(org[row_spec]), has_org),
                "isolate_num": _col(np.ones(n, np.int64), has_org, pl.Int64),
                "quantity": pl.repeat(None, n, dtype=pl.String, eager=True),
                "ab_itemid": _col(abx["ab_itemid"].gather(np.maximum(row_ab, 0)), has_ab),
                "ab_name": _col(abx["ab_name"].gather(np.maximum(row_ab, 0)), has_ab),
                "dilution_text": _col(dil_text, has_ab, pl.String),
                "dilution_comparison": _pick(("<=        ", "=>", "=         "), dil_cmp, has_ab),
                "dilution_value": _col(dil_val, has_ab, pl.Float64),
                "interpretation": _pick(("S", "R", "I"), interp, has_ab),
                "comments": _col(np.full(n, "NO GROWTH."), ~has_org, pl.String),
            }
        ).sort("subject_id", "charttime", maintain_order=True)
        return df.with_columns(microevent_id=pl.Series(self.ids.take("microevent", n))).select(
            TABLES["hosp/microbiologyevents"]
        )

    def _medications(self):
        """Prescriptions, their pharmacy rows, their eMAR administrations and every POE order, linked by id."""
        rng = self.rng("medications")
        drugs = vocab.table("drugs")
        days = (self.disch - self.floor) / DAY
        rate = self.density * (4 + 8 * days**0.8) / np.maximum(days, 0.25)
        adm, t = _events(rng, self.floor, self.disch, rate)
        n = adm.size
        drip = drugs["route"].to_numpy() == "IV DRIP"
        w_ward = np.where(drip, 0.0, _zipf(drugs.height))
        w_icu = np.where(drip, 3 * _zipf(drugs.height).max(), _zipf(drugs.height))
        icu_row = self.icu[adm]
        drug = np.empty(n, np.int64)
        drug[~icu_row] = rng.choice(drugs.height, int((~icu_row).sum()), p=_weights(w_ward))
        drug[icu_row] = rng.choice(drugs.height, int(icu_row.sum()), p=_weights(w_icu))
        start = _minute(t - t % HOUR + rng.choice([0, 0, 0, 30], n) * MINUTE)
        start = np.clip(start, self.floor[adm], self.disch[adm] - HOUR)
        stop = np.minimum(start + rng.integers(12 * HOUR, 5 * DAY, n), self.disch[adm])
        stop = np.maximum(stop, start + HOUR)
        per_day = drugs["per_day"].to_numpy()[drug]
        pharmacy_id = self.ids.take("pharmacy", n, rng)
        self.rx = dict(adm=adm, drug=drug, start=start, stop=stop, per_day=per_day, pharmacy_id=pharmacy_id)

        # POE: one Medications order per prescription, one Lab order per inpatient lab panel, and other orders.
        p_adm, p_t = self.lab_panels
        lab_adm, lab_t = p_adm[p_adm >= 0], p_t[p_adm >= 0]
        other = vocab.table("poe_other")
        o_adm, o_t = _events(rng, self.admit, self.disch, self.density * 4.0)
        o_type = rng.choice(other.height, o_adm.size, p=_weights(other["weight"]))
        disc_adm = np.flatnonzero(~self.died)

        def orders(adm, t, order_type, order_subtype=None, rx=None) -> pl.DataFrame:
            n = adm.size
            const = lambda v: v if isinstance(v, pl.Series) else pl.repeat(v, n, dtype=pl.String, eager=True)  # noqa: E731
            return pl.DataFrame(
                {
                    "adm": adm,
                    "t": t,
                    "rx": np.full(n, -1) if rx is None else rx,
                    "order_type": const(order_type),
                    "order_subtype": const(order_subtype),
                }
            )

        kinds = pl.concat(
            [
                orders(adm, start - rng.integers(5, 60, n) * MINUTE, "Medications", rx=np.arange(n)),
                orders(lab_adm, lab_t - rng.integers(5, 60, lab_adm.size) * MINUTE, "Lab"),
                orders(o_adm, o_t, other["order_type"].gather(o_type), other["order_subtype"].gather(o_type)),
                orders(
                    disc_adm,
                    self.disch[disc_adm] - rng.integers(1, 6, disc_adm.size) * HOUR,
                    "ADT orders",
                    "Discharge",
                ),
            ]
        )
        kinds = kinds.with_columns(
            subject_id=pl.Series(self.subject[self.pa[kinds["adm"].to_numpy()]]), t=pl.col("t") - pl.col("t") % MINUTE
        )
        kinds = kinds.sort("subject_id", "t", "rx", maintain_order=True).with_columns(
            poe_seq=pl.int_range(1, pl.len() + 1).over("subject_id")
        )
        kinds = kinds.with_columns(poe_id=pl.format("{}-{}", "subject_id", "poe_seq"))
        self.poe_rows = kinds
        linked = kinds.filter(pl.col("rx") >= 0).sort("rx")
        self.rx["poe_seq"] = linked["poe_seq"].to_numpy()
        self.rx["poe_id"] = linked["poe_id"]

    def prescriptions(self) -> pl.DataFrame:
        self._medications()
        rng = self.rng("prescriptions")
        drugs = vocab.table("drugs")
        rx = self.rx
        n = rx["adm"].size
        g = lambda c: drugs[c].gather(rx["drug"])  # noqa: E731
        return pl.DataFrame(
            {
                **self._adm_cols(rx["adm"]),
                "pharmacy_id": rx["pharmacy_id"],
                "poe_id": rx["poe_id"],
                "poe_seq": rx["poe_seq"],
                "order_provider_id": self._provider(rng, n, 0.1),
                "starttime": _dt(rx["start"]),
                "stoptime": _dt(rx["stop"]),
                "drug_type": pl.repeat("MAIN", n, eager=True),
                "drug": g("drug"),
                "formulary_drug_cd": g("formulary_drug_cd"),
                "gsn": g("gsn"),
                "ndc": g("ndc"),
                "prod_strength": g("prod_strength"),
                "form_rx": pl.repeat(None, n, dtype=pl.String, eager=True),
                "dose_val_rx": g("dose_val_rx"),
                "dose_unit_rx": g("dose_unit_rx"),
                "form_val_disp": g("form_val_disp"),
                "form_unit_disp": g("form_unit_disp"),
                "doses_per_24_hrs": _col(rx["per_day"], ~np.isnan(rx["per_day"]), pl.Float64),
                "route": g("route"),
            }
        ).sort("subject_id", "starttime", maintain_order=True)

    def pharmacy(self) -> pl.DataFrame:
        rng = self.rng("pharmacy")
        drugs = vocab.table("drugs")
        rx = self.rx
        n = rx["adm"].size
        route = drugs["route"].gather(rx["drug"])
        iv = route.str.starts_with("IV").to_numpy()
        large = (drugs["dose_unit_rx"].gather(rx["drug"]) == "mL").to_numpy()
        proc = np.where(iv, np.where(large, 2, 1), 0)
        at_discharge = rx["stop"] == self.disch[rx["adm"]]
        status = np.where(at_discharge, 0, rng.choice([1, 2, 3], n, p=[0.6, 0.25, 0.15]))
        per_day = np.nan_to_num(rx["per_day"], nan=0).astype(np.int64)
        freq = np.where(per_day > 0, np.minimum(per_day, 4), np.where(rng.random(n) < 0.5, 0, 5))
        enter = rx["start"] - rng.integers(0, 40 * MINUTE, n)
        nulls = pl.repeat(None, n, dtype=pl.String, eager=True)
        nullf = pl.repeat(None, n, dtype=pl.Float64, eager=True)
        return pl.DataFrame(
            {
                **self._adm_cols(rx["adm"]),
                "pharmacy_id": rx["pharmacy_id"],
                "poe_id": rx["poe_id"],
                "starttime": _dt(rx["start"]),
                "stoptime": _dt(rx["stop"]),
                "medication": drugs["drug"].gather(rx["drug"]),
                "proc_type": _pick(("Unit Dose", "IV Piggyback", "IV Large Volume"), proc),
                "status": _pick(
                    (
                        "Discontinued via patient discharge",
                        "Discontinued",
                        "Expired",
                        "Inactive (Due to a change order)",
                    ),
                    status,
                ),
                "entertime": _dt(enter),
                "verifiedtime": _dt(enter + rng.integers(2 * MINUTE, 30 * MINUTE, n)),
                "route": route,
                "frequency": _pick(("PRN", "DAILY", "Q12H", "Q8H", "Q6H", "ONCE"), freq),
                "disp_sched": nulls,
                "infusion_type": _col(np.full(n, "C"), (route == "IV DRIP").to_numpy(), pl.String),
                "sliding_scale": nulls,
                "lockout_interval": nulls,
                "basal_rate": nullf,
                "one_hr_max": nulls,
                "doses_per_24_hrs": _col(rx["per_day"], ~np.isnan(rx["per_day"]), pl.Float64),
                "duration": nullf,
                "duration_interval": pl.repeat("Ongoing", n, eager=True),
                "expiration_value": pl.repeat(None, n, dtype=pl.Int64, eager=True),
                "expiration_unit": nulls,
                "expirationdate": pl.repeat(None, n, dtype=pl.Datetime("us"), eager=True),
                "dispensation": pl.repeat("Omnicell", n, eager=True),
                "fill_quantity": nulls,
            }
        ).sort("subject_id", "starttime", maintain_order=True)

    def emar(self) -> pl.DataFrame:
        """Scheduled administrations of each prescription (PRN ones at random times), numbered per subject."""
        rng = self.rng("emar")
        drugs = vocab.table("drugs")
        rx = self.rx
        per_day = rx["per_day"]
        dur = rx["stop"] - rx["start"]
        scheduled = ~np.isnan(per_day)
        count = np.where(
            scheduled, np.clip(np.floor(np.nan_to_num(per_day) * dur / DAY), 1, 20), rng.poisson(1.0, per_day.size)
        ).astype(np.int64)
        r, j = _segments(count)
        interval = np.where(scheduled, DAY / np.maximum(np.nan_to_num(per_day), 1), 0)[r]
        t = np.where(scheduled[r], rx["start"][r] + j * interval, rx["start"][r] + rng.random(r.size) * dur[r]).astype(
            np.int64
        )
        t = _minute(t + rng.integers(0, 20, r.size) * MINUTE)
        n = r.size
        event = rng.choice(4, n, p=[0.85, 0.07, 0.04, 0.04])
        df = pl.DataFrame(
            {
                **self._adm_cols(rx["adm"][r]),
                "poe_id": rx["poe_id"].gather(r),
                "pharmacy_id": rx["pharmacy_id"][r],
                "enter_provider_id": pl.repeat(None, n, dtype=pl.String, eager=True),
                "charttime": _dt(t),
                "medication": drugs["drug"].gather(rx["drug"][r]),
                "event_txt": _pick(("Administered", "Not Given", "Confirmed", "Flushed"), event),
                "scheduletime": _dt(t - t % HOUR, scheduled[r]),
                "storetime": _dt(t + rng.integers(0, 15, n) * MINUTE),
            }
        ).sort("subject_id", "charttime", maintain_order=True)
        df = df.with_columns(emar_seq=pl.int_range(1, pl.len() + 1).over("subject_id"))
        return df.with_columns(emar_id=pl.format("{}-{}", "subject_id", "emar_seq")).select(TABLES["hosp/emar"])

    def poe(self) -> pl.DataFrame:
        rng = self.rng("poe")
        k = self.poe_rows
        n = k.height
        adm = k["adm"].to_numpy()
        nulls = pl.repeat(None, n, dtype=pl.String, eager=True)
        return pl.DataFrame(
            {
                "poe_id": k["poe_id"],
                "poe_seq": k["poe_seq"],
                **self._adm_cols(adm),
                "ordertime": _dt(k["t"].to_numpy()),
                "order_type": k["order_type"],
                "order_subtype": k["order_subtype"],
                "transaction_type": _pick(("New", "Change", "D/C"), rng.choice(3, n, p=[0.85, 0.08, 0.07])),
                "discontinue_of_poe_id": nulls,
                "discontinued_by_poe_id": nulls,
                "order_provider_id": self._provider(rng, n),
                "order_status": pl.repeat("Inactive", n, eager=True),
            }
        )

    def omr(self) -> pl.DataFrame:
        """Clinic measurements (blood pressure, weight, BMI, height) on visit days; no hadm_id, as in MIMIC."""
        rng = self.rng("omr")
        pat, t = self._outpatient(rng, 4.0, years_before=2)
        v = pat.size
        weight = self.weight_lb[pat] + rng.normal(0, 5, v)
        bmi = 703 * weight / self.height_in[pat] ** 2
        sbp, dbp = np.round(rng.normal(128, 16, v)), np.round(rng.normal(77, 10, v))
        present = rng.random((v, 4)) < np.array([0.9, 0.9, 0.8, 0.35])
        vi, kind = np.nonzero(present)
        values = (
            np.stack(
                [
                    [f"{int(s)}/{int(d)}" for s, d in zip(sbp, dbp, strict=True)],
                    [f"{x:.1f}" for x in weight],
                    [f"{x:.1f}" for x in bmi],
                    [f"{x:.0f}" for x in self.height_in[pat]],
                ],
                axis=1,
            )
            if v
            else np.empty((0, 4), dtype=str)
        )
        names = ("Blood Pressure", "Weight (Lbs)", "BMI (kg/m2)", "Height (Inches)")
        df = pl.DataFrame(
            {
                "subject_id": self.subject[pat[vi]],
                "chartdate": _date(t[vi]),
                "result_name": _pick(names, kind),
                "result_value": pl.Series(values[vi, kind], dtype=pl.String),
            }
        )
        df = df.sort("subject_id", "chartdate", maintain_order=True)
        return df.with_columns(
            seq_num=pl.int_range(1, pl.len() + 1).over("subject_id", "chartdate", "result_name")
        ).select(TABLES["hosp/omr"])

    # -- icu ---------------------------------------------------------------------------------------------------------

    def _stay_cols(self, s: np.ndarray, rng) -> dict:
        a = self.s_adm[s]
        return {
            "subject_id": self.subject[self.pa[a]],
            "hadm_id": self.hadm[a],
            "stay_id": self.s_id[s],
            "caregiver_id": self._caregiver(rng, s.size),
        }

    def icustays(self) -> pl.DataFrame:
        a = self.s_adm
        return pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[a]],
                "hadm_id": self.hadm[a],
                "stay_id": self.s_id,
                "first_careunit": _pick(vocab.ICU_UNITS, self.s_unit),
                "last_careunit": _pick(vocab.ICU_UNITS, self.s_unit),
                "intime": _dt(self.s_in),
                "outtime": _dt(self.s_out),
                "los": (self.s_out - self.s_in) / DAY,
            }
        )

    def chartevents(self) -> pl.DataFrame:
        """Hourly vitals, four-hourly temperature / GCS / rhythm, six-hourly finger-stick glucose, admission weight."""
        rng = self.rng("chartevents")
        num = vocab.table("chart_numeric")
        row = {v: i for i, v in enumerate(num["itemid"].to_list())}
        acu = np.maximum(self.acuity[self.s_adm], 0)
        frames = []

        def numeric(stay, t, itemid, values):
            i = row[itemid]
            v = _round(np.maximum(values, num["floor"][i]), np.full(values.size, num["dec"][i]))
            frames.append(
                pl.DataFrame(
                    {
                        "stay": stay,
                        "t": t,
                        "itemid": np.full(stay.size, itemid),
                        "value": _num_text(v, np.full(v.size, num["dec"][i])),
                        "valuenum": v,
                        "valueuom": pl.repeat(num["valueuom"][i], stay.size, eager=True),
                    }
                )
            )

        def draw(itemid, stay, shift_scale=1.0):
            i = row[itemid]
            z = rng.normal(size=stay.size) + num["shift"][i] * acu[stay] * shift_scale
            return num["mean"][i] + num["sd"][i] * z

        stay, t = _grid(rng, self.s_in, self.s_out, HOUR / self.density)
        numeric(stay, t, 220045, draw(220045, stay))
        sbp = draw(220179, stay)
        dbp = np.minimum(draw(220180, stay), sbp - 15)
        numeric(stay, t, 220179, sbp)
        numeric(stay, t, 220180, dbp)
        numeric(stay, t, 220181, (sbp + 2 * dbp) / 3)
        numeric(stay, t, 220210, draw(220210, stay))
        numeric(stay, t, 220277, np.minimum(draw(220277, stay), 100))

        stay, t = _grid(rng, self.s_in, self.s_out, 4 * HOUR / self.density)
        numeric(stay, t, 223761, draw(223761, stay))
        for itemid, options in vocab.CHART_TEXT.items():
            pick = np.clip(
                np.floor(np.abs(rng.normal(size=stay.size)) * 0.7 + 1.2 * acu[stay] * rng.random(stay.size)),
                0,
                len(options) - 1,
            ).astype(np.int64)
            vn = [o.split("|")[0] for o in options]
            frames.append(
                pl.DataFrame(
                    {
                        "stay": stay,
                        "t": t,
                        "itemid": np.full(stay.size, itemid),
                        "value": _pick([o.split("|")[1] for o in options], pick),
                        "valuenum": _pick([float(x) if x else None for x in vn], pick),
                        "valueuom": pl.repeat(None, stay.size, dtype=pl.String, eager=True),
                    }
                )
            )

        stay, t = _grid(rng, self.s_in, self.s_out, 6 * HOUR / self.density)
        numeric(stay, t, 225664, draw(225664, stay))
        s = np.arange(self.s_id.size)
        frames.append(
            pl.DataFrame(
                {
                    "stay": s,
                    "t": self.s_in + rng.integers(10, 120, s.size) * MINUTE,
                    "itemid": np.full(s.size, 226512),
                    "value": _num_text(self.s_weight_kg, np.ones(s.size)),
                    "valuenum": self.s_weight_kg,
                    "valueuom": pl.repeat("kg", s.size, eager=True),
                }
            )
        )
        ev = pl.concat(frames)
        st, tt = ev["stay"].to_numpy(), _minute(ev["t"].to_numpy())
        df = pl.DataFrame(
            {
                **self._stay_cols(st, rng),
                "charttime": _dt(tt),
                "storetime": _dt(tt + rng.integers(0, 45, st.size) * MINUTE),
                "itemid": ev["itemid"],
                "value": ev["value"],
                "valuenum": ev["valuenum"],
                "valueuom": ev["valueuom"],
                "warning": np.zeros(st.size, np.int64),
            }
        )
        return df.sort("subject_id", "stay_id", "charttime", maintain_order=True)

    def _icu_procedures(self):
        """Lines, ventilation and one-off tasks per ICU stay (procedureevents and the datetimeevents they imply)."""
        rng = self.rng("procedureevents")
        items = vocab.table("procedure_items")
        S = self.s_id.size
        acu = np.maximum(self.acuity[self.s_adm], 0)
        found = []  # (stay, start, end, item) per procedure item
        for i, (kind, p) in enumerate(zip(items["kind"], items["p"], strict=True)):
            if kind == "task":
                s, t = _events(rng, self.s_in, self.s_out, self.density * p)
                e = t
            else:
                prob = _sigmoid(-1.0 + 1.5 * acu) if kind == "vent" else np.full(S, p)
                s = np.flatnonzero(rng.random(S) < prob)
                t = self.s_in[s] + rng.integers(0, 6 * HOUR, s.size)
                e = np.minimum(
                    t + np.exp(np.log(2 * DAY) + 0.6 * rng.normal(size=s.size)).astype(np.int64), self.s_out[s]
                )
                keep = e > t + 10 * MINUTE
                s, t, e = s[keep], t[keep], e[keep]
            found.append((s, _minute(t), _minute(e), np.full(s.size, i)))
        stay, start, end, item = (np.concatenate(c) for c in zip(*found, strict=True))
        self.proc = dict(stay=stay, start=start, end=end, item=item)

    def procedureevents(self) -> pl.DataFrame:
        self._icu_procedures()
        rng = self.rng("procedureevents.rows")
        items = vocab.table("procedure_items")
        p = self.proc
        n = p["stay"].size
        task = (items["kind"].gather(p["item"]) == "task").to_numpy()
        value = np.where(task, 1.0, (p["end"] - p["start"]) / MINUTE)
        orderid = self.ids.take("orderid", n, rng)
        g = lambda c: items[c].gather(p["item"])  # noqa: E731
        return pl.DataFrame(
            {
                **self._stay_cols(p["stay"], rng),
                "starttime": _dt(p["start"]),
                "endtime": _dt(p["end"]),
                "storetime": _dt(p["end"] + rng.integers(0, 30, n) * MINUTE),
                "itemid": g("itemid"),
                "value": value,
                "valueuom": _pick(("min", "None"), task.astype(np.int64)),
                "location": g("location"),
                "locationcategory": g("locationcategory"),
                "orderid": orderid,
                "linkorderid": orderid,
                "ordercategoryname": g("ordercategoryname"),
                "ordercategorydescription": g("ordercategorydescription"),
                "patientweight": self.s_weight_kg[p["stay"]],
                "isopenbag": (~task).astype(np.int64),
                "continueinnextdept": np.zeros(n, np.int64),
                "statusdescription": pl.repeat("FinishedRunning", n, eager=True),
                "ORIGINALAMOUNT": value,
                "ORIGINALRATE": (~task).astype(np.float64),
            }
        ).sort("subject_id", "stay_id", "starttime", maintain_order=True)

    def datetimeevents(self) -> pl.DataFrame:
        """The insertion date of each line, charted soon after the line went in."""
        rng = self.rng("datetimeevents")
        items = vocab.table("procedure_items")
        p = self.proc
        dt_item = items["datetime_itemid"].gather(p["item"]).to_numpy()
        has = ~np.isnan(dt_item.astype(np.float64))
        stay, start = p["stay"][has], p["start"][has]
        n = stay.size
        chart = _minute(start + rng.integers(10, 180, n) * MINUTE)
        return pl.DataFrame(
            {
                **self._stay_cols(stay, rng),
                "charttime": _dt(chart),
                "storetime": _dt(chart + rng.integers(0, 20, n) * MINUTE),
                "itemid": dt_item[has].astype(np.int64),
                "value": _dt(_day(start)),
                "valueuom": pl.repeat("Date", n, eager=True),
                "warning": np.zeros(n, np.int64),
            }
        ).sort("subject_id", "stay_id", "charttime", maintain_order=True)

    def _inputs(self):
        rng = self.rng("inputevents")
        inp = vocab.table("inputs")
        stay, t = _events(rng, self.s_in, self.s_out, self.density * 8.0)
        n = stay.size
        item = rng.choice(inp.height, n, p=_weights(inp["weight"]))
        drip = (inp["kind"].gather(item) == "drip").to_numpy()
        start = _minute(t)
        end = np.where(
            drip, np.minimum(start + rng.integers(30, 8 * 60, n) * MINUTE, self.s_out[stay]), start + MINUTE
        )
        end = np.maximum(end, start + MINUTE)
        hours = (end - start) / HOUR
        jitter = np.exp(rng.normal(0, 0.35, n))
        rate = inp["rate"].to_numpy()[item] * jitter
        amount = np.where(drip, inp["amount"].to_numpy()[item] * jitter * hours, inp["amount"].to_numpy()[item])
        # The water given with each input: its own volume for mL items, the carrier volume of drips.
        ml = (inp["amountuom"].gather(item) == "ml").to_numpy()
        water = np.where(ml, amount, np.where(drip, rng.uniform(5, 30, n) * hours, 0.0))
        self.inp = dict(
            stay=stay,
            item=item,
            drip=drip,
            start=start,
            end=end,
            rate=np.round(rate, 6),
            amount=np.round(amount, 6),
            water=np.round(water, 4),
            orderid=self.ids.take("orderid", n, rng),
            status=np.where(drip & (rng.random(n) < 0.25), 1, 0),
            store=start + rng.integers(0, 30, n) * MINUTE,
        )

    def inputevents(self) -> pl.DataFrame:
        self._inputs()
        rng = self.rng("inputevents.rows")
        inp = vocab.table("inputs")
        x = self.inp
        n = x["stay"].size
        g = lambda c: inp[c].gather(x["item"])  # noqa: E731
        drip = x["drip"]
        total = np.where(rng.random(n) < 0.5, 100.0, 250.0)
        return pl.DataFrame(
            {
                **self._stay_cols(x["stay"], rng),
                "starttime": _dt(x["start"]),
                "endtime": _dt(x["end"]),
                "storetime": _dt(x["store"]),
                "itemid": g("itemid"),
                "amount": x["amount"],
                "amountuom": g("amountuom"),
                "rate": _col(x["rate"], drip, pl.Float64),
                "rateuom": _col(g("rateuom"), drip),
                "orderid": x["orderid"],
                "linkorderid": x["orderid"],
                "ordercategoryname": g("ordercategoryname"),
                "secondaryordercategoryname": g("secondaryordercategoryname"),
                "ordercomponenttypedescription": g("ordercomponenttypedescription"),
                "ordercategorydescription": g("ordercategorydescription"),
                "patientweight": self.s_weight_kg[x["stay"]],
                "totalamount": _col(total, drip, pl.Float64),
                "totalamountuom": _col(np.full(n, "ml"), drip, pl.String),
                "isopenbag": np.zeros(n, np.int64),
                "continueinnextdept": np.zeros(n, np.int64),
                "statusdescription": _pick(("FinishedRunning", "ChangeDose/Rate"), x["status"]),
                "originalamount": x["amount"],
                "originalrate": np.where(drip, x["rate"], x["amount"]),
            }
        ).sort("subject_id", "stay_id", "starttime", maintain_order=True)

    def ingredientevents(self) -> pl.DataFrame:
        rng = self.rng("ingredientevents")
        x = self.inp
        has = x["water"] > 0
        stay = x["stay"][has]
        n = stay.size
        hours = (x["end"][has] - x["start"][has]) / HOUR
        drip = x["drip"][has]
        rate = np.round(x["water"][has] / np.maximum(hours, 1 / 60), 4)
        return pl.DataFrame(
            {
                **self._stay_cols(stay, rng),
                "starttime": _dt(x["start"][has]),
                "endtime": _dt(x["end"][has]),
                "storetime": _dt(x["store"][has]),
                "itemid": np.full(n, 220490),
                "amount": x["water"][has],
                "amountuom": pl.repeat("ml", n, eager=True),
                "rate": _col(rate, drip, pl.Float64),
                "rateuom": _col(np.full(n, "mL/hour"), drip, pl.String),
                "orderid": x["orderid"][has],
                "linkorderid": x["orderid"][has],
                "statusdescription": _pick(("FinishedRunning", "ChangeDose/Rate"), x["status"][has]),
                "originalamount": np.zeros(n),
                "originalrate": np.where(drip, rate, x["water"][has]),
            }
        ).sort("subject_id", "stay_id", "starttime", maintain_order=True)

    def outputevents(self) -> pl.DataFrame:
        """Urine (Foley hourly, or voids every 4 h) and, for some stays, a chest tube every 4 h."""
        rng = self.rng("outputevents")
        S = self.s_id.size
        acu = np.maximum(self.acuity[self.s_adm], 0)
        foley = rng.random(S) < 0.75
        chest = rng.random(S) < 0.15
        frames = []
        for itemid, mask, every, median in (
            (226559, foley, HOUR, 70),
            (226560, ~foley, 4 * HOUR, 250),
            (226588, chest, 4 * HOUR, 30),
        ):
            idx = np.flatnonzero(mask)
            w, t = _grid(rng, self.s_in[idx], self.s_out[idx], every / self.density, jitter_s=0)
            stay = idx[w]
            value = np.round(median * np.exp(rng.normal(0, 0.5, stay.size) - 0.3 * acu[stay]))
            t = t - t % HOUR + HOUR
            keep = t < self.s_out[stay]
            frames.append((stay[keep], t[keep], np.full(int(keep.sum()), itemid), value[keep]))
        stay, t, item, value = (np.concatenate(c) for c in zip(*frames, strict=True))
        n = stay.size
        return pl.DataFrame(
            {
                **self._stay_cols(stay, rng),
                "charttime": _dt(t),
                "storetime": _dt(t + rng.integers(-20, 30, n) * MINUTE),
                "itemid": item,
                "value": value,
                "valueuom": pl.repeat("ml", n, eager=True),
            }
        ).sort("subject_id", "stay_id", "charttime", maintain_order=True)

    # -- ed ----------------------------------------------------------------------------------------------------------

    def _ed_stays(self):
        """ED visits that led to an admission, plus ED-only visits (hadm_id null) before an admission; some of those
        come back within three days, as the ED reattendance task needs."""
        rng = self.rng("edstays")
        linked = np.flatnonzero(self.via_ed)
        A = self.pa.size
        n_extra = rng.poisson(0.35, A)
        before, _ = _segments(n_extra)  # an ED-only visit some time before admission `before`
        soon = rng.random(before.size) < 0.3
        anchor = np.where(self.via_ed, self.edreg, self.admit)[before]
        dur = rng.integers(2 * HOUR, 9 * HOUR, before.size)
        gap = np.where(
            soon, rng.integers(10 * HOUR, 60 * HOUR, before.size), rng.integers(4 * DAY, 300 * DAY, before.size)
        )
        intime = _minute(anchor - gap - dur)
        ok = (intime > self.prev_disch[before] + 6 * HOUR) & (intime + dur < anchor - HOUR)
        before, intime, dur = before[ok], intime[ok], dur[ok]
        adm = np.concatenate([linked, before])
        is_linked = np.arange(adm.size) < linked.size
        e_in = np.concatenate([self.edreg[linked], intime])
        e_out = np.concatenate([self.edout[linked], intime + dur])
        order = np.lexsort((e_in, self.pa[adm]))
        self.ed = dict(
            adm=adm[order],
            linked=is_linked[order],
            intime=e_in[order],
            outtime=_minute(e_out[order]),
            stay_id=self.ids.take("ed_stay", adm.size, rng),
        )
        n = adm.size
        self.ed["complaint"] = np.where(
            self.ed["linked"], self.complaint[self.ed["adm"]], rng.integers(0, len(vocab.CHIEF_COMPLAINTS), n)
        )

    def edstays(self) -> pl.DataFrame:
        self._ed_stays()
        rng = self.rng("edstays.rows")
        e = self.ed
        n = e["adm"].size
        pat = self.pa[e["adm"]]
        disp = np.where(e["linked"], 0, 1 + rng.integers(0, len(vocab.ED_DISPOSITIONS), n))
        return pl.DataFrame(
            {
                "subject_id": self.subject[pat],
                "hadm_id": _col(self.hadm[e["adm"]], e["linked"], pl.Int64),
                "stay_id": e["stay_id"],
                "intime": _dt(e["intime"]),
                "outtime": _dt(e["outtime"]),
                "gender": _pick(["M", "F"], self.female[pat].astype(np.int64)),
                "race": _pick(vocab.RACES, self.race[pat]),
                "arrival_transport": _pick(vocab.ARRIVAL, rng.integers(0, len(vocab.ARRIVAL), n)),
                "disposition": _pick(("ADMITTED", *vocab.ED_DISPOSITIONS), disp),
            }
        )

    def _ed_vitals(self, rng, adm: np.ndarray) -> dict:
        n = adm.size
        acu = np.maximum(self.acuity[adm], 0)
        return {
            "temperature": np.round(rng.normal(98.2, 0.8, n) + 0.8 * acu * rng.random(n), 1),
            "heartrate": np.round(rng.normal(86, 15, n) + 10 * acu),
            "resprate": np.round(rng.normal(18, 2.5, n) + 2 * acu),
            "o2sat": np.minimum(np.round(rng.normal(97.5, 1.8, n) - 1.5 * acu), 100),
            "sbp": np.round(rng.normal(136, 22, n) - 8 * acu),
            "dbp": np.round(rng.normal(77, 13, n) - 4 * acu),
        }

    def triage(self) -> pl.DataFrame:
        rng = self.rng("triage")
        e = self.ed
        n = e["adm"].size
        pain = rng.integers(0, 12, n)
        acuity = np.clip(np.round(3 - 0.8 * self.acuity[e["adm"]] + rng.normal(0, 0.6, n)), 1, 5)
        return pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[e["adm"]]],
                "stay_id": e["stay_id"],
                **self._ed_vitals(rng, e["adm"]),
                "pain": _pick([str(i) for i in range(11)] + ["UTA"], pain),
                "acuity": acuity,
                "chiefcomplaint": _pick(vocab.CHIEF_COMPLAINTS, e["complaint"]),
            }
        )

    def vitalsign(self) -> pl.DataFrame:
        rng = self.rng("vitalsign")
        e = self.ed
        s, t = _grid(rng, e["intime"] + 30 * MINUTE, e["outtime"], 90 * MINUTE / self.density, jitter_s=30 * MINUTE)
        n = s.size
        return pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[e["adm"][s]]],
                "stay_id": e["stay_id"][s],
                "charttime": _dt(_minute(t)),
                **self._ed_vitals(rng, e["adm"][s]),
                "rhythm": _col(np.full(n, "Sinus Rhythm"), rng.random(n) < 0.1, pl.String),
                "pain": _pick([str(i) for i in range(11)], rng.integers(0, 11, n)),
            }
        )

    def diagnosis(self) -> pl.DataFrame:
        """One to three ED diagnoses; an admitted visit's first one is the admission's primary diagnosis."""
        rng = self.rng("diagnosis")
        dx = vocab.table("diagnoses")
        e = self.ed
        version = np.where(self.icd10[e["adm"]], 10, 9)
        frames = []
        for v in (9, 10):
            idx = np.flatnonzero(version == v)
            pool = np.flatnonzero(dx["icd_version"].to_numpy() == v)
            prim_pool = np.flatnonzero((dx["icd_version"].to_numpy() == v) & (dx["primary"].to_numpy() == 1))
            first = np.where(
                e["linked"][idx], self.primary_dx[e["adm"][idx]], prim_pool[rng.integers(0, prim_pool.size, idx.size)]
            )
            r, c, rank = _sample_sets(rng, _zipf(pool.size), rng.integers(0, 3, idx.size))
            frames.append(pl.DataFrame({"ed": idx, "dx": first, "seq_num": np.ones(idx.size, np.int64)}))
            frames.append(pl.DataFrame({"ed": idx[r], "dx": pool[c], "seq_num": rank + 2}))
        d = pl.concat(frames).unique(["ed", "dx"], keep="first", maintain_order=True).sort("ed", "seq_num")
        d = d.with_columns(seq_num=pl.int_range(1, pl.len() + 1).over("ed"))
        ed, i = d["ed"].to_numpy(), d["dx"].to_numpy()
        return pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[e["adm"][ed]]],
                "stay_id": e["stay_id"][ed],
                "seq_num": d["seq_num"],
                "icd_code": dx["icd_code"].gather(i),
                "icd_version": dx["icd_version"].gather(i),
                "icd_title": dx["long_title"].gather(i).str.to_uppercase(),
            }
        )

    def medrecon(self) -> pl.DataFrame:
        rng = self.rng("medrecon")
        meds = vocab.table("home_meds")
        e = self.ed
        r, c, _ = _sample_sets(rng, _zipf(meds.height, 3), rng.poisson(3, e["adm"].size))
        n = r.size
        t = _minute(e["intime"][r] + rng.integers(15, 90, e["adm"].size)[r] * MINUTE)
        return pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[e["adm"][r]]],
                "stay_id": e["stay_id"][r],
                "charttime": _dt(t),
                "name": meds["name"].gather(c),
                "gsn": meds["gsn"].gather(c),
                "ndc": meds["ndc"].gather(c),
                "etc_rn": np.ones(n, np.int64),
                "etccode": pl.repeat(None, n, dtype=pl.String, eager=True),
                "etcdescription": meds["etcdescription"].gather(c),
            }
        )

    def pyxis(self) -> pl.DataFrame:
        rng = self.rng("pyxis")
        px = vocab.table("pyxis")
        e = self.ed
        s, t = _events(
            rng, e["intime"], e["outtime"], self.density * 2.0 * DAY / np.maximum(e["outtime"] - e["intime"], HOUR)
        )
        med = rng.choice(px.height, s.size, p=_zipf(px.height, 2))
        df = pl.DataFrame(
            {
                "subject_id": self.subject[self.pa[e["adm"][s]]],
                "stay_id": e["stay_id"][s],
                "charttime": _dt(_minute(t)),
                "name": px["name"].gather(med),
                "gsn": px["gsn"].gather(med),
            }
        )
        df = df.sort("subject_id", "stay_id", "charttime", maintain_order=True)
        return df.with_columns(
            med_rn=pl.int_range(1, pl.len() + 1).over("stay_id"), gsn_rn=pl.lit(1, pl.Int64)
        ).select(TABLES["ed/pyxis"])

    # -- note --------------------------------------------------------------------------------------------------------

    def discharge(self) -> pl.DataFrame:
        rng = self.rng("discharge")
        A = self.pa.size
        dx, px_vocab, drugs = vocab.table("diagnoses"), vocab.table("procedures"), vocab.table("drugs")
        titles = dx["long_title"].to_list()
        dx_by_adm = self.dx.group_by("adm", maintain_order=True).agg("dx")
        dx_lists = dict(zip(dx_by_adm["adm"].to_list(), dx_by_adm["dx"].to_list(), strict=True))
        px_titles = px_vocab.select(pl.format("{}|{}", "icd_code", "icd_version"), "long_title")
        px_map = dict(zip(*px_titles.to_dict(as_series=False).values(), strict=True))
        px_lists: dict[int, list[str]] = {}
        if self.px.height:
            hadm_to_adm = {h: i for i, h in enumerate(self.hadm.tolist())}
            for h, code, ver in self.px.select("hadm_id", "icd_code", "icd_version").iter_rows():
                px_lists.setdefault(hadm_to_adm[h], []).append(px_map[f"{code}|{ver}"])
        rx_lists: dict[int, list[str]] = {}  # discharge medications: the admission's non-IV drugs, first use first
        names, routes = drugs["drug"].to_list(), drugs["route"].to_list()
        for a, d in zip(self.rx["adm"].tolist(), self.rx["drug"].tolist(), strict=True):
            lst = rx_lists.setdefault(a, [])
            if not routes[d].startswith("IV") and names[d] not in lst:
                lst.append(names[d])
        dispositions = np.array(["Home", "Home With Service", "Extended Care"])[rng.integers(0, 3, A)]
        texts = []
        for a in range(A):
            p = self.pa[a]
            codes = dx_lists[a]
            texts.append(
                _discharge_text(
                    sex="F" if self.female[p] else "M",
                    age=int(self.age[a]),
                    service=vocab.SERVICE_NAMES[vocab.SERVICES[self.service[a]]],
                    complaint=vocab.CHIEF_COMPLAINTS[self.complaint[a]],
                    primary=titles[codes[0]],
                    secondary=[titles[c] for c in codes[1:]],
                    procedures=px_lists.get(a, []),
                    drugs=rx_lists.get(a, []),
                    died=bool(self.died[a]),
                    disposition=str(dispositions[a]),
                    allergy=bool(rng.random() < 0.25),
                )
            )
        seq = self.k + 1
        note_id = [f"{s}-DS-{q}" for s, q in zip(self.subject[self.pa].tolist(), seq.tolist(), strict=True)]
        return pl.DataFrame(
            {
                "note_id": note_id,
                **self._adm_cols(np.arange(A)),
                "note_type": pl.repeat("DS", A, eager=True),
                "note_seq": seq,
                "charttime": _dt(_day(self.disch)),
                "storetime": _dt(_minute(self.disch + rng.integers(1 * HOUR, 30 * HOUR, A))),
                "text": texts,
            }
        )

    def discharge_detail(self, discharge: pl.DataFrame) -> pl.DataFrame:
        return discharge.select("note_id", "subject_id").with_columns(
            field_name=pl.lit("author"), field_value=pl.lit("___"), field_ordinal=pl.lit(1, pl.Int64)
        )

    def radiology(self) -> pl.DataFrame:
        rng = self.rng("radiology")
        exams = vocab.table("radiology_exams")
        days = (self.disch - self.admit) / DAY
        rate = self.density * (0.4 + 0.8 * self.icu) / np.maximum(days, 0.5)
        adm, t = _events(rng, self.admit, self.disch, rate)
        op_pat, op_t = self._outpatient(rng, 0.5)
        inpatient = np.concatenate([np.ones(adm.size, bool), np.zeros(op_pat.size, bool)])
        pat = np.concatenate([self.pa[adm], op_pat])
        adm_all = np.concatenate([adm, np.zeros(op_pat.size, np.int64)])
        t = _minute(np.concatenate([t, op_t]))
        n = t.size
        w = exams["weight"].to_numpy()
        exam = rng.choice(exams.height, n, p=_weights(w))
        acu = np.where(inpatient, np.maximum(self.acuity[adm_all], 0), 0)
        abnormal = rng.random(n) < _sigmoid(-1.0 + 1.2 * acu)
        region, name = exams["region"].to_list(), exams["exam_name"].to_list()
        finding_pick = rng.random(n)
        indication = rng.integers(0, len(vocab.CHIEF_COMPLAINTS), n)
        texts = []
        for j in range(n):
            findings = vocab.RADIOLOGY_FINDINGS[region[exam[j]]]
            f, imp = findings[0] if not abnormal[j] else findings[1 + int(finding_pick[j] * (len(findings) - 1))]
            texts.append(
                _radiology_text(
                    name[exam[j]],
                    "woman" if self.female[pat[j]] else "man",
                    vocab.CHIEF_COMPLAINTS[indication[j]],
                    f,
                    imp,
                )
            )
        df = pl.DataFrame(
            {
                "subject_id": self.subject[pat],
                "hadm_id": _col(self.hadm[adm_all], inpatient, pl.Int64),
                "note_type": pl.repeat("RR", n, eager=True),
                "charttime": _dt(t),
                "storetime": _dt(t + rng.integers(30, 360, n) * MINUTE),
                "text": texts,
                "exam": exam,
            }
        ).sort("subject_id", "charttime", maintain_order=True)
        df = df.with_columns(note_seq=pl.int_range(1, pl.len() + 1).over("subject_id"))
        self.rad = df.with_columns(note_id=pl.format("{}-RR-{}", "subject_id", "note_seq"))
        return self.rad.select(TABLES["note/radiology"])

    def radiology_detail(self) -> pl.DataFrame:
        exams = vocab.table("radiology_exams")
        r = self.rad.select("note_id", "subject_id", "exam")
        fields = [("exam_code", "exam_code"), ("exam_name", "exam_name"), ("cpt_code", "cpt_code")]
        frames = [
            r.select(
                "note_id",
                "subject_id",
                field_name=pl.lit(name),
                field_value=exams[col].gather(r["exam"].to_numpy()),
                field_ordinal=pl.lit(1, pl.Int64),
            )
            for name, col in fields
        ]
        return pl.concat(frames).sort("subject_id", "note_id", maintain_order=True)

    # -- all tables of the chunk -------------------------------------------------------------------------------------

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


def _complaints(dx: pl.DataFrame) -> list[str]:
    """The ED chief complaint that goes with each diagnosis when it is the reason for admission."""
    keywords = [
        ("sepsis", "Fever"),
        ("septicemia", "Fever"),
        ("pneumonia", "Cough"),
        ("pneumonitis", "Dyspnea"),
        ("respiratory failure", "Dyspnea"),
        ("heart failure", "Dyspnea"),
        ("infarction", "Chest pain"),
        ("chest pain", "Chest pain"),
        ("hemorrhage", "Altered mental status"),
        ("kidney", "Abnormal labs"),
        ("urinary", "Fever"),
        ("fracture", "s/p Fall"),
    ]
    out = []
    for title in dx["long_title"].str.to_lowercase().to_list():
        out.append(next((c for k, c in keywords if k in title), "Weakness"))
    return out


def _discharge_text(
    *, sex, age, service, complaint, primary, secondary, procedures, drugs, died, disposition, allergy
) -> str:
    """A discharge summary in MIMIC-IV-Note's layout (section headers, ``___`` for removed identifiers)."""
    pronoun = "Ms." if sex == "F" else "Mr."
    history = ", ".join(s.lower() for s in secondary[:4]) or "no significant past medical history"
    meds = "\n".join(f"{i}. {d}" for i, d in enumerate(drugs[:8], 1)) or "None"
    course = f"# {primary}\nManaged with {', '.join(drugs[:3]) or 'supportive care'}."
    for s in secondary[:2]:
        course += f"\n\n# {s}\nStable; home regimen continued."
    return (
        f" \nName:  ___                     Unit No:   ___\n \nAdmission Date:  ___              Discharge Date:   ___\n"
        f" \nDate of Birth:  ___             Sex:   {sex}\n \nService: {service}\n \nAllergies: \n"
        f"{'Penicillins' if allergy else 'No Known Allergies / Adverse Drug Reactions'}\n \nAttending: ___.\n"
        f" \nChief Complaint:\n{complaint}\n \nMajor Surgical or Invasive Procedure:\n"
        f"{chr(10).join(procedures) or 'None'}\n \n \nHistory of Present Illness:\n"
        f"{pronoun} ___ is a {age} year old {'woman' if sex == 'F' else 'man'} with {history} who presents with "
        f"{complaint.lower()}.\n \nPast Medical History:\n{chr(10).join('- ' + s for s in secondary) or 'None'}\n"
        f" \nBrief Hospital Course:\n{course}\n \n"
        + (
            f"Discharge Disposition:\nExpired\n \nDischarge Diagnosis:\n{primary}\n \nDischarge Condition:\nExpired\n"
            if died
            else f"Medications on Admission:\nThe Preadmission Medication list is accurate and complete.\n \n"
            f"Discharge Medications:\n{meds}\n \nDischarge Disposition:\n{disposition}\n \nDischarge Diagnosis:\n"
            f"Primary: {primary}\nSecondary: {'; '.join(secondary[:5]) or 'None'}\n \nDischarge Condition:\n"
            "Mental Status: Clear and coherent.\nLevel of Consciousness: Alert and interactive.\n"
            "Activity Status: Ambulatory - Independent.\n \nDischarge Instructions:\n"
            f"Dear {pronoun} ___,\nYou were admitted to the hospital for {primary.lower()}. Please take your medications "
            "as prescribed and keep your follow-up appointments.\n \nFollowup Instructions:\n___\n"
        )
    )


def _radiology_text(exam: str, person: str, indication: str, findings: str, impression: str) -> str:
    return (
        f"EXAMINATION:  {exam}\n\nINDICATION:  ___ year old {person} with {indication.lower()}.  // Evaluate.\n\n"
        f"TECHNIQUE:  Standard protocol.\n\nCOMPARISON:  ___\n\nFINDINGS: \n\n{findings}\n\nIMPRESSION: \n\n"
        f"{impression}\n"
    )


# ------------------------------------------------------------------------------------------------------ dictionaries


def _dictionaries(providers: pl.Series, caregivers: pl.Series) -> dict[str, pl.DataFrame]:
    labs, dx, px = vocab.table("labs"), vocab.table("diagnoses"), vocab.table("procedures")
    return {
        "hosp/provider": providers.to_frame(),
        "hosp/d_labitems": labs.select(TABLES["hosp/d_labitems"]),
        "hosp/d_icd_diagnoses": dx.select(TABLES["hosp/d_icd_diagnoses"]),
        "hosp/d_icd_procedures": px.select(TABLES["hosp/d_icd_procedures"]),
        "hosp/d_hcpcs": vocab.table("hcpcs").select(TABLES["hosp/d_hcpcs"]),
        "icu/d_items": vocab.table("icu_items").select(TABLES["icu/d_items"]),
        "icu/caregiver": caregivers.to_frame(),
    }


# ------------------------------------------------------------------------------------------------------------ writer


class _CsvSink:
    """One output table, appended chunk by chunk; gzip with a fixed header (no name, mtime 0) so output is
    byte-for-byte reproducible."""

    def __init__(self, path: Path, columns: tuple[str, ...], compresslevel: int | None):
        self.path, self.columns, self.rows = path, columns, 0
        self._raw = open(path, "wb")  # noqa: SIM115
        self._out = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=compresslevel)
            if compresslevel
            else self._raw
        )
        self._header = True

    def write(self, df: pl.DataFrame):
        if list(df.columns) != list(self.columns):
            df = df.select(self.columns)
        buf = io.BytesIO()
        df.write_csv(buf, include_header=self._header, datetime_format=DATETIME_FORMAT, date_format="%Y-%m-%d")
        self._out.write(buf.getvalue())
        self._header = False
        self.rows += df.height

    def close(self):
        if self._header:  # a table with no rows still gets its header, as MIMIC's empty tables do
            self.write(pl.DataFrame(schema=dict.fromkeys(self.columns, pl.String)))
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def _parts(cfg: SynthConfig) -> Iterator[list[tuple[str, pl.DataFrame]]]:
    """The ``(module/table, frame)`` pairs of each chunk of patients, chunk by chunk, then the dictionary tables."""
    ids = _Ids()
    providers, caregivers = _pools(cfg.seed)
    for index, first in enumerate(range(0, cfg.patients, CHUNK_PATIENTS)):
        chunk = _Chunk(cfg, index, min(CHUNK_PATIENTS, cfg.patients - first), ids, providers, caregivers)
        yield list(chunk.tables())
    yield [
        (name, df) for name, df in _dictionaries(providers, caregivers).items() if name.split("/")[0] in cfg.modules
    ]


def generate(cfg: SynthConfig) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yield ``(module/table, frame)`` for every chunk, then the dictionary tables. Tables repeat across chunks."""
    for part in _parts(cfg):
        yield from part


def generate_tables(cfg: SynthConfig) -> dict[str, pl.DataFrame]:
    """All tables in memory (for tests and small configs): ``{"hosp/admissions": frame, ...}``."""
    parts: dict[str, list[pl.DataFrame]] = {}
    for name, df in generate(cfg):
        parts.setdefault(name, []).append(df.select(TABLES[name]))
    return {name: pl.concat(frames) for name, frames in parts.items()}


def _write_atc_index(folder: Path) -> None:
    """NDC → drug class for the generator's drugs, in the reference's ``d_atc_prescriptions.csv`` layout."""
    drugs = (
        vocab.table("drugs")
        .select("drug", "ndc")
        .with_columns(atc_name=pl.col("drug").replace_strict(vocab.DRUG_CLASSES))
    )
    home = vocab.table("home_meds").select(ndc="ndc", atc_name=pl.col("etcdescription"))
    table = pl.concat([drugs.select("ndc", "atc_name"), home]).unique("ndc", keep="first").sort("ndc")
    folder.mkdir()
    table.rename({"ndc": "ndc_code"}).write_csv(folder / "d_atc_prescriptions.csv")


def write_synthetic_mimic(
    out_dir: str | os.PathLike,
    cfg: SynthConfig = SynthConfig(),
    compression: str = "gzip",
    compresslevel: int = 1,
    overwrite: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic MIMIC-IV folder (``hosp/``, ``icu/``, ``ed/``, ``note/``) and return rows per table.

    Args:
        out_dir: the folder to create; it appears whole or not at all.
        cfg: what to generate.
        compression: ``"gzip"`` writes ``<table>.csv.gz`` as PhysioNet does; ``"none"`` writes plain ``<table>.csv``.
        compresslevel: gzip level 1-9; 1 (the default) compresses about three times faster than 6, files about 35 % larger.
        overwrite: replace an existing ``out_dir``; otherwise an existing folder is an error.
        workers: threads that format and compress tables in parallel (default: up to 8, one per CPU).
        progress: called as ``progress(chunks_done, chunks_total)``.
    """
    if compression not in ("gzip", "none"):
        raise EhrR1Error(f"compression must be 'gzip' or 'none', got {compression!r}")
    if not 1 <= compresslevel <= 9:
        raise EhrR1Error(f"compresslevel must be 1-9, got {compresslevel}")
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise EhrR1Error(f"{out}: already exists (pass overwrite=True / --overwrite to replace it)")
    suffix = ".csv.gz" if compression == "gzip" else ".csv"
    workers = workers or min(8, os.cpu_count() or 1)
    n_chunks = -(-cfg.patients // CHUNK_PATIENTS)
    with atomic_output_dir(out) as tmp, concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for m in cfg.modules:
            (tmp / m).mkdir()
        _write_atc_index(tmp / "index_mapping")
        sinks = {
            t: _CsvSink(tmp / f"{t}{suffix}", TABLES[t], compresslevel if compression == "gzip" else None)
            for t in cfg.tables()
        }
        try:
            pending: dict[str, concurrent.futures.Future] = {}
            for done, part in enumerate(_parts(cfg)):
                if progress and done:
                    progress(done, n_chunks)
                for name, df in part:
                    # One write in flight per table keeps each file's chunks in order; tables compress in parallel
                    # with each other and with the generation of the next chunk.
                    if name in pending:
                        pending[name].result()
                    pending[name] = pool.submit(sinks[name].write, df)
            for f in pending.values():
                f.result()
        finally:
            for sink in sinks.values():
                sink.close()
        rows = {t: s.rows for t, s in sinks.items()}
        manifest = {
            "generator": f"ehr-r1 {__version__} synth-mimic",
            "synthetic": True,
            "config": dataclasses.asdict(cfg),
            "compression": compression,
            "layout": "MIMIC-IV v2.2 hosp/icu, MIMIC-IV-ED v2.2, MIMIC-IV-Note v2.2",
            "rows": rows,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return rows

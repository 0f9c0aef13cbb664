# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The skeleton every synthetic table hangs off: patients, their admissions (timeline, latent acuity, death), ICU
stays and coded diagnoses, one chunk at a time; plus the id counters and the provider / caregiver pools that all
chunks share."""

import zlib
from typing import ClassVar

import numpy as np
import polars as pl

from ehr_r1.synth import config, vocab
from ehr_r1.synth.arrays import _col, _events, _minute, _pick, _sample_sets, _segments, _sigmoid, _weights, _zipf
from ehr_r1.synth.config import (
    _EPOCH_2000,
    DAY,
    FIRST_SUBJECT_ID,
    HOUR,
    MAX_ADMISSIONS,
    MINUTE,
    SynthConfig,
)


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


class _Population:
    """One block of patients: who they are, their admissions, ICU stays and diagnoses, and the random streams the
    tables of the block draw from. The table mixins (hosp, medications, icu, ed, note) build on it."""

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
        # config.CHUNK_PATIENTS is read at call time (not imported) so that tests can shrink the chunks.
        first = FIRST_SUBJECT_ID + self.index * config.CHUNK_PATIENTS + 1
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

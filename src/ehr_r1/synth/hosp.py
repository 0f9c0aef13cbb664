# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The MIMIC-IV ``hosp`` tables of a chunk (the medication chain is in :mod:`ehr_r1.synth.medications`)."""

import numpy as np
import polars as pl

from ehr_r1.synth import vocab
from ehr_r1.synth.arrays import (
    _col,
    _date,
    _day,
    _dt,
    _events,
    _minute,
    _num_text,
    _pick,
    _round,
    _sample_sets,
    _segments,
    _weights,
    _zipf,
)
from ehr_r1.synth.config import DAY, HOUR, MINUTE, TABLES
from ehr_r1.synth.population import _Population


class _HospTables(_Population):
    """patients, admissions, transfers, services, coded diagnoses / procedures / HCPCS / DRGs, labs, microbiology
    and outpatient measurements (omr)."""

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

    def _ed_only_panels(self, ed_types: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(patient, time, panel type) of the first lab draws of ED visits that led to no admission: drawn in the ED
        as for admitted visits, with no hadm_id, as MIMIC-IV records them."""
        if not hasattr(self, "ed"):
            self._ed_stays()
        rng = self.rng("labevents.ed_only")
        only = ~self.ed["linked"]
        t = self.ed["intime"][only] + rng.integers(20 * MINUTE, 90 * MINUTE, int(only.sum()))
        n = ed_types.size
        return np.repeat(self.pa[self.ed["adm"][only]], n), np.repeat(t, n), np.tile(ed_types, int(only.sum()))

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
        eo_pat, eo_t, eo_types = self._ed_only_panels(np.flatnonzero(panels["ed"].to_numpy() > 0))

        kinds = ("ward", "icu", "ed", "outpatient")
        ptype = np.empty(adm.size, np.int64)
        for j in (0, 1):
            m = kind == j
            ptype[m] = rng.choice(panels.height, int(m.sum()), p=_weights(panels[kinds[j]]))
        ed_types = np.tile(np.flatnonzero(panels["ed"].to_numpy() > 0), int(self.via_ed.sum()))
        op_types = rng.choice(panels.height, op_pat.size, p=_weights(panels["outpatient"]))

        p_adm = np.concatenate([adm, ed_adm, np.full(op_pat.size + eo_pat.size, -1)])
        p_pat = np.concatenate([self.pa[adm], self.pa[ed_adm], op_pat, eo_pat])
        p_t = _minute(np.concatenate([t, ed_t, op_t, eo_t]))
        p_type = np.concatenate([ptype, ed_types, op_types, eo_types])
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

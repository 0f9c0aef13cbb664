# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The MIMIC-IV-ED tables of a chunk: ED visits (admitted or ED-only) and their triage, vitals, diagnoses and
medications."""

import numpy as np
import polars as pl

from ehr_r1.synth import vocab
from ehr_r1.synth.arrays import _col, _dt, _events, _grid, _minute, _pick, _sample_sets, _segments, _zipf
from ehr_r1.synth.config import DAY, HOUR, MINUTE, TABLES
from ehr_r1.synth.population import _Population


class _EdTables(_Population):
    """edstays, triage, vitalsign, diagnosis, medrecon, pyxis."""

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
        if not hasattr(self, "ed"):  # labevents draws the ED-only visits' labs from the same visits
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

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The medication chain of ``hosp``: prescriptions, pharmacy, eMAR and the POE orders, linked by ``pharmacy_id``
and ``poe_id``."""

import numpy as np
import polars as pl

from ehr_r1.synth import vocab
from ehr_r1.synth.arrays import _col, _dt, _events, _minute, _pick, _segments, _weights, _zipf
from ehr_r1.synth.config import DAY, HOUR, MINUTE, TABLES
from ehr_r1.synth.population import _Population


class _MedicationTables(_Population):
    """prescriptions, pharmacy, emar and poe. poe also orders the inpatient lab panels that labevents drew."""

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

        # POE: one Medications order per prescription, one Lab order per inpatient lab panel (drawn after admission:
        # the ED orders in its own system), and other orders.
        p_adm, p_t = self.lab_panels
        inpatient = (p_adm >= 0) & (p_t >= self.admit[np.maximum(p_adm, 0)])
        lab_adm, lab_t = p_adm[inpatient], p_t[inpatient]
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

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The MIMIC-IV ``icu`` tables of a chunk: ICU stays and what is charted, given and measured during them."""

import numpy as np
import polars as pl

from ehr_r1.synth import vocab
from ehr_r1.synth.arrays import _col, _day, _dt, _events, _grid, _minute, _num_text, _pick, _round, _sigmoid, _weights
from ehr_r1.synth.config import DAY, HOUR, MINUTE
from ehr_r1.synth.population import _Population


class _IcuTables(_Population):
    """icustays, chartevents, procedureevents, datetimeevents, inputevents, ingredientevents, outputevents."""

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

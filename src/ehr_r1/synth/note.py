# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The MIMIC-IV-Note tables of a chunk: discharge summaries and radiology reports, with their detail tables."""

import numpy as np
import polars as pl

from ehr_r1.synth import vocab
from ehr_r1.synth.arrays import _col, _day, _dt, _events, _minute, _sigmoid, _weights
from ehr_r1.synth.config import DAY, HOUR, MINUTE, TABLES
from ehr_r1.synth.population import _Population


class _NoteTables(_Population):
    """discharge, discharge_detail, radiology, radiology_detail. discharge reads the diagnoses, procedures and
    prescriptions of the hosp tables."""

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

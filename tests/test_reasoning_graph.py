# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Concepts, co-occurrence statistics and knowledge paths of ``build-reasoning`` (``docs/reasoning.md`` §1)."""

import polars as pl
import pytest
import reasoning_helpers

from ehr_r1.errors import InputError
from ehr_r1.reasoning import concepts as C
from ehr_r1.reasoning.config import SelectionConfig
from ehr_r1.reasoning.cooccurrence import ConceptIds, sample_pairs, select_pairs, task_statistics
from ehr_r1.reasoning.graph import KnowledgeGraph
from ehr_r1.reasoning.knowledge import open_knowledge
from ehr_r1.reasoning.pipeline import read_ins, read_task, task_concepts
from ehr_r1.reasoning.umls import umls_edges


demo_ins = reasoning_helpers.demo_ins  # the session fixture


INPUT = """## Patient Demographics [None]
- Anchor_Age: 65
- Gender: M



## Admissions [2148-09-14 14:19:00]
- Admission_Type: URGENT
- Admission_Location: PHYSICIAN REFERRAL

## Labotary Test Events [2148-09-14 15:00:00]
| Item_Name | Valuenum | Valueuom | Ref_Range_Lower | Ref_Range_Upper | Flag | Comments |
| ------ | ------ | ------ | ------ | ------ | ------ | ------ |
| Creatinine | 2.1 | mg/dL | 0.5 | 1.2 | abnormal | nan |
| nan | 1 | x | 1 | 1 | nan | nan |
| Potassium | 5.9 | mEq/L | 3.3 | 5.1 | abnormal | nan |

## Prescriptions [2148-09-14 17:00:00]
- Drug: Furosemide
- Atc Type: High-ceiling diuretics
- Prod_Strength: 40mg Tablet
- Dose_Val_Rx: 40
- Dose_Unit_Rx: mg

## Radiology Examinations [2148-09-15 09:00:00]
- Note_Type: RR
- Exam_Name: ['CHEST (PA & LAT)', 'CT HEAD W/O CONTRAST']
- Text: Findings suggest heart failure. No pneumonia. Known heart failure with pleural effusion."""


def test_concepts_from_rendered_blocks():
    samples = pl.DataFrame({"row": [0], "input": [INPUT], "output": ["Acute kidney failure\nHyperkalemia"]})
    blocks = C.split_blocks(samples)
    assert blocks["name"].to_list()[:3] == ["Patient Demographics", "Admissions", "Labotary Test Events"]
    assert blocks.filter(pl.col("name") == "Prescriptions")["time"].item() == "2148-09-14 17:00:00"
    vocab = C.text_vocabulary(["Heart failure", "Pleural effusion", "Pneumonia", "fail"])
    found = C.block_concepts(blocks, vocab)
    history = set(C.history_concepts(blocks, found)["concept"])
    assert {"urgent", "creatinine", "potassium", "furosemide", "high-ceiling diuretics"} <= history
    assert {"chest (pa & lat)", "ct head w/o contrast"} <= history  # list repr split into items
    # free text: every vocabulary term, not only the first span ("fail" is not a word of the text: no match)
    assert {"heart failure", "pleural effusion", "pneumonia"} <= history
    assert "fail" not in history and "nan" not in history and "m" not in history  # demographics give no concept
    assert set(C.target_concepts(samples)["concept"]) == {"acute kidney failure", "hyperkalemia"}


def _brute_force(task: pl.DataFrame, targets: pl.DataFrame, history: pl.DataFrame, t: str, h: str) -> tuple:
    tset = targets.group_by("row").agg("concept").to_dict(as_series=False)
    hset = history.group_by("row").agg("concept").to_dict(as_series=False)
    tmap = {r: set(c) for r, c in zip(tset["row"], tset["concept"], strict=True)}
    hmap = {r: set(c) for r, c in zip(hset["row"], hset["concept"], strict=True)}
    rows = range(task.height)
    union = {r: tmap.get(r, set()) | hmap.get(r, set()) for r in rows}
    n_t = sum(t in union[r] for r in rows)
    n_h = sum(h in union[r] for r in rows)
    n_th = sum(t in tmap.get(r, set()) and h in hmap.get(r, set()) for r in rows)
    return n_th, n_t, n_h, n_th * task.height / (n_t * n_h)


def test_statistics_match_hand_count_on_mimic_demo(demo_ins):
    files = read_ins(demo_ins).tasks["labevents"]
    samples = pl.concat(read_task(files))
    blocks = C.split_blocks(samples)
    history = C.history_concepts(blocks, C.block_concepts(blocks))
    targets = C.target_concepts(samples)
    ids = ConceptIds()
    t_ids, h_ids = ids.encode(targets), ids.encode(history)
    stats = task_statistics("labevents", samples.height, t_ids, h_ids, ids)
    assert stats["N"].unique().to_list() == [samples.height]
    checked = stats.sort("n_th", "target", "history", descending=[True, False, False]).head(3)
    checked = pl.concat([checked, stats.filter(pl.col("n_h") < 5).sort("target", "history").head(2)])
    for row in checked.iter_rows(named=True):
        n_th, n_t, n_h, lift = _brute_force(samples, targets, history, row["target"], row["history"])
        assert (row["n_th"], row["n_t"], row["n_h"]) == (n_th, n_t, n_h)
        assert row["lift"] == pytest.approx(lift)
    # reading in batches of 7 rows gives the same statistics as the whole task at once
    batched = task_concepts("labevents", read_task(files, batch_rows=7), C.text_vocabulary([])).statistics()
    key = ["target", "history"]
    assert batched.sort(key).equals(stats.sort(key))

    cfg = SelectionConfig(min_support=5, lift_threshold=1.0, top_k=20)
    selected = select_pairs(stats, cfg)
    rare = stats.filter((pl.col("n_h") < 5) & (pl.col("lift") > 1.0))
    assert rare.height > 0  # a concept under the support threshold ...
    assert rare.join(selected, on=["target", "history"], how="semi").is_empty()  # ... is dropped
    assert selected["n_h"].min() >= 5 and selected["lift"].min() > 1.0
    assert selected.group_by("target").len()["len"].max() <= 20
    top = selected.filter(pl.col("rank") == 1).head(1)
    best = stats.filter((pl.col("target") == top["target"]) & (pl.col("n_h") >= 5) & (pl.col("lift") > 1.0))
    assert top["lift"].item() == best["lift"].max()
    pairs = sample_pairs(selected, t_ids, h_ids, ids, "labevents")
    one = pairs.row(0, named=True)
    assert one["target"] in set(targets.filter(pl.col("row") == one["row"])["concept"])
    assert one["history"] in set(history.filter(pl.col("row") == one["row"])["concept"])


@pytest.fixture(scope="module")
def open_graph(tmp_path_factory, ethos_mappings):
    return open_knowledge(str(ethos_mappings), None, str(tmp_path_factory.mktemp("kg")))


def test_icd10_pair_has_expected_is_a_path(open_graph):
    kg = KnowledgeGraph(open_graph)
    pairs = pl.DataFrame(
        {
            "target": ["hypertensive heart disease with heart failure", "furosemide"],
            "history": ["essential (primary) hypertension", "torsemide"],
            "lift": [7.0, 9.0],
        }
    )
    paths = kg.paths(pairs).sort("target")
    drug, icd = paths.row(0, named=True), paths.row(1, named=True)
    assert icd["path_source"] == "knowledge" and icd["hops"] == 3
    assert icd["rendered"] == (
        "Essential (primary) hypertension --is_a--> Hypertensive diseases (I10-I1A) <--is_a-- Hypertensive heart "
        "disease <--is_a-- Hypertensive heart disease with heart failure"
    )
    assert icd["path"][:3] == ["Essential (primary) hypertension", "is_a", "Hypertensive diseases (I10-I1A)"]
    assert icd["path"][3] == "^is_a"
    assert drug["rendered"] == "Torsemide --is_a--> torasemide --is_a--> sulfonamides, plain <--is_a-- furosemide"
    # a pair with no knowledge path keeps its co-occurrence edge, spelled as the data spells it
    none = kg.paths(
        pl.DataFrame({"target": ["blue top hold"], "history": ["spinal tap"], "lift": [6.25]}),
        names=pl.DataFrame({"concept": ["blue top hold", "spinal tap"], "name": ["Blue Top Hold", "Spinal tap"]}),
    )
    assert none.row(0, named=True)["rendered"] == "Spinal tap --co_occurs_with--> Blue Top Hold (lift 6.2)"


def _rrf(path, rows):
    path.write_text("".join("|".join(r) + "|\n" for r in rows))


def test_umls_loader_and_inverse_rule(tmp_path):
    conso = [  # CUI|LAT|TS|LUI|STT|SUI|ISPREF|AUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF
        ["C1", "ENG", "P", "L1", "PF", "S1", "Y", "A1", "", "", "", "MSH", "PT", "D1", "Heart failure", "0", "N", ""],
        [
            "C1",
            "ENG",
            "S",
            "L2",
            "VO",
            "S2",
            "N",
            "A2",
            "",
            "",
            "",
            "MSH",
            "SY",
            "D1",
            "Cardiac failure",
            "0",
            "N",
            "",
        ],
        ["C2", "ENG", "P", "L3", "PF", "S3", "Y", "A3", "", "", "", "MSH", "PT", "D2", "Heart disease", "0", "N", ""],
        ["C3", "ENG", "P", "L4", "PF", "S4", "Y", "A4", "", "", "", "MSH", "PT", "D3", "Cardiomyopathy", "0", "N", ""],
        ["C4", "ENG", "P", "L5", "PF", "S5", "Y", "A5", "", "", "", "MSH", "PT", "D4", "Furosemide", "0", "N", ""],
    ]
    rel = [  # CUI1|AUI1|STYPE1|REL|CUI2|AUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|RG|DIR|SUPPRESS|CVF
        ["C1", "A1", "CUI", "PAR", "C2", "A3", "CUI", "isa", "R1", "", "MSH", "MSH", "", "", "N", ""],
        ["C2", "A3", "CUI", "CHD", "C1", "A1", "CUI", "inverse_isa", "R2", "", "MSH", "MSH", "", "", "N", ""],
        ["C3", "A4", "CUI", "PAR", "C2", "A3", "CUI", "isa", "R3", "", "MSH", "MSH", "", "", "N", ""],
        ["C2", "A3", "CUI", "CHD", "C3", "A4", "CUI", "inverse_isa", "R4", "", "MSH", "MSH", "", "", "N", ""],
        ["C4", "A5", "CUI", "RO", "C1", "A1", "CUI", "may_treat", "R5", "", "MSH", "MSH", "", "", "N", ""],
        ["C1", "A1", "CUI", "RO", "C4", "A5", "CUI", "may_be_treated_by", "R6", "", "MSH", "MSH", "", "", "N", ""],
        [
            "C4",
            "A5",
            "CUI",
            "RO",
            "C3",
            "A4",
            "CUI",
            "Has contraindicated drug",
            "R7",
            "",
            "MSH",
            "MSH",
            "",
            "",
            "N",
            "",
        ],
    ]
    _rrf(tmp_path / "MRCONSO.RRF", conso)
    with pytest.raises(InputError, match="MRREL.RRF"):
        umls_edges(tmp_path)
    _rrf(tmp_path / "MRREL.RRF", rel)
    edges, inverse = umls_edges(tmp_path)
    assert inverse["isa"] == "inverse_isa" and inverse["may_treat"] == "may_be_treated_by"
    assert not edges["rel"].is_in(["Has contraindicated drug"]).any()  # the reference's relation filter
    assert edges.filter(pl.col("rel") == "synonym").row(0, named=True)["src"] == "Cardiac failure"
    kg = KnowledgeGraph(edges, inverse)
    pairs = pl.DataFrame(
        {
            "target": ["cardiomyopathy", "furosemide"],
            "history": ["cardiac failure", "cardiac failure"],
            "lift": [6.0, 8.0],
        }
    )
    paths = kg.paths(pairs, max_length=10).sort("target")
    # Heart failure isa Heart disease inverse_isa Cardiomyopathy: relation then inverse -> dropped, no other path
    assert paths.row(0, named=True)["path_source"] == "co-occurrence"
    treat = paths.row(1, named=True)
    assert treat["path_source"] == "knowledge"
    assert treat["path"] == ["Cardiac failure", "synonym", "Heart failure", "may_be_treated_by", "Furosemide"]

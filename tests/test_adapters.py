# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHRSHOT and MIMIC-IV-CDM adapters: fixtures in the releases' layouts → EHR-Bench folders → ``ehr-r1 eval``."""

import json
import re
from pathlib import Path

import polars as pl
import pytest
from fixtures_cdm import CASES, write_cdm
from openai_server import OpenAIServer

from ehr_r1 import cli
from ehr_r1.adapters.cdm import INSTRUCTION, CdmConfig, adapt_cdm
from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.bench import load_bench
from ehr_r1.evaluation.cdm import cdm_accuracy, score_cdm_diagnosis
from ehr_r1.prompting import gold_items, parse_items, set_prf


ADAPT_HELP = {
    "adapt-cdm": "MIMIC-IV-Ext-CDM (Hager et al.) -> an EHR-Bench folder scored with cdm_diagnosis.",
    "adapt-ehrshot": "EHRSHOT (MEDS release + labels) -> an EHR-Bench folder of its 14 binary tasks.",
}


@pytest.fixture
def commands(monkeypatch):
    """``ehr-r1 adapt-*`` and ``eval`` through the real console entry point."""
    for name, help_line in ADAPT_HELP.items():
        monkeypatch.setitem(cli.COMMANDS, name, ("ehr_r1.commands.adapt", help_line))
    return cli.main


# ------------------------------------------------------------------------------------------------------- CDM
def test_cdm_metric_accuracy_and_set_f1():
    assert cdm_accuracy("<think>appendicitis?</think>\nAcute cholecystitis", "appendicitis") == 0.0
    assert cdm_accuracy("<think>x</think>\nACUTE APPENDICITIS, perforated", "appendicitis") == 1.0
    preds = ["Acute appendicitis without mention of peritonitis\nSepsis", "Cholelithiasis", None]
    refs = ["Acute appendicitis without mention of peritonitis\nHypertension NOS"] * 3
    task = score_cdm_diagnosis(preds, refs, "appendicitis", n_resamples=50)
    assert task.extra["accuracy"] == pytest.approx(1 / 3)
    assert task.score == pytest.approx((0.5 + 0 + 0) / 3)  # set F1 of 1 shared item of 2 vs 2, then nothing
    assert task.extra["accuracy_ci_low"] <= task.extra["accuracy"] <= task.extra["accuracy_ci_high"]


def test_cdm_folder_layout_and_input_sections(tmp_path):
    cdm = write_cdm(tmp_path / "cdm", gz=True)
    manifest = adapt_cdm(CdmConfig(str(cdm), str(tmp_path / "bench")))
    assert manifest["command"] == "adapt-cdm" and manifest["metric"] == "cdm_diagnosis"
    assert manifest["counts"] == {f"cdm_{p}": 3 for p in CASES}
    bench = load_bench(tmp_path / "bench")
    assert bench.tasks == sorted(f"cdm_{p}" for p in CASES)
    sample = next(s for s in bench.samples if s.task == "cdm_pancreatitis")
    assert sample.task_type == "decision_making" and sample.instruction == INSTRUCTION and sample.candidates == []
    assert gold_items(sample.output) == CASES["pancreatitis"][0]
    blocks = sample.input.split("\n\n")
    assert blocks[0].startswith("## Patient Demographics\n- Patient History: ___ y/o with ")
    assert "- Physical Examination: VS: T 38.1" in blocks[0]
    labs = blocks[1].splitlines()
    assert labs[:2] == [
        "## Labotary Test Events",
        "| Item_name | Valuenum | Valueuom | Ref_range_lower | Ref_range_upper |",
    ]
    assert "| WBC | 9.5 | K/uL | 4.0 | 11.0 |" in labs  # named by lab_test_mapping.csv, value split from its unit
    assert (
        blocks[2].startswith("## Microbiology Test Events\n| Item_name | Valuestr |\n")
        and "| 90201 | NO GROWTH |" in blocks[2]
    )
    radiology = blocks[3].splitlines()
    assert radiology[0] == "## Radiology Examinations" and len(radiology) == 4  # one report: one row, on one line
    assert "findings \\| consistent with pancreatitis." in radiology[3]
    troponin = [s.input for s in bench.samples if "| 51003 |" in s.input]
    assert troponin and all("| 51003 | <0.01 ng/mL |" in text for text in troponin)  # unnamed, not a number: as given
    card = (tmp_path / "bench" / "README.md").read_text()
    assert "credentialed" in card and "cdm_pancreatitis" in card


def test_cdm_scored_end_to_end_by_a_model(tmp_path, commands):
    """A scripted model behind a real OpenAI-compatible server: it names the pathology for all but pancreatitis."""
    cdm = write_cdm(tmp_path / "cdm")
    bench, out = tmp_path / "bench", tmp_path / "run"
    assert commands(["adapt-cdm", "--cdm-dir", str(cdm), "--output", str(bench)]) == 0

    answers = {finding: titles[0] for titles, finding in CASES.values()}
    answers["peripancreatic fat stranding"] = "Cholelithiasis"

    def respond(request) -> str:
        guess = next(a for finding, a in answers.items() if finding in request.user)
        return f"<think>\nthe CT shows it\n</think>\n\n{guess}\nHypertension NOS"

    with OpenAIServer(respond) as server:
        args = ["eval", "--backend", "openai", "--base-url", server.url, "--model", "fake", "--bench", str(bench),
                "--output", str(out), "--max-new-tokens", "64", "--n-resamples", "100"]  # fmt: skip
        assert commands(args) == 0
    results = json.loads((out / "results.json").read_text())
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    for pathology in CASES:
        entry = results["tasks"][f"cdm_{pathology}"]
        mine = [r for r in records if r["task"] == f"cdm_{pathology}"]
        f1 = [set_prf(parse_items(r["prediction"]), gold_items(r["gold"]))[2] for r in mine]
        assert entry["score"] == pytest.approx(sum(f1) / len(f1)) and entry["metric"] == "f1"
        assert entry["accuracy"] == (0.0 if pathology == "pancreatitis" else 1.0)
    assert results["aggregates"]["decision_making"]["n_tasks"] == 4


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "pathology_ids.json").unlink(), r"pathology_ids\.json: file not found"),
        (lambda d: (d / "pathology_ids.json").write_text('{"gastritis": [1]}'), "unknown pathology 'gastritis'"),
        (lambda d: (d / "icd_diagnosis.csv").write_text("hadm_id,title\n1,x\n"), r"icd_diagnosis\.csv \(column 'icd_diagnosis'\)"),
        (lambda d: (d / "laboratory_tests.csv").write_text("hadm_id,itemid,valuestr,ref_range_lower,ref_range_upper\nabc,1,2,,\n"),
         r"laboratory_tests\.csv \(column 'hadm_id'\): hadm_id must be an integer"),
        (lambda d: (d / "radiology_reports.csv").unlink(), r"radiology_reports\.csv: file not found"),
    ],
)  # fmt: skip
def test_cdm_bad_input_is_one_named_line_with_no_output(tmp_path, commands, capsys, damage, message):
    cdm = write_cdm(tmp_path / "cdm", per_pathology=1)
    damage(cdm)
    out = tmp_path / "bench"
    assert commands(["adapt-cdm", "--cdm-dir", str(cdm), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and re.search(message, err), err
    assert not out.exists()


def test_cdm_options(tmp_path):
    cdm = write_cdm(tmp_path / "cdm")
    manifest = adapt_cdm(CdmConfig(str(cdm), str(tmp_path / "b"), pathologies=["appendicitis"], max_per_task=2))
    assert manifest["counts"] == {"cdm_appendicitis": 2}
    with pytest.raises(EhrR1Error, match="unknown 'gastritis'"):
        CdmConfig(str(cdm), str(tmp_path / "c"), pathologies=["gastritis"])
    with pytest.raises(EhrR1Error, match="choose another"):
        adapt_cdm(CdmConfig(str(cdm), str(cdm / "inside")))


# --------------------------------------------------------------------------------------------------- EHRSHOT
@pytest.fixture(scope="module")
def ehrshot_bench(tmp_path_factory) -> tuple[Path, Path]:
    from fixtures_ehrshot import write_ehrshot

    from ehr_r1.adapters.ehrshot import EhrshotConfig, adapt_ehrshot

    root = tmp_path_factory.mktemp("ehrshot")
    release = write_ehrshot(root / "EHRSHOT_MEDS")
    adapt_ehrshot(EhrshotConfig(str(release), str(root / "bench")))
    return release, root / "bench"


def test_ehrshot_tasks_labels_and_context_cut(ehrshot_bench):
    from fixtures_ehrshot import AFTER_VALUE, N_SUBJECTS, N_TRAIN, label_value

    from ehr_r1.adapters.ehrshot import OUTCOMES, TASKS

    _, bench_dir = ehrshot_bench
    bench = load_bench(bench_dir)
    assert len(TASKS) == 14 and "chexpert" not in TASKS and bench.tasks == list(TASKS)
    rows = pl.read_parquet(bench_dir / "data" / "risk_prediction" / "*" / "*.parquet")
    assert set(rows["subject_id"]) == set(range(1, N_SUBJECTS - N_TRAIN + 1))  # held_out patients only
    for s in bench.samples:
        assert s.task_type == "risk_prediction" and s.candidates == ["yes", "no"]
        assert s.instruction.endswith(OUTCOMES[s.task])
        assert "LOINC/718-7" in s.input and str(AFTER_VALUE) not in s.input  # cut at the prediction time
    by_key = {
        (r["task"], r["subject_id"]): r["output"] for r in rows.select("task", "subject_id", "output").to_dicts()
    }
    for (task, subject), output in by_key.items():
        value = label_value(task, subject)
        expected = value == 0 if task.startswith("lab_") else bool(value)  # lab class 0 (normal) is "yes"
        assert output == ("yes" if expected else "no"), (task, subject)
    manifest = json.loads((bench_dir / "manifest.json").read_text())
    assert manifest["command"] == "adapt-ehrshot" and manifest["ehrshot_split"] == "held_out"


def test_ehrshot_scored_end_to_end(ehrshot_bench, tmp_path, commands):
    _, bench = ehrshot_bench
    out = tmp_path / "run"
    assert (
        commands(["eval", "--baseline", "logreg", "--bench", str(bench), "--output", str(out), "--n-resamples", "50"])
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert results["aggregates"]["risk_prediction"]["n_tasks"] == 14
    assert all(entry["metric"] == "auroc" and entry["n"] == 6 for entry in results["tasks"].values())


def test_ehrshot_original_csv_labels_give_the_same_bench(ehrshot_bench, tmp_path, commands):
    from fixtures_ehrshot import write_ehrshot

    release = write_ehrshot(tmp_path / "EHRSHOT", csv_labels=True)
    assert commands(["adapt-ehrshot", "--ehrshot-dir", str(release), "--output", str(tmp_path / "bench")]) == 0
    ours = pl.read_parquet(tmp_path / "bench" / "data" / "*" / "*" / "*.parquet").drop("input", "task_info")
    reference = pl.read_parquet(ehrshot_bench[1] / "data" / "*" / "*" / "*.parquet").drop("input", "task_info")
    assert ours.sort("idx").equals(reference.sort("idx"))


def test_ehrshot_label_for_a_subject_not_in_the_data_is_a_named_error(tmp_path, commands, capsys):
    from fixtures_ehrshot import write_ehrshot

    release = write_ehrshot(tmp_path / "EHRSHOT", extra_label_subject=4242)
    out = tmp_path / "bench"
    assert commands(["adapt-ehrshot", "--ehrshot-dir", str(release), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "guo_los/labels.parquet (column 'subject_id'): label for subject 4242" in err
    assert not out.exists()
    assert commands(["adapt-ehrshot", "--ehrshot-dir", str(release), "--output", str(out), "--tasks", "nope"]) == 2
    assert "unknown EHRSHOT task 'nope'" in capsys.readouterr().err

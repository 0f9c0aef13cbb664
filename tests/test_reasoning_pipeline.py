# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 build-reasoning`` end to end with the offline template teacher; filter cases; bad input."""

import json
import shutil

import polars as pl
import pytest
import reasoning_helpers
from reasoning_helpers import MIMIC_CODE, ehr_r1

from ehr_r1 import cli, layout
from ehr_r1.cli_args import parse_config
from ehr_r1.reasoning.config import FilterConfig
from ehr_r1.reasoning.filter import judge


demo_ins = reasoning_helpers.demo_ins  # the session fixture


@pytest.fixture(scope="module")
def maps(ethos_mappings) -> list:
    return ["--atc-map", ethos_mappings, "--concept-maps", MIMIC_CODE]


@pytest.fixture(scope="module")
def template_out(demo_ins, maps, tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "reasoning"
    cache = tmp_path_factory.mktemp("kg")
    assert ehr_r1("build-reasoning", "--ins", demo_ins, "--output", out, *maps, "--cache-dir", cache) == 0
    return out


def test_template_teacher_output_folder(template_out, demo_ins):
    rows = pl.read_parquet(template_out / layout.config_file("reasoning", "train"))
    samples = pl.read_parquet(template_out / layout.config_file("samples", "train"))
    manifest = layout.read_manifest(template_out)
    assert rows.height == manifest["kept"] > 20 and samples.height == manifest["samples"]
    assert set(rows["task"]) <= set(samples["task"]) and "next_event" not in set(samples["task"])
    r = rows.row(0, named=True)
    system, user, assistant = r["messages"]
    assert system["content"] == "You are a helpful assistant." and user["content"].endswith(
        f"\n{r['instruction']}\n/think"
    )
    assert assistant["content"] == f"<think>\n{r['reasoning']}\n</think>\n\n{r['output']}"
    assert r["reasoning"].startswith("## Extraction\n**") and "## Final Results" in r["reasoning"]
    assert all(p in r["reasoning"] for p in r["graph_paths"])  # Reasoning states the relation paths
    assert r["verdicts"] == ["pass"] and r["recall"][0] >= 0.7
    dropped = samples.filter(~pl.col("kept"))
    assert set(dropped["drop_reason"]) <= {"low_recall"}
    counts = manifest["counts"]
    assert sum(c["kept"] for c in counts.values()) == rows.height
    assert all(c["samples"] == c["with_graph"] + c["dropped"]["no_graph"] for c in counts.values())
    assert {s["source"] for s in manifest["knowledge"]} >= {"icd10cm", "ccs", "atc", "mimic-code", "co-occurrence"}
    assert manifest["teacher"] == {"kind": "template", "url": None, "model": "template", "variant": "graph",
                                   "requests": samples.height, "sent": 0, "failed": 0, "cached": 0}  # fmt: skip
    assert set(manifest["input"]["fingerprints"]) == {
        str(p.relative_to(demo_ins)) for p in layout.sample_files(demo_ins) if "decision_making" in p.parts
    }
    meta, ins_meta = layout.read_card_metadata(template_out), layout.read_card_metadata(demo_ins)
    assert meta["gated"] is True and meta["license"] == ins_meta["license"]  # the MIMIC gate is carried over
    assert meta["configs"][0] == layout.config_entry("reasoning", "train") | {"default": True}
    assert "knowledge-path baseline" in (template_out / layout.CARD).read_text()
    lines = (template_out / "reasoning.jsonl").read_text().splitlines()
    assert [json.loads(x)["idx"] for x in lines] == rows["idx"].to_list()


def test_template_is_deterministic(template_out, demo_ins, maps, tmp_path):
    again = tmp_path / "again"
    assert ehr_r1("build-reasoning", "--ins", demo_ins, "--output", again, *maps, "--cache-dir", tmp_path / "kg") == 0
    for name in ("reasoning.jsonl", layout.config_file("samples", "train")):
        assert (again / name).read_bytes() == (template_out / name).read_bytes()


def test_build_ins_consumes_reasoning_jsonl(template_out, mimic_demo, ethos_mappings, tmp_path):
    out = tmp_path / "ins-r"
    rc = ehr_r1("build-ins", "--mimic-dir", mimic_demo, "--output", out, "--atc-map", ethos_mappings,
                "--max-per-task", "50", "--reasoning-file", template_out / "reasoning.jsonl", "--no-think-share",
                "0.25")  # fmt: skip
    assert rc == 0
    mixed = pl.read_parquet(layout.config_files(out, "reasoning"))
    chains = {json.loads(x)["idx"]: json.loads(x)["reasoning"] for x in (template_out / "reasoning.jsonl").open()}
    think = mixed.filter(pl.col("messages").list.get(1).struct.field("content").str.ends_with("/think"))
    assert think.height == len(chains) == mixed["think"].sum()
    assert mixed.height - think.height == round(len(chains) * 0.25 / 0.75)  # the /no_think share of the config
    one = think.row(0, named=True)
    assert one["messages"][2]["content"].startswith(f"<think>\n{chains[one['idx']]}\n</think>\n\n")


def test_filter_cases():
    gold = ["Acute kidney failure", "Hyperkalemia", "Sepsis"]
    good = "## Extraction\nx\n## Reasoning\ny\n## Final Results\nacute kidney failure\nHyperkalemia\nSepsis"
    texts = {
        "pass": good,
        "two_of_three": good.replace("\nSepsis", ""),  # 67 % < 70 %
        "missing_sections": good.replace("## Reasoning", "Reasoning"),
        "leak": good.replace("y\n", "According to the ground truth, y\n"),
        "early_mention": "## Extraction\nSepsis Hyperkalemia Acute kidney failure\n## Reasoning\ny\n## Final Results\nSepsis",
    }
    frame = pl.DataFrame({"cid": range(len(texts)), "text": list(texts.values()), "gold": [gold] * len(texts)})
    out = dict(zip(texts, judge(frame, FilterConfig()).sort("cid")["verdict"], strict=True))
    assert out == {"pass": "pass", "two_of_three": "low_recall", "missing_sections": "missing_sections",
                   "leak": "leak", "early_mention": "low_recall"}  # fmt: skip
    lenient = judge(frame, FilterConfig(min_recall=0.6)).sort("cid")["verdict"].to_list()
    assert lenient[1] == "pass"
    free = pl.DataFrame({"cid": [0], "text": ["x. Therefore, the answer is: Sepsis; Hyperkalemia; acute kidney failure"],
                         "gold": [gold]})  # fmt: skip
    assert judge(free, FilterConfig(), "free")["verdict"].item() == "pass"


def test_bad_inputs_are_one_line_errors(demo_ins, tmp_path, capsys):
    out = tmp_path / "out"

    def error(*args, output=out) -> str:
        assert ehr_r1("build-reasoning", "--output", output, *args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        return err

    assert f"{tmp_path / 'nope'}: EHR-Ins folder not found" in error("--ins", tmp_path / "nope")
    broken = tmp_path / "broken"
    shutil.copytree(demo_ins, broken)
    (broken / layout.MANIFEST).unlink()
    assert f"{broken}: not a built dataset (manifest.json not found)" in error("--ins", broken)
    manifest = layout.read_manifest(demo_ins)
    (broken / layout.MANIFEST).write_text(json.dumps(manifest | {"dataset": "ehr-bench"}))
    assert "a built ehr-bench, not EHR-Ins" in error("--ins", broken)
    shutil.copy(demo_ins / layout.MANIFEST, broken / layout.MANIFEST)
    task_file = broken / layout.task_file("decision_making", "labevents", "train")
    pl.read_parquet(task_file).drop("output").write_parquet(task_file)
    assert f"{task_file} (column 'output'): missing column" in error("--ins", broken, "--tasks", "labevents")
    assert "no decision-making task 'labs'" in error("--ins", demo_ins, "--tasks", "labevents,labs")
    (tmp_path / "umls").mkdir()
    assert "MRCONSO.RRF: UMLS file not found" in error("--ins", demo_ins, "--umls-dir", tmp_path / "umls")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert "an existing folder that ehr-r1 did not write" in error("--ins", demo_ins, output=foreign)
    assert (foreign / "notes.txt").read_text() == "mine"
    assert "lies inside the input" in error("--ins", demo_ins, output=demo_ins / "reasoning")
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))  # no partial output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--teacher-url", "http://127.0.0.1:9/v1"], "--teacher-model is required with --teacher-url"),
        (["--teacher", "template", "--teacher-url", "http://x/v1"], "--teacher template is the offline baseline"),
        (["--teacher", "openai"], "--teacher openai needs --teacher-url URL"),
        (["--teacher-model", "m"], "--teacher-model needs an OpenAI-compatible teacher"),
        (["--variant", "free"], "--variant free needs --teacher-url"),
        (["--teacher-url", "127.0.0.1:8000", "--teacher-model", "m"], "--teacher-url must be an http(s) URL"),
        (["--max-samples", "0"], "--max-samples must be >= 1, got 0"),
        (["--min-recall", "1.5"], "--min-recall must be in [0, 1], got 1.5"),
        (["--min-support", "0"], "--min-support must be >= 1, got 0"),
        (["--teacher-url", "http://x/v1", "--teacher-model", "m", "--concurrency", "0"], "--concurrency must be >= 1"),
        (["--max-failed-fraction", "2"], "--max-failed-fraction must be in [0, 1]"),
    ],
)
def test_bad_options_are_one_line_errors_before_any_work(capsys, tmp_path, args, message):
    assert ehr_r1("build-reasoning", "--ins", tmp_path / "ins", "--output", tmp_path / "out", *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


def test_options_from_a_config_file(tmp_path):
    path = tmp_path / "reasoning.yaml"
    path.write_text(
        "ins: ehr-ins\noutput: out\nmax-samples: 100\ntasks: labevents,diagnoses_icd\nmin_support: 3\n"
        "teacher: {url: 'http://127.0.0.1:8000/v1', model: Qwen/Qwen3-32B, n: 2}\nfilter: {min_recall: 0.5}\n"
    )
    args = cli.build_parser(["build-reasoning"]).parse_args(["build-reasoning", "--config", str(path), "--seed", "7"])
    config = parse_config(args._config_class, args)
    assert (config.ins, config.output, config.max_samples, config.seed) == ("ehr-ins", "out", 100, 7)
    assert config.tasks == ("labevents", "diagnoses_icd") and config.selection.min_support == 3
    assert (config.teacher.url, config.teacher.model, config.teacher.n) == (
        "http://127.0.0.1:8000/v1",
        "Qwen/Qwen3-32B",
        2,
    )
    assert not config.teacher.offline and config.teacher.seed == 7 and config.filter.min_recall == 0.5

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The evaluation protocol (``ehr-r1 eval --protocol official|plain``): what each sends, what results.json records,
the exact token counts truncation relies on, and how released-JSONL samples get their task names."""

import json
from pathlib import Path

import polars as pl
import pytest
from openai_server import OpenAIServer
from test_eval import _eval, _input, _read_predictions, _rows, bench_responder

from ehr_r1.evaluation.bench import load_bench
from ehr_r1.tasks.catalogue import ALL_TASKS, BENCH_DECISION_TASKS, RISK_TASKS


# The lines of the released test.py with --prompt, written out here by hand (its DECISION_MAKING_PROMPT has a literal
# backslash-n between backticks).
CANDIDATE_LINE = "You should choose the item from the candidate list below. Candidate List: {}."
DM_NOTE = (
    "Note that you should directly output the answer without any other information. If there are several items in "
    "the prediction, please separate them by `" + "\\" + "n`. For all predicted items, please use the item name "
    "instead of the item code. Do not output the code like ICD10 or ICD9."
)
RISK_NOTE = (
    "Note that you should directly output the answer without any other information. You can only choose one answer "
    "from the Candidate List."
)
LAB_CANDIDATES = ["Hemoglobin", "Crohn's disease", "Potassium"]  # an apostrophe: Python's repr switches quotes
MORTALITY = ALL_TASKS["Inpatient_Mortality"].instruction


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _protocol_bench(path: Path) -> Path:
    """The fixture bench as JSONL, with candidates for labevents (none for services, yes/no for risk)."""
    rows = []
    for row in _rows():
        if row["task"] in ("labevents", "services", "Inpatient_Mortality"):
            row = dict(row, candidates=LAB_CANDIDATES if row["task"] == "labevents" else row["candidates"])
            rows.append(
                {k: row[k] for k in ("idx", "task", "task_type", "instruction", "input", "output", "candidates")}
            )
    return _write_jsonl(path, rows)


def _args(server: OpenAIServer, bench: Path, out: Path, *extra: str) -> list[str]:
    return ["--backend", "openai", "--base-url", server.url, "--model", "fake-model", "--bench", str(bench),
            "--output", str(out), "--max-new-tokens", "32", "--n-resamples", "20", *extra]  # fmt: skip


# ------------------------------------------------------------------------------------------------ what is sent
@pytest.mark.parametrize("protocol", ["official", "plain", None])
def test_prompt_contents_and_think_switch_under_each_protocol(protocol, tmp_path):
    bench = _protocol_bench(tmp_path / "bench.jsonl")
    rows = {r["idx"]: r for r in map(json.loads, bench.read_text().splitlines())}
    out = tmp_path / "run"
    with OpenAIServer(bench_responder()) as server:
        assert _eval(*_args(server, bench, out, *(["--protocol", protocol] if protocol else []))) == 0
        requests = server.chat_requests
    assert len(requests) == len(rows) == 18
    official = protocol != "plain"  # the default follows the released scripts
    for request in requests:
        user = request.user
        row = next(r for r in rows.values() if user.startswith(f"{r['input']}\n{r['instruction']}\n"))
        risk = row["task_type"] == "risk_prediction"
        if official:
            lines = [row["input"], row["instruction"]]
            if row["task"] == "labevents":
                lines.append(CANDIDATE_LINE.format("['Hemoglobin', \"Crohn's disease\", 'Potassium']"))
            if risk:
                lines.append(CANDIDATE_LINE.format("['yes', 'no']"))
            expected = "\n".join([*lines, RISK_NOTE if risk else DM_NOTE])
        else:
            expected = f"{row['input']}\n{row['instruction']}\n" + ("/no_think" if risk else "/think")
        assert user == expected
        assert request.body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
        # thinking is the template's switch in both protocols: on for decision-making, off for risk
        assert request.body["chat_template_kwargs"] == {"enable_thinking": not risk}
        assert request.body["max_tokens"] == (1 if risk else 32)


def test_results_and_report_record_the_protocol(tmp_path):
    bench = _protocol_bench(tmp_path / "bench.jsonl")
    with OpenAIServer(bench_responder()) as server:
        for protocol in ("official", "plain"):
            out = tmp_path / protocol
            assert _eval(*_args(server, bench, out, "--protocol", protocol)) == 0
            results = json.loads((out / "results.json").read_text())
            assert (
                results["protocol"] == protocol == results["decoding"]["protocol"] == results["settings"]["protocol"]
            )
            assert results["config"]["protocol"] == protocol
            assert ("candidate list (when the sample has one)" in results["decoding"]["prompt"]) == (
                protocol == "official"
            )
            assert f"- protocol: {protocol} (" in (out / "report.md").read_text()
            assert json.loads((out / "run.json").read_text())["identity"]["protocol"] == protocol
        # predictions of one protocol are never resumed under the other
        n_requests = len(server.chat_requests)
        assert _eval(*_args(server, bench, tmp_path / "plain", "--protocol", "official")) == 2
        assert len(server.chat_requests) == n_requests
    out = tmp_path / "baseline"  # baselines read no prompt
    assert _eval("--baseline", "frequency", "--bench", str(bench), "--output", str(out), "--n-resamples", "20") == 0
    assert json.loads((out / "results.json").read_text())["protocol"] is None


def test_bad_protocol_is_refused(tmp_path, capsys):
    bench = _protocol_bench(tmp_path / "bench.jsonl")
    with pytest.raises(SystemExit) as exc:
        _eval("--model", "m", "--bench", str(bench), "--output", str(tmp_path / "o"), "--protocol", "released")
    assert exc.value.code == 2 and "invalid choice: 'released'" in capsys.readouterr().err
    from ehr_r1.errors import EhrR1Error
    from ehr_r1.evaluation.config import EvalConfig

    with pytest.raises(EhrR1Error, match="--protocol must be one of official, plain"):
        EvalConfig(bench="b", output="o", model="m", protocol="released")


# --------------------------------------------------------------------------------------- truncation counts exactly
def _qwen25_like(tokenizer):
    """The tokenizer with a chat template that has no ``enable_thinking`` (as the Qwen2.5-based EHR-R1-72B)."""
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return tokenizer


@pytest.mark.parametrize("protocol", ["official", "plain"])
@pytest.mark.parametrize("template", ["qwen3", "no_enable_thinking"])
def test_truncation_counts_what_is_sent_and_drops_the_fewest_oldest_events(protocol, template, tiny_model_dir):
    from ehr_r1.evaluation.bench import Sample
    from ehr_r1.evaluation.chat import EMPTY_THINK, ChatRenderer, load_tokenizer
    from ehr_r1.evaluation.sample_prompt import chat_of

    tokenizer = load_tokenizer(str(tiny_model_dir))
    if template != "qwen3":
        tokenizer = _qwen25_like(tokenizer)
    renderer = ChatRenderer(tokenizer, max_model_len=520, protocol=protocol)
    assert renderer.append_empty_think == (template != "qwen3")
    samples = [
        Sample("0", "labevents", "decision_making", ALL_TASKS["labevents"].instruction, _input(1, 9), "Hemoglobin",
               LAB_CANDIDATES),
        Sample("1", "Inpatient_Mortality", "risk_prediction", MORTALITY, _input(2, 9), "yes", ["yes", "no"]),
    ]  # fmt: skip
    for sample, new_tokens in zip(samples, (64, 1), strict=True):
        prompt = renderer.messages(sample, new_tokens)
        text = renderer.render(prompt.messages, prompt.think)
        assert text.endswith(EMPTY_THINK) == (template != "qwen3" and not prompt.think)
        # the counter is exact: it counts the rendered prompt, empty think block included
        count = renderer.counter(prompt.think).count_chats([prompt.messages])[0]
        assert count == len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= 520 - new_tokens
        # header, newest event and the protocol's lines survive; the oldest events went, not many more than needed
        events = sample.input.split("\n\n## ")[2:]
        assert 0 < prompt.events_dropped < len(events)
        user = prompt.messages[1]["content"]
        assert "## Patient Demographics" in user and "## Admissions" in user and events[-1] in user
        assert all((f"## {e}" in user) == (k >= prompt.events_dropped) for k, e in enumerate(events))
        assert ("Candidate List: " in user) == (protocol == "official") and user.endswith(
            ("/think", "/no_think") if protocol == "plain" else ("ICD10 or ICD9.", "from the Candidate List.")
        )
        head = sample.input.split("\n\n## ")[:2]
        one_more = "\n\n## ".join([*head, *events[prompt.events_dropped - 1 :]])
        longer = renderer.counter(prompt.think).count_chats([chat_of(sample, prompt.think, protocol)(one_more)])[0]
        # the engine's estimate is an upper bound (exact within 2 % of the budget): one event fewer does not fit it
        assert longer > (520 - new_tokens) * 0.98


# ---------------------------------------------------------------------------------- released JSONL task mapping
def _builder_rows(tasks: list[str]) -> pl.DataFrame:
    """Bench rows for ``tasks`` as the builder makes them (``ehr_r1.rows``), two samples each."""
    from ehr_r1.rows import _columns

    part = pl.DataFrame(
        {
            "task": [t for t in tasks for _ in range(2)],
            "subject_id": [100 + k for k in range(2 * len(tasks))],
            "target_idx": [5] * (2 * len(tasks)),
            "labels": [
                ["yes" if k else "no"] if ALL_TASKS[t].task_type == "risk_prediction" else ["A", "B"][: k + 1]
                for t in tasks
                for k in range(2)
            ],
        }
    )
    return _columns(part).with_columns(
        input=pl.lit(_input(0)),
        candidates=pl.when(pl.col("task_type") == "risk_prediction")
        .then(pl.lit(["yes", "no"]))
        .otherwise(pl.lit(["A", "B", "C"])),
    )


def test_released_jsonl_with_reference_keys_and_no_task_loads_the_44_tasks(tmp_path):
    from ehr_r1.writer import released_jsonl

    bench_tasks = [*BENCH_DECISION_TASKS, *(t.name for t in RISK_TASKS)]
    assert len(bench_tasks) == 44
    rows = _builder_rows(bench_tasks)
    folder = tmp_path / "released"
    folder.mkdir()
    for kind in ("decision_making", "risk_prediction"):
        released_jsonl(rows.filter(pl.col("task_type") == kind), folder / f"ehr_bench_{kind}.jsonl")
    reference_metrics = {"em", "f1", "recall", "precision", "rouge", "acc", "aucroc"}  # what test.py's get_score reads
    for file in folder.glob("*.jsonl"):
        lines = [json.loads(line) for line in file.read_text().splitlines()]
        for line in lines:
            info = line["task_info"]
            assert {"target_key", "event", "metric", "bid_event", "task_type", "instruction", "task", "target",
                    "label"} <= set(info)  # fmt: skip
            assert info["metric"] in reference_metrics and "task" not in line and "task_type" not in line
            del info["task"], info["task_type"]  # the reference's own released files need not carry them
        _write_jsonl(file, lines)
    bench = load_bench(folder)
    assert bench.tasks == sorted(bench_tasks) and len(bench.samples) == 88
    assert all(s.task_type == ALL_TASKS[s.task].task_type for s in bench.samples)
    both = [s for s in bench.samples if s.task in ("Inpatient_Mortality", "ED_Inpatient_Mortality")]
    assert len(both) == 4 and {s.instruction for s in both} == {MORTALITY}


def _risk_row(idx: int, instruction: str, event: str | None, label: str) -> dict:
    info = {"target_key": None, "metric": "aucroc", "bid_event": [], "label": label} | (
        {"event": event} if event else {}
    )
    return {"idx": idx, "instruction": instruction, "input": _input(idx), "output": label, "candidates": ["yes", "no"],
            "task_info": info}  # fmt: skip


def test_shared_instruction_is_told_apart_by_event_and_never_merged(tmp_path, capsys):
    tasks = {  # name: anchor event; three of them have task_info event "admissions"
        "Inpatient_Mortality": "admissions",
        "ED_Inpatient_Mortality": "edstays",
        "LengthOfStay_7day": "admissions",
        "LengthOfStay_3day": "admissions",
    }
    rows = [
        _risk_row(10 * k + i, ALL_TASKS[name].instruction, event, "yes" if i % 2 else "no")
        for k, (name, event) in enumerate(tasks.items())
        for i in range(4)
    ]
    bench = _write_jsonl(tmp_path / "ehr_bench_risk_prediction.jsonl", rows)
    loaded = load_bench(bench)
    assert loaded.tasks == sorted(tasks) and all(s.task_type == "risk_prediction" for s in loaded.samples)
    assert [s.task for s in loaded.samples] == [name for name in tasks for _ in range(4)]
    out = tmp_path / "run"
    assert _eval("--baseline", "logreg", "--bench", str(bench), "--output", str(out), "--n-resamples", "20") == 0
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["tasks"]) == sorted(tasks) and all(e["n"] == 4 for e in results["tasks"].values())
    assert {r["task"] for r in _read_predictions(out).values()} == set(tasks)
    # without an event (or with one that neither has) the pair cannot be told apart: one line naming file and line
    for event in (None, "icustays"):
        bad = _write_jsonl(tmp_path / f"bad-{event}.jsonl", [*rows[:4], _risk_row(99, MORTALITY, event, "no")])
        capsys.readouterr()
        assert _eval("--baseline", "frequency", "--bench", str(bad), "--output", str(tmp_path / "o")) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {bad}:5") and "\n" not in err
        assert "ED_Inpatient_Mortality" in err and "Inpatient_Mortality" in err and "task_info" in err
        assert not (tmp_path / "o" / "results.json").exists()


@pytest.mark.parametrize(
    ("metric", "task_type"),
    [("aucroc", "risk_prediction"), ("auroc", "risk_prediction"), ("em", "decision_making"),
     ("recall", "decision_making"), ("acc", "decision_making")],
)  # fmt: skip
def test_reference_metric_names_give_the_task_type_of_unknown_tasks(metric, task_type, tmp_path):
    """An instruction no catalogue task has falls back to task_info's event and metric (the reference's names)."""
    row = {"idx": 0, "instruction": "Given the record, please predict something new.", "input": _input(0),
           "output": "yes", "candidates": [], "task_info": {"event": "my_task", "metric": metric}}  # fmt: skip
    (sample,) = load_bench(_write_jsonl(tmp_path / "b.jsonl", [row])).samples
    assert (sample.task, sample.task_type) == ("my_task", task_type)
    # a catalogue instruction decides both, whatever the other fields say
    row |= {"instruction": ALL_TASKS["ICU_Readmission"].instruction, "task_info": {"event": "x", "metric": "em"}}
    (sample,) = load_bench(_write_jsonl(tmp_path / "c.jsonl", [row])).samples
    assert (sample.task, sample.task_type) == ("ICU_Readmission", "risk_prediction")

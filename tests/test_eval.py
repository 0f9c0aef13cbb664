# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 eval`` end to end: tiny model on a small bench, OpenAI backend against a local fake server, resume,
baselines and bad input."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openai_server import OpenAIServer, Reply, Request, completion, top_logprobs

from ehr_r1.cli import main
from ehr_r1.prompting import gold_items, parse_items, set_prf


# ------------------------------------------------------------------------------------------------ fixture bench
DM_TASKS = {
    "labevents": (
        "Labotary Test Events",
        ["Hemoglobin", "Potassium", "Sodium", "Creatinine", "Glucose", "Platelet Count"],
    ),
    "services": ("Services", ["MED", "SURG", "CMED", "NSURG"]),
}
RISK_TASKS = {"Inpatient_Mortality": "die during this admission", "LengthOfStay_3day": "stay longer than 3 days"}
N_PER_TASK = 6
INSTRUCTION = "Given the sequence of events that have occurred in a hospital, please "


def _input(i: int, n_events: int = 3) -> str:
    head = [
        f"## Patient Demographics [None]\n- Anchor_Age: {40 + i}\n- Gender: {'MF'[i % 2]}",
        f"## Admissions [2150-01-0{1 + i % 9} 08:00:00]\n- Admission_Type: EW EMER.\n- Admission_Location: EMERGENCY ROOM",
    ]
    events = [
        f"## Labotary Test Events [2150-01-01 {9 + k:02d}:00:00]\n| Item_Name | Valuenum | Valueuom |\n"
        f"| ------ | ------ | ------ |\n| Hemoglobin | {10 + k + i % 3}.1 | g/dL |\n| Potassium | 4.{k} | mEq/L |"
        for k in range(n_events)
    ]
    return "\n\n".join(head + events)


def _rows() -> list[dict]:
    rows = []
    for task, (name, labels) in DM_TASKS.items():
        for i in range(N_PER_TASK):
            gold = sorted({labels[i % len(labels)], labels[(i * 2 + 1) % len(labels)], labels[0]})
            rows.append(
                _row(task, "decision_making", i, f"give the next {name} suggestion for the patients.", gold, [])
            )
    for task, what in RISK_TASKS.items():
        for i in range(N_PER_TASK):
            label = "yes" if i % 2 else "no"
            rows.append(
                _row(task, "risk_prediction", i, f"predict whether the patient will {what}.", label, ["yes", "no"])
            )
    return rows


def _row(task, task_type, i, instruction, gold, candidates) -> dict:
    output = "\n".join(gold) if isinstance(gold, list) else gold
    info = {
        "task": task,
        "task_type": task_type,
        "event": task,
        "target_key": "item_name",
        "metric": "em" if task_type == "decision_making" else "auroc",
        "bid_events": [],
        "labels": gold if isinstance(gold, list) else [gold],
    }
    return {
        "idx": f"{task}-{i}",
        "task": task,
        "task_type": task_type,
        "instruction": INSTRUCTION + instruction,
        "input": _input(i, n_events=3 + i),
        "output": output,
        "candidates": candidates,
        "task_info": info,
        "subject_id": 10000 + i,
        "hadm_id": 20000 + i if i % 3 else None,
    }


def write_fixture_bench(root: Path) -> Path:
    """A small bench in the ``ehr-r1 build-bench`` layout (parquet per task, manifest, dataset card)."""
    rows = _rows()
    fingerprints = {}
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        path = root / "data" / mine[0]["task_type"] / task / "test-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(mine), path)
        fingerprints[task] = f"fp-{task}"
    (root / "manifest.json").write_text(json.dumps({"fingerprints": fingerprints}))
    (root / "README.md").write_text("---\nconfigs:\n- config_name: all\n  data_files: data/*/*/test-*.parquet\n---\n")
    return root


def write_released_jsonl(root: Path) -> Path:
    """The released EHR-Bench JSONL layout: no task / task_type fields, task_info without 'task'."""
    root.mkdir(parents=True, exist_ok=True)
    for kind, name in (
        ("decision_making", "ehr_bench_decision_making.jsonl"),
        ("risk_prediction", "ehr_bench_risk_prediction.jsonl"),
    ):
        with open(root / name, "w") as f:
            for i, r in enumerate(r for r in _rows() if r["task_type"] == kind):
                info = {"target_key": "item_name", "event": r["task"], "metric": r["task_info"]["metric"]}
                line = {k: r[k] for k in ("instruction", "input", "output", "candidates")} | {
                    "idx": i,
                    "task_info": info,
                }
                f.write(json.dumps(line) + "\n")
    return root


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def bench(tmp_path) -> Path:
    return write_fixture_bench(tmp_path / "bench")


def _eval(*args: str) -> int:
    return main(["eval", *args])


def _read_predictions(out: Path) -> dict[str, dict]:
    records = {}
    for line in (out / "predictions.jsonl").read_text().splitlines():
        r = json.loads(line)
        records[f"{r['task']}/{r['idx']}"] = r
    return records


def _check_consistent(out: Path) -> dict:
    """results.json agrees with predictions.jsonl (recomputed here with prompting + sklearn)."""
    from sklearn.metrics import roc_auc_score

    results = json.loads((out / "results.json").read_text())
    everything = list(_read_predictions(out).values())
    records = [r for r in everything if not r.get("error")]  # failed samples have no answer: not scored, counted
    assert results["failures"]["n_failed"] == len(everything) - len(records)
    for task, entry in results["tasks"].items():
        mine = [r for r in records if r["task"] == task]
        assert entry["n"] == len(mine)
        assert entry["n_failed"] == sum(r["task"] == task for r in everything) - len(mine)
        if not mine:
            assert entry["score"] is None
            continue
        if entry["task_type"] == "decision_making":
            f1 = [set_prf(parse_items(r["prediction"] or ""), gold_items(r["gold"]))[2] for r in mine]
            assert entry["score"] == pytest.approx(sum(f1) / len(f1))
            assert entry["n_unparseable"] == sum(not parse_items(r["prediction"] or "") for r in mine)
        else:
            labels = [int(r["gold"] == "yes") for r in mine]
            scores = [r["p_yes"] if r["p_yes"] is not None else 1.0 - y for r, y in zip(mine, labels, strict=True)]
            if len(set(labels)) < 2:
                assert entry["score"] is None  # AUROC is undefined with one class
            else:
                assert entry["score"] == pytest.approx(roc_auc_score(labels, scores))
            assert entry["n_unparseable"] == sum(r["p_yes"] is None for r in mine)
    for kind, agg in results["aggregates"].items():
        scores = [e["score"] for e in results["tasks"].values() if e["task_type"] == kind and e["score"] is not None]
        assert agg["score"] == pytest.approx(sum(scores) / len(scores))
        assert agg["n_failed"] == sum(e["n_failed"] for e in results["tasks"].values() if e["task_type"] == kind)
        assert agg["ci_low"] <= agg["score"] <= agg["ci_high"]
    assert (out / "per_task.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert all(f"| {task} |" in report for task in results["tasks"])
    return results


# ------------------------------------------------------------------------------------------------ bench loading
def test_released_jsonl_matches_parquet_bench(tmp_path, bench):
    from ehr_r1.evaluation.bench import load_bench

    released = write_released_jsonl(tmp_path / "released")
    ours = load_bench(bench)
    for source in (released, released / "ehr_bench_risk_prediction.jsonl"):
        theirs = load_bench(source)
        key = lambda s: (s.task, s.task_type, s.input, s.output, tuple(s.candidates))  # noqa: E731
        assert {key(s) for s in theirs.samples} <= {key(s) for s in ours.samples}
    assert load_bench(released).tasks == ours.tasks
    assert load_bench(bench, tasks=["services"], limit=2).tasks == ["services"]
    assert len(load_bench(bench, limit=2).samples) == 2 * len(ours.tasks)
    assert ours.fingerprint != load_bench(released).fingerprint


# ------------------------------------------------------------------------------------------- tiny model, end to end
def test_eval_tiny_model_end_to_end(tiny_model_dir, bench, tmp_path):
    out = tmp_path / "run"
    args = ["--model", str(tiny_model_dir), "--bench", str(bench), "--output", str(out)]
    assert _eval(*args, "--max-new-tokens", "6", "--batch-size", "4", "--n-resamples", "100") == 0
    results = _check_consistent(out)
    assert set(results["aggregates"]) == {"decision_making", "risk_prediction"}
    assert results["bench"]["n_samples"] == 24 and results["backend"] == "transformers"
    assert results["decoding"]["max_new_tokens"] == 6 and results["settings"]["yes_token_ids"]
    records = _read_predictions(out)
    risk = [r for r in records.values() if r["task_type"] == "risk_prediction"]
    assert all(r["score_source"] == "logits" and 0.0 < r["p_yes"] < 1.0 for r in risk)
    # a second run with everything cached loads no model and reproduces the scores
    before = (out / "predictions.jsonl").read_text()
    assert _eval(*args, "--model", "/does/not/matter/if/cached", "--n-resamples", "100") == 2  # identity changed
    assert _eval(*args, "--max-new-tokens", "6", "--batch-size", "1", "--n-resamples", "100") == 0
    assert (out / "predictions.jsonl").read_text() == before
    assert json.loads((out / "results.json").read_text())["tasks"] == results["tasks"]


def test_risk_score_is_next_token_yes_share_and_batch_invariant(tiny_model_dir, bench):
    import torch

    from ehr_r1.evaluation.bench import load_bench
    from ehr_r1.evaluation.config import EvalConfig
    from ehr_r1.evaluation.hf_backend import TransformersBackend

    samples = [s for s in load_bench(bench).samples if s.task_type == "risk_prediction"][:4]
    backend = TransformersBackend(EvalConfig(bench=str(bench), output="", model=str(tiny_model_dir)))
    batched = [o.p_yes for o in backend.score_risk(samples)]  # inputs of different lengths: left padding
    single = [backend.score_risk([s])[0].p_yes for s in samples]
    assert batched == pytest.approx(single, abs=1e-5)
    # by hand: the official prompt (candidate list and format note, no switch) ends with the empty think block
    text, _ = backend.renderer.prompt(samples[0], 1)
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") and "/no_think" not in text
    assert "Candidate List: ['yes', 'no'].\nNote that you should directly output the answer" in text
    ids = backend.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        probs = backend.model(ids).logits[0, -1].softmax(-1)
    yes = probs[backend.yes_ids].sum().item()
    no = probs[backend.no_ids].sum().item()
    assert single[0] == pytest.approx(yes / (yes + no), abs=1e-5)
    assert backend.tokenizer.decode(backend.yes_ids[:1]).strip().lower() == "yes"


def test_token_budget_batches_and_outputs_do_not_depend_on_batching(tiny_model_dir, bench, tmp_path):
    from ehr_r1.evaluation.bench import load_bench
    from ehr_r1.evaluation.config import EvalConfig
    from ehr_r1.evaluation.hf_backend import TransformersBackend
    from ehr_r1.evaluation.runner import _ordered

    config = EvalConfig(
        bench=str(bench), output="", model=str(tiny_model_dir), max_batch_tokens=1500, max_new_tokens=4
    )
    backend = TransformersBackend(config)
    seen = []
    for group in _ordered(load_bench(bench).samples):  # longest first, one task type at a time
        for batch in backend.batches(group):
            risk = batch[0].task_type == "risk_prediction"
            widths = [backend.renderer.n_tokens(backend.renderer.prompt(s, 1 if risk else 4)[0]) for s in batch]
            cost = len(batch) * (max(widths) + (0 if risk else 4))
            assert len(batch) <= 8 and (cost <= 1500 or len(batch) == 1)
            assert len({s.task_type for s in batch}) == 1
            seen.append(len(batch))
            backend._encoded.clear()  # planned but not run here
    assert sum(seen) == 24 and max(seen) > 1 and min(seen) < max(seen)
    # whole runs: token-budget batches give the predictions of batch size 1
    runs = {}
    for name, extra in (("budget", ["--max-batch-tokens", "1500"]), ("one", ["--batch-size", "1"])):
        out = tmp_path / name
        args = ["--model", str(tiny_model_dir), "--bench", str(bench), "--output", str(out), "--max-new-tokens", "4"]
        assert _eval(*args, "--n-resamples", "20", "--tasks", "services", "Inpatient_Mortality", *extra) == 0
        runs[name] = _read_predictions(out)
        assert json.loads((out / "results.json").read_text())["settings"]["max_batch_tokens"] == int(
            extra[1] if name == "budget" else 8192
        )
    for key, record in runs["one"].items():
        other = runs["budget"][key]
        if record["task_type"] == "risk_prediction":
            assert other["p_yes"] == pytest.approx(record["p_yes"], abs=1e-5)
        else:
            assert other["prediction"] == record["prediction"]


def test_truncation_drops_oldest_events_and_keeps_header(tiny_model_dir, bench):
    from ehr_r1.evaluation.bench import load_bench
    from ehr_r1.evaluation.chat import ChatRenderer, load_tokenizer

    renderer = ChatRenderer(load_tokenizer(str(tiny_model_dir)), max_model_len=300)
    sample = max(load_bench(bench).samples, key=lambda s: len(s.input))
    text, dropped = renderer.prompt(sample, 16)
    assert dropped > 0 and renderer.n_tokens(text) <= 300 - 16
    assert "## Patient Demographics" in text and "## Admissions" in text
    newest = sample.input.rsplit("\n\n## ", 1)[1]
    assert newest in text and sample.input.split("\n\n## ")[2] not in text  # the oldest event is gone
    assert (
        text.rstrip().endswith("<|im_start|>assistant")
        and "Do not output the code like ICD10 or ICD9.<|im_end|>" in text
    )


# ---------------------------------------------------------------------------------------- OpenAI-compatible backend
def bench_responder(mode: str = "logprobs"):
    """Answers for the fixture bench: decision-making ``<think>…</think>`` + two items; risk P(yes) = 0.8 for women and
    0.3 for men (``Gender: F`` in the prompt), as top logprobs. ``no_logprobs``: text answers only; ``fail_once``: the
    first request of the 41-year-old patient gets HTTP 400 (not retried within the run)."""
    failed = threading.Event()

    def respond(request: Request) -> Reply | dict | str:
        user = request.user
        if mode == "fail_once" and "Anchor_Age: 41" in user and not failed.is_set():
            failed.set()
            return Reply({"error": {"message": "context length exceeded"}}, status=400)
        if request.body["max_tokens"] != 1:
            return "<think>\nlabs look stable\n</think>\n\nHemoglobin\nMED"
        p_yes = 0.8 if "Gender: F" in user else 0.3
        if mode == "no_logprobs":
            return "Yes" if p_yes > 0.5 else "maybe"
        first = "yes" if p_yes > 0.5 else "no"
        probs = {"yes": p_yes, "no": 1 - p_yes - 0.05, " Yes": 0.03, "I": 0.02}
        return completion(first, logprobs=top_logprobs(probs, first))

    return respond


@pytest.fixture
def server():
    with OpenAIServer(bench_responder()) as fake:
        yield fake


def _openai_args(server: OpenAIServer, bench: Path, out: Path) -> list[str]:
    return ["--backend", "openai", "--base-url", server.url, "--model", "fake-model", "--bench", str(bench),
            "--output", str(out), "--max-new-tokens", "64", "--batch-size", "3", "--n-resamples", "100"]  # fmt: skip


def test_openai_backend_scores_from_logprobs(server, bench, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-test")
    out = tmp_path / "run"
    assert _eval(*_openai_args(server, bench, out), "--api-key-env", "FAKE_KEY") == 0
    results = _check_consistent(out)
    # P(yes) = (0.8 + 0.03) / (0.8 + 0.03 + 0.15) for women, (0.3 + 0.03) / (0.3 + 0.03 + 0.65) for men
    records = _read_predictions(out)
    women = records["Inpatient_Mortality/Inpatient_Mortality-1"]  # odd i: gender F, label yes
    assert women["p_yes"] == pytest.approx(0.83 / 0.98) and women["score_source"] == "logprobs"
    assert records["Inpatient_Mortality/Inpatient_Mortality-0"]["p_yes"] == pytest.approx(0.33 / 0.98)
    # odd samples are women and positives: perfect ranking
    assert results["aggregates"]["risk_prediction"]["score"] == 1.0
    # decision-making: "Hemoglobin", "MED" after </think>
    assert records["services/services-0"]["items"] == ["Hemoglobin", "MED"]
    assert len(server.chat_requests) == 24 and results["failures"]["n_failed"] == 0
    for request in server.chat_requests:
        body, headers = request.body, request.headers
        think = body["max_tokens"] != 1
        assert body["chat_template_kwargs"] == {"enable_thinking": think} and body["temperature"] == 0
        user = body["messages"][-1]["content"]  # the official protocol: candidate list + format note, no switch
        assert user.endswith("ICD10 or ICD9." if think else "only choose one answer from the Candidate List.")
        assert ("Candidate List: ['yes', 'no']." in user) != think and "/think" not in user
        assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
        assert headers["Authorization"] == "Bearer sk-test"
        assert (body.get("logprobs"), body.get("top_logprobs")) == ((None, None) if think else (True, 20))


def test_openai_resume_after_limit_and_kill(server, bench, tmp_path):
    out = tmp_path / "run"
    args = _openai_args(server, bench, out)
    assert _eval(*args, "--limit", "2") == 0
    assert len(server.chat_requests) == 8
    assert json.loads((out / "results.json").read_text())["bench"]["n_samples"] == 8
    # a killed writer leaves a torn last line: it is dropped and that sample is redone
    with open(out / "predictions.jsonl", "a") as f:
        f.write('{"idx": "services-5", "task": "serv')
    assert _eval(*args) == 0
    assert len(server.chat_requests) == 24  # only the 16 new samples were requested
    results = _check_consistent(out)
    assert results["bench"]["n_samples"] == 24 and len(_read_predictions(out)) == 24


def test_openai_kill_mid_run_keeps_finished_predictions(server, bench, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    server.hold(7)  # requests 8+ hang: the client is killed while waiting for them
    cmd = [sys.executable, "-m", "ehr_r1.cli", "eval", *_openai_args(server, bench, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.time() + 300  # a loaded machine can take long to import torch / transformers
        while time.time() < deadline and len(server.chat_requests) < 9 and proc.poll() is None:
            time.sleep(0.1)
        assert len(server.chat_requests) >= 9, "the client never reached the held requests"
        # the batches of 3 that completed before the hang are on disk (fsync'ed per batch)
        while time.time() < deadline and len(_read_predictions(out)) < 6:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
    finished = _read_predictions(out)
    assert 6 <= len(finished) <= 7
    before = len(server.chat_requests)
    server.release()
    assert _eval(*_openai_args(server, bench, out)) == 0
    assert len(server.chat_requests) - before == 24 - len(finished)
    _check_consistent(out)


def test_openai_fallbacks_and_failed_requests(bench, tmp_path, caplog):
    with OpenAIServer(bench_responder("no_logprobs")) as fake:
        out = tmp_path / "text"
        with caplog.at_level("WARNING"):
            assert _eval(*_openai_args(fake, bench, out), "--tasks", "Inpatient_Mortality") == 0
        assert "fall back to the answer text" in caplog.text
        results = _check_consistent(out)
        records = _read_predictions(out).values()
        assert {r["score_source"] for r in records} == {"text", None}
        assert results["tasks"]["Inpatient_Mortality"]["n_unparseable"] == 3  # the "maybe" answers
    with OpenAIServer(bench_responder("fail_once")) as fake:
        out = tmp_path / "fail"
        assert _eval(*_openai_args(fake, bench, out), "--tasks", "services") == 0
        assert len(fake.chat_requests) == 6  # HTTP 400 is not retried within the run
        entry = json.loads((out / "results.json").read_text())["tasks"]["services"]
        # the failed sample is left out of the score, not scored as an empty answer
        assert (entry["n_failed"], entry["n"], entry["n_unparseable"]) == (1, 5, 0)
        failed = _read_predictions(out)["services/services-1"]
        assert failed["prediction"] is None and failed["error"].startswith("HTTP 400: ") and "items" not in failed
        assert _eval(*_openai_args(fake, bench, out), "--tasks", "services") == 0  # the failed request is retried
        assert len(fake.chat_requests) == 7
        entry = json.loads((out / "results.json").read_text())["tasks"]["services"]
        assert (entry["n_failed"], entry["n"], entry["n_unparseable"]) == (0, 6, 0)
        _check_consistent(out)


# ------------------------------------------------------------------------------------------------------ baselines
def test_baselines_hand_computed(tmp_path):
    dm = [("A\nB", "x"), ("A", "x"), ("A\nC", "x")]
    risk = [("yes", "fever sepsis 038.9"), ("no", "ankle fracture"), ("yes", "sepsis 038.9 lactate")] * 4
    risk += [("no", "fracture cast")] * 6
    rows = [{"idx": i, "instruction": "give the next Services suggestion", "input": f"## Services [None]\n{x}",
             "output": o, "candidates": [], "task_info": {"event": "services", "metric": "em"}}
            for i, (o, x) in enumerate(dm)]  # fmt: skip
    rows += [{"idx": 100 + i, "instruction": "predict whether", "input": x, "output": o, "candidates": ["yes", "no"],
              "task_info": {"event": "Inpatient_Mortality", "metric": "auroc"}} for i, (o, x) in enumerate(risk)]  # fmt: skip
    bench = _write_jsonl(tmp_path / "bench.jsonl", rows)
    out = tmp_path / "freq"
    assert _eval("--baseline", "frequency", "--bench", str(bench), "--output", str(out), "--n-resamples", "50") == 0
    results = _check_consistent(out)
    # counts A=3, B=1, C=1; median set size 2 -> predict A, B (tie broken alphabetically)
    assert _read_predictions(out)["services/0"]["prediction"] == "A\nB"
    assert results["tasks"]["services"]["score"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert results["tasks"]["Inpatient_Mortality"]["score"] == 0.5  # a constant prior ranks nothing
    assert results["baseline"] == "frequency" and results["model"] is None

    out = tmp_path / "logreg"
    assert _eval("--baseline", "logreg", "--bench", str(bench), "--output", str(out), "--n-resamples", "50") == 0
    assert _check_consistent(out)["tasks"]["Inpatient_Mortality"]["score"] == 1.0  # "sepsis" separates, cross-fitted

    train = _write_jsonl(tmp_path / "train.jsonl", [dict(r, output="C") for r in rows[:3]] + rows[3:])
    out = tmp_path / "freq-train"
    args = ["--baseline", "frequency", "--train", str(train), "--bench", str(bench), "--output", str(out)]
    assert _eval(*args, "--n-resamples", "50") == 0
    assert _read_predictions(out)["services/0"]["prediction"] == "C"  # labels from --train, not from the bench


# ------------------------------------------------------------------------------------------------------ bad input
def test_bad_input_one_line_errors(tmp_path, bench, capsys):
    def error(*args: str) -> str:
        capsys.readouterr()
        assert _eval(*args) == 2
        message = capsys.readouterr().err.strip()
        assert message.startswith("error: ") and "\n" not in message
        return message

    out = str(tmp_path / "out")
    assert "bench not found" in error("--model", "m", "--bench", str(tmp_path / "nope"), "--output", out)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"idx": 1, "task": "t", "instruction": "i", "input": "x", "output": "yes"}\n{"idx": 2, "instr\n')
    assert f"{bad}:2" in error("--model", "m", "--bench", str(bad), "--output", out)
    pq.write_table(pa.table({"idx": ["1"], "task": ["t"]}), tmp_path / "cols.parquet")
    assert "column 'instruction'" in error("--model", "m", "--bench", str(tmp_path / "cols.parquet"), "--output", out)
    assert "does not exist" in error("--model", str(tmp_path / "no-model"), "--bench", str(bench), "--output", out)
    dead = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = dead.server_address[1]
    dead.server_close()  # nothing listens on this port any more
    message = error("--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m",
                    "--bench", str(bench), "--output", str(tmp_path / "o2"))  # fmt: skip
    assert "cannot reach the server" in message
    with OpenAIServer(api_key="sk-the-right-key-123") as fake:
        assert "HTTP 401" in error(*_openai_args(fake, bench, tmp_path / "o3"))
    assert "must start with http" in error("--backend", "openai", "--base-url", "localhost:8000/v1", "--model", "m",
                                           "--bench", str(bench), "--output", str(tmp_path / "o4"))  # fmt: skip
    assert "--model is required" in error("--bench", str(bench), "--output", out)
    assert "unknown task" in error(
        "--baseline", "frequency", "--bench", str(bench), "--tasks", "nope", "--output", out
    )


def test_openai_backend_truncates_with_the_model_tokenizer(server, bench, tmp_path, tiny_model_dir):
    out = tmp_path / "run"
    args = [*_openai_args(server, bench, out), "--tasks", "services", "--tokenizer", str(tiny_model_dir)]
    assert _eval(*args, "--max-model-len", "480") == 0  # prompts: 324 to 689 tokens, 64 new
    records = _read_predictions(out)
    assert (
        records["services/services-5"]["events_dropped"] > 0 and records["services/services-0"]["events_dropped"] == 0
    )
    sent = {
        b["messages"][1]["content"].split("Anchor_Age: ")[1][:2]: b["messages"][1]["content"]
        for b in (r.body for r in server.chat_requests)
    }
    longest = sent["45"]  # services-5: 8 lab events, the oldest ones dropped, header and newest kept
    assert "## Patient Demographics" in longest and "## Admissions" in longest
    assert "[2150-01-01 16:00:00]" in longest and "[2150-01-01 09:00:00]" not in longest
    assert json.loads((out / "results.json").read_text())["tasks"]["services"]["n_truncated"] >= 1


def test_real_build_bench_output_parquet_and_jsonl_agree(tmp_path):
    """The real ``ehr-r1 build-bench`` output (synthetic MIMIC): its parquet and its released-layout JSONL score alike."""
    mimic, bench = tmp_path / "mimic", tmp_path / "bench"
    assert main(["synth-mimic", "--out", str(mimic), "--patients", "60", "--compression", "none"]) == 0
    assert main(["build-bench", "--mimic-dir", str(mimic), "--output", str(bench), "--format", "jsonl"]) == 0
    scores = {}
    for name, source in (("parquet", bench), ("jsonl", bench / "ehr_bench_decision_making.jsonl")):
        out = tmp_path / name
        assert (
            _eval("--baseline", "frequency", "--bench", str(source), "--output", str(out), "--n-resamples", "20") == 0
        )
        results = _check_consistent(out)
        scores[name] = {t: e["score"] for t, e in results["tasks"].items() if e["task_type"] == "decision_making"}
    assert scores["parquet"] == scores["jsonl"] and len(scores["parquet"]) >= 5
    manifest = json.loads((bench / "manifest.json").read_text())
    assert manifest.get("output_fingerprints") or manifest.get("fingerprints")
    out = tmp_path / "logreg"
    assert _eval("--baseline", "logreg", "--bench", str(bench), "--output", str(out), "--n-resamples", "20") == 0
    results = _check_consistent(out)
    assert results["aggregates"]["risk_prediction"]["n_tasks"] >= 3

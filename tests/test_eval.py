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
    records = list(_read_predictions(out).values())
    for task, entry in results["tasks"].items():
        mine = [r for r in records if r["task"] == task]
        assert entry["n"] == len(mine)
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
    # by hand: the prompt ends with the empty think block; softmax over the next-token logits
    text, _ = backend.renderer.prompt(samples[0], 1)
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n") and "\n/no_think<|im_end|>" in text
    ids = backend.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        probs = backend.model(ids).logits[0, -1].softmax(-1)
    yes = probs[backend.yes_ids].sum().item()
    no = probs[backend.no_ids].sum().item()
    assert single[0] == pytest.approx(yes / (yes + no), abs=1e-5)
    assert backend.tokenizer.decode(backend.yes_ids[:1]).strip().lower() == "yes"


def test_truncation_drops_oldest_events_and_keeps_header(tiny_model_dir, bench):
    from ehr_r1.evaluation.bench import load_bench
    from ehr_r1.evaluation.hf_backend import ChatRenderer, load_tokenizer

    renderer = ChatRenderer(load_tokenizer(str(tiny_model_dir)), max_model_len=300)
    sample = max(load_bench(bench).samples, key=lambda s: len(s.input))
    text, dropped = renderer.prompt(sample, 16)
    assert dropped > 0 and renderer.n_tokens(text) <= 300 - 16
    assert "## Patient Demographics" in text and "## Admissions" in text
    newest = sample.input.rsplit("\n\n## ", 1)[1]
    assert newest in text and sample.input.split("\n\n## ")[2] not in text  # the oldest event is gone
    assert text.rstrip().endswith("<|im_start|>assistant") and "\n/think<|im_end|>" in text


# ---------------------------------------------------------------------------------------- OpenAI-compatible backend
class FakeServer:
    """A threaded OpenAI-compatible server on 127.0.0.1 with canned chat completions and logprobs.

    Decision-making answers are ``<think>…</think>`` + two items; risk answers give P(yes) = 0.8 for women and 0.3 for
    men (``Gender: F`` in the prompt), as top logprobs. ``mode`` switches to no logprobs / failures.
    """

    def __init__(self, mode: str = "logprobs"):
        self.mode, self.requests, self.lock = mode, [], threading.Lock()
        self.release = threading.Event()
        self.hold_after: int | None = None  # block requests after this many (to kill the client mid-run)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if server.mode == "unauthorized":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append((body, dict(self.headers)))
                    count = len(server.requests)
                if server.hold_after is not None and count > server.hold_after:
                    server.release.wait(60)
                code, response = server.respond(body)
                self._send(code, response)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def respond(self, body: dict) -> tuple[int, dict]:
        user = body["messages"][-1]["content"]
        if self.mode == "fail_once" and "Anchor_Age: 41" in user and not getattr(self, "_failed", False):
            self._failed = True
            return 400, {"error": {"message": "context length exceeded"}}
        if body["max_tokens"] != 1:
            return 200, _completion("<think>\nlabs look stable\n</think>\n\nHemoglobin\nMED")
        p_yes = 0.8 if "Gender: F" in user else 0.3
        if self.mode == "no_logprobs":
            return 200, _completion("Yes" if p_yes > 0.5 else "maybe")
        first = "yes" if p_yes > 0.5 else "no"
        top = [("yes", p_yes), ("no", 1 - p_yes - 0.05), (" Yes", 0.03), ("I", 0.02)]
        logprobs = {"content": [{"token": first, "logprob": _log(p_yes if first == "yes" else 1 - p_yes - 0.05),
                                 "top_logprobs": [{"token": t, "logprob": _log(p)} for t, p in top]}]}  # fmt: skip
        return 200, _completion(first, logprobs)

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _log(p: float) -> float:
    import math

    return math.log(p)


def _completion(content: str, logprobs: dict | None = None) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if logprobs is not None:
        choice["logprobs"] = logprobs
    return {"id": "x", "object": "chat.completion", "model": "fake-model", "choices": [choice]}


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def _openai_args(server: FakeServer, bench: Path, out: Path) -> list[str]:
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
    assert len(server.requests) == 24
    for body, headers in server.requests:
        think = body["max_tokens"] != 1
        assert body["chat_template_kwargs"] == {"enable_thinking": think} and body["temperature"] == 0
        assert body["messages"][-1]["content"].endswith("\n/think" if think else "\n/no_think")
        assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
        assert headers["Authorization"] == "Bearer sk-test"
        assert (body.get("logprobs"), body.get("top_logprobs")) == ((None, None) if think else (True, 20))


def test_openai_resume_after_limit_and_kill(server, bench, tmp_path):
    out = tmp_path / "run"
    args = _openai_args(server, bench, out)
    assert _eval(*args, "--limit", "2") == 0
    assert len(server.requests) == 8 and json.loads((out / "results.json").read_text())["bench"]["n_samples"] == 8
    # a killed writer leaves a torn last line: it is dropped and that sample is redone
    with open(out / "predictions.jsonl", "a") as f:
        f.write('{"idx": "services-5", "task": "serv')
    assert _eval(*args) == 0
    assert len(server.requests) == 24  # only the 16 new samples were requested
    results = _check_consistent(out)
    assert results["bench"]["n_samples"] == 24 and len(_read_predictions(out)) == 24


def test_openai_kill_mid_run_keeps_finished_predictions(server, bench, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    server.hold_after = 7  # requests 8+ hang: the client is killed while waiting for them
    cmd = [sys.executable, "-m", "ehr_r1.cli", "eval", *_openai_args(server, bench, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 60
    while time.time() < deadline and len(server.requests) < 9:
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _read_predictions(out)
    assert 3 <= len(finished) <= 7  # the batches of 3 that completed before the hang
    server.hold_after, before = None, len(server.requests)
    server.release.set()
    assert _eval(*_openai_args(server, bench, out)) == 0
    assert len(server.requests) - before == 24 - len(finished)
    _check_consistent(out)


def test_openai_fallbacks_and_failed_requests(bench, tmp_path):
    fake = FakeServer(mode="no_logprobs")
    try:
        out = tmp_path / "text"
        assert _eval(*_openai_args(fake, bench, out), "--tasks", "Inpatient_Mortality") == 0
        results = _check_consistent(out)
        records = _read_predictions(out).values()
        assert {r["score_source"] for r in records} == {"text", None}
        assert results["tasks"]["Inpatient_Mortality"]["n_unparseable"] == 3  # the "maybe" answers
    finally:
        fake.close()
    fake = FakeServer(mode="fail_once")
    try:
        out = tmp_path / "fail"
        assert _eval(*_openai_args(fake, bench, out), "--tasks", "services") == 0
        entry = json.loads((out / "results.json").read_text())["tasks"]["services"]
        assert entry["n_errors"] == 1 and entry["n_unparseable"] == 1
        assert _eval(*_openai_args(fake, bench, out), "--tasks", "services") == 0  # the failed request is retried
        assert len(fake.requests) == 7
        entry = json.loads((out / "results.json").read_text())["tasks"]["services"]
        assert entry["n_errors"] == 0 and entry["n_unparseable"] == 0
    finally:
        fake.close()


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
    fake = FakeServer(mode="unauthorized")
    try:
        assert "HTTP 401" in error(*_openai_args(fake, bench, tmp_path / "o3"))
    finally:
        fake.close()
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
        for b, _ in server.requests
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

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``ehr-r1 eval --backend openai`` against a real local server that answers badly: every broken answer is an error
for its sample (retried, then recorded with its reason, left out of the scores and counted), the run goes on and exits
0, resumes retry failed samples a bounded number of times, and no credential reaches a log or an output file."""

import base64
import json
import threading
from pathlib import Path

import pytest
from openai_server import BROKEN_KINDS, OpenAIServer, Request, broken
from test_eval import _check_consistent, _eval, _openai_args, _read_predictions, bench_responder, write_fixture_bench


TASKS = ["services", "Inpatient_Mortality"]  # 6 samples each
VICTIM = "Anchor_Age: 41"  # sample 1 of every task
FAST = ["--retry-backoff", "0.01", "--max-retries", "2"]
# what each broken kind leaves as the failure reason
REASONS = {
    "non_json": "bad response: body is not JSON",
    "no_choices": "bad response: no choices",
    "error_object": "bad response: error object",
    "null_content": "bad response: content is null",
    "non_numeric_logprob": "bad response: non-numeric logprob",
    "inf_logprob": "bad response: non-finite logprob",
    "nan_logprob": "bad response: non-finite logprob",
    "http_500": "HTTP 500",
    "http_503": "HTTP 503",
    "http_429": "HTTP 429",
    "drop": "connection error",
    "timeout": "timeout",
}
LOGPROB_KINDS = {"non_numeric_logprob", "inf_logprob", "nan_logprob"}


@pytest.fixture
def bench(tmp_path) -> Path:
    return write_fixture_bench(tmp_path / "bench")


def faulty(kind: str, victim: str = VICTIM, times: int | None = None):
    """The fixture-bench answers, except that requests of the victim sample get a ``kind`` answer (``times`` times)."""
    good, lock, hits = bench_responder(), threading.Lock(), {"n": 0}
    logprobs_only = kind in LOGPROB_KINDS

    def respond(request: Request):
        hit = victim in request.user and (request.body["max_tokens"] == 1 or not logprobs_only)
        with lock:
            hit = hit and (times is None or hits["n"] < times)
            hits["n"] += hit
        return broken(kind, latency=60) if hit else good(request)

    return respond


def _victim_requests(server: OpenAIServer, risk_only: bool = False) -> int:
    return sum(VICTIM in r.user and (r.body["max_tokens"] == 1 or not risk_only) for r in server.chat_requests)


@pytest.mark.parametrize("kind", [k for k in BROKEN_KINDS if k != "timeout"])
def test_broken_answer_is_a_failed_sample(kind, bench, tmp_path):
    out = tmp_path / "run"
    with OpenAIServer(faulty(kind)) as server:
        assert _eval(*_openai_args(server, bench, out), "--tasks", *TASKS, *FAST) == 0
        n_victims = 1 if kind in LOGPROB_KINDS else 2
        assert _victim_requests(server, risk_only=n_victims == 1) == n_victims * 3  # 1 + 2 retries each
    records = _read_predictions(out)
    failed = {k: r for k, r in records.items() if r.get("error")}
    expected = {"Inpatient_Mortality/Inpatient_Mortality-1"} | (set() if n_victims == 1 else {"services/services-1"})
    assert set(failed) == expected
    for record in failed.values():
        assert record["error"].startswith(REASONS[kind]) and record["error"].endswith("(3 attempts)")
        assert record["prediction"] is None and record["failed_runs"] == 1  # no answer, not an empty answer
        assert "items" not in record and "f1" not in record and record.get("p_yes") is None
    results = _check_consistent(out)  # the scores are those of the answered samples only
    risk = results["tasks"]["Inpatient_Mortality"]
    assert (risk["n"], risk["n_failed"], risk["n_unparseable"], risk["score"]) == (5, 1, 0, 1.0)
    services = results["tasks"]["services"]
    assert (services["n"], services["n_failed"]) == ((6, 0) if n_victims == 1 else (5, 1))
    assert results["failures"]["n_failed"] == n_victims
    assert results["failures"]["by_reason"] == {REASONS[kind]: n_victims}
    assert results["aggregates"]["risk_prediction"]["n_failed"] == 1
    report = (out / "report.md").read_text()
    assert f"**{n_victims} samples failed**" in report and f"{REASONS[kind]}: {n_victims}" in report
    assert "| Inpatient_Mortality | 5 | 1.0000 |" in report


def test_transient_failures_are_retried_within_the_run(bench, tmp_path):
    out = tmp_path / "run"
    with OpenAIServer(faulty("http_503", times=2)) as server:  # the victims' first attempts fail
        assert _eval(*_openai_args(server, bench, out), "--tasks", *TASKS, *FAST) == 0
        assert len(server.chat_requests) == 12 + 2
    results = _check_consistent(out)
    assert results["failures"]["n_failed"] == 0 and results["tasks"]["Inpatient_Mortality"]["n"] == 6


def test_a_prompt_that_always_times_out_fails_and_the_run_goes_on(bench, tmp_path):
    out = tmp_path / "run"
    with OpenAIServer(faulty("timeout")) as server:
        args = [*_openai_args(server, bench, out), "--tasks", *TASKS, "--retry-backoff", "0.01", "--max-retries", "1"]
        assert _eval(*args, "--request-timeout", "5") == 0
        assert _victim_requests(server) == 2 * 2
    records = _read_predictions(out)
    assert records["services/services-1"]["error"] == "timeout: no response within 5 s (2 attempts)"
    results = _check_consistent(out)
    assert results["failures"] == results["failures"] | {"n_failed": 2, "by_reason": {"timeout": 2}}
    assert results["tasks"]["services"]["n"] == 5 and results["tasks"]["services"]["score"] is not None


def test_resume_retries_failed_samples_a_bounded_number_of_times(bench, tmp_path, caplog):
    out = tmp_path / "run"
    with OpenAIServer(faulty("null_content")) as server:
        args = [*_openai_args(server, bench, out), "--tasks", *TASKS, *FAST]
        for run in (1, 2, 3):  # the first run and its two retries (--retry-failed 2)
            before = len(server.chat_requests)
            assert _eval(*args) == 0
            assert len(server.chat_requests) - before == (10 + 2 * 3 if run == 1 else 2 * 3)  # 3 attempts a victim
            assert {r["failed_runs"] for r in _read_predictions(out).values() if r.get("error")} == {run}
        before = len(server.chat_requests)
        with caplog.at_level("WARNING"):
            assert _eval(*args) == 0  # given up: not retried, still reported
        assert len(server.chat_requests) == before
        assert "2 samples failed in 3 runs and are not retried" in caplog.text
        assert json.loads((out / "results.json").read_text())["failures"]["n_failed"] == 2
    with OpenAIServer(bench_responder()) as server:  # the server is fixed: more retries get answers
        assert _eval(*_openai_args(server, bench, out), "--tasks", *TASKS, *FAST, "--retry-failed", "3") == 0
        assert len(server.chat_requests) == 2
    results = _check_consistent(out)
    assert results["failures"]["n_failed"] == 0 and results["tasks"]["services"]["n"] == 6


SECRETS = ("pa55-w0rd-XYZ", "qkey-SECRET-123", "sk-live-SECRET-abcdef123")


def _echo_secrets(request: Request):
    """Error bodies that echo what the client sent (the key, the URL query), as careless servers do."""
    if VICTIM not in request.user:
        return bench_responder()(request)
    echo = f"bad request from {request.headers.get('Authorization')} key={request.query.get('key', [''])[0]}"
    if request.body["max_tokens"] == 1:
        return broken("error_object", message=echo)
    return broken("http_500", message=echo)


@pytest.mark.parametrize("with_api_key", [True, False])
def test_no_secret_in_outputs_or_logs(with_api_key, bench, tmp_path, monkeypatch, caplog, capsys):
    password, query_key, api_key = SECRETS
    if with_api_key:
        monkeypatch.setenv("EVAL_KEY", api_key)
    out = tmp_path / "run"
    with OpenAIServer(_echo_secrets) as server:
        url = server.url.replace("http://", f"http://alice:{password}@") + f"?key={query_key}"
        args = [*_openai_args(server, bench, out), "--base-url", url, "--api-key-env", "EVAL_KEY", *FAST]
        with caplog.at_level("DEBUG"):
            assert _eval(*args, "--tasks", *TASKS) == 0
        sent = server.chat_requests[0]
        assert sent.query == {"key": [query_key]}  # the credentials are used ...
        basic = "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
        assert sent.headers["Authorization"] == (f"Bearer {api_key}" if with_api_key else basic)
    records = _read_predictions(out)
    assert records["services/services-1"]["error"].startswith("HTTP 500: ")
    assert records["Inpatient_Mortality/Inpatient_Mortality-1"]["error"].startswith("bad response: error object: ")
    assert "***" in records["services/services-1"]["error"]
    results = json.loads((out / "results.json").read_text())
    assert (
        results["settings"]["base_url"].endswith("/v1?key=***") and "***@127.0.0.1" in results["settings"]["base_url"]
    )
    captured = capsys.readouterr()
    texts = {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".json", ".jsonl", ".md")}
    texts |= {"logs": caplog.text, "stdout": captured.out, "stderr": captured.err}
    assert {"predictions.jsonl", "results.json", "report.md", "run.json"} <= set(texts)
    for name, text in texts.items():  # ... and shown nowhere
        for secret in (*SECRETS, base64.b64encode(f"alice:{password}".encode()).decode()):
            assert secret not in text, f"{secret} in {name}"


def test_rejected_key_is_not_echoed_in_the_error(bench, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("EVAL_KEY", SECRETS[2])
    with OpenAIServer(api_key="sk-the-right-key-000") as server:  # its 401 body repeats the key it got
        capsys.readouterr()
        assert _eval(*_openai_args(server, bench, tmp_path / "run"), "--api-key-env", "EVAL_KEY") == 2
        assert server.requests[0].headers["Authorization"] == f"Bearer {SECRETS[2]}"
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "Incorrect API key provided" in err
    assert SECRETS[2] not in err and SECRETS[2] not in caplog.text


def test_server_serves_the_official_client_concurrently():
    """The fake server itself: 64 concurrent requests from ``openai.AsyncOpenAI``, ``n`` choices, usage fields."""
    import asyncio
    import time

    openai = pytest.importorskip("openai")
    latency, n_requests = 0.5, 64

    async def ask(client, i: int):
        return await client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": f"question {i}"}], n=2, max_tokens=8
        )

    async def main(url: str):
        async with openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=120) as client:
            return await asyncio.gather(*(ask(client, i) for i in range(n_requests)))

    with OpenAIServer(lambda request: f"answer to {request.user}", latency=latency) as server:
        start = time.perf_counter()
        answers = asyncio.run(main(server.url))
        elapsed = time.perf_counter() - start
        assert len(server.chat_requests) == n_requests
    assert elapsed < n_requests * latency / 4  # served concurrently (sequentially it would take 32 s)
    for i, answer in enumerate(answers):
        assert [c.message.content for c in answer.choices] == [f"answer to question {i}"] * 2
        assert answer.usage.prompt_tokens == 2 and answer.usage.completion_tokens == 2 * 4
        assert answer.usage.total_tokens == 10 and answer.model == "fake-model"

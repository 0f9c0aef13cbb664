# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The OpenAI-compatible teacher through a real local server: faults, retries, failure share, resume after kill -9."""

import itertools
import json
import signal
import subprocess
import time

import polars as pl
import reasoning_helpers
from openai_server import OpenAIServer, Reply, broken
from reasoning_helpers import LEAK_CHAIN, canned_chain, ehr_r1, ehr_r1_process


demo_ins = reasoning_helpers.demo_ins  # the session fixture
SECRET = "sk-very-secret-test-key"


def _args(ins, out, url, tmp_path, *extra):
    return ("build-reasoning", "--ins", ins, "--output", out, "--teacher-url", url, "--teacher-model", "teacher",
            "--cache-dir", tmp_path / "kg", "--backoff", "0.01", "--timeout", "1", *extra)  # fmt: skip


def test_faults_are_retried_and_the_run_goes_on(demo_ins, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "out"
    faults = ["http_500", "http_429", "timeout", "non_json", "no_choices", "error_object", "null_content", "drop"]
    extra = ("--max-samples", "8", "--n", "2", "--concurrency", "1", "--retries", str(len(faults)))
    with OpenAIServer(canned_chain) as server:
        server.queue(*(broken(kind, latency=3) for kind in faults), LEAK_CHAIN)
        assert ehr_r1(*_args(demo_ins, out, server.url, tmp_path, *extra)) == 0
        sent = len(server.chat_requests)
    keys = {v for r in server.requests for k, v in r.headers.items() if k.lower() == "authorization"}
    assert keys == {f"Bearer {SECRET}"}  # the key is read from the environment ...
    body = server.chat_requests[-1].body  # the decoding settings reach the server as sent
    assert {k: body[k] for k in ("model", "n", "temperature", "seed")} == {
        "model": "teacher",
        "n": 2,
        "temperature": 0.5,
        "seed": 0,
    }
    assert (
        body["messages"][-1]["role"] == "user"
        and "## Final Results" in body["messages"][0]["content"] + body["messages"][-1]["content"]
    )
    assert sent == 8 + len(faults)  # one sample meets every fault in turn, then a leaky (well-formed) answer
    samples = pl.read_parquet(out / "data" / "samples" / "*.parquet")
    assert samples.height == 8
    assert samples["drop_reason"].drop_nulls().to_list() == ["leak"]
    assert samples.filter(pl.col("kept"))["completions"].list.len().to_list() == [2] * 7
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["teacher"]["failed"] == 0 and manifest["teacher"]["model"] == "teacher"
    assert manifest["teacher"]["url"] == server.url and manifest["teacher"]["kind"] == "openai"
    for path in [*out.rglob("*"), tmp_path / ".out.teacher-cache.jsonl"]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path  # ... and written nowhere


def test_failed_share_sets_exit_status_and_rerun_retries_only_failures(demo_ins, tmp_path, capsys):
    out = tmp_path / "out"
    calls = itertools.count()

    def two_then_500(request) -> Reply | str:
        return canned_chain(request) if next(calls) < 2 else broken("http_500")

    extra = ("--max-samples", "6", "--n", "1", "--retries", "1")
    with OpenAIServer(two_then_500) as server:
        assert ehr_r1(*_args(demo_ins, out, server.url, tmp_path, *extra)) == 1
    assert "error: 4 of 6 teacher requests failed" in capsys.readouterr().err
    samples = pl.read_parquet(out / "data" / "samples" / "*.parquet")
    assert samples["drop_reason"].value_counts().sort("drop_reason").rows() == [(None, 2), ("teacher_failed", 4)]
    with OpenAIServer(canned_chain) as healthy:
        assert ehr_r1(*_args(demo_ins, out, healthy.url, tmp_path, *extra)) == 0
        assert len(healthy.chat_requests) == 4  # the two finished requests are not sent again
    assert pl.read_parquet(out / "data" / "samples" / "*.parquet")["kept"].all()


def test_unreachable_teacher_fails_before_any_work(demo_ins, tmp_path, capsys):
    out = tmp_path / "out"
    assert ehr_r1(*_args(demo_ins, out, "http://127.0.0.1:9/v1", tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: teacher http://127.0.0.1:9/v1 unreachable: APIConnectionError"
    assert not out.exists() and not (tmp_path / ".out.teacher-cache.jsonl").exists()


def test_kill_9_then_rerun_sends_no_finished_request_and_matches(demo_ins, tmp_path):
    extra = ("--max-samples", "12", "--n", "1", "--concurrency", "2", "--timeout", "30")
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cache = tmp_path / ".killed.teacher-cache.jsonl"
    with OpenAIServer(canned_chain, latency=0.25) as server:
        proc = ehr_r1_process(*_args(demo_ins, killed, server.url, tmp_path, *extra), stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while time.time() < deadline and (not cache.exists() or len(cache.read_text().splitlines()) < 3):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finished = {json.loads(x)["idx"] for x in cache.read_text().splitlines() if x.endswith("}")}
    assert 3 <= len(finished) < 12 and not killed.exists()
    with OpenAIServer(canned_chain, latency=0.01) as again:
        assert ehr_r1(*_args(demo_ins, killed, again.url, tmp_path, *extra)) == 0
        resent = len(again.chat_requests)
    assert resent == 12 - len(finished)
    with OpenAIServer(canned_chain) as fresh:
        assert ehr_r1(*_args(demo_ins, clean, fresh.url, tmp_path, *extra)) == 0
    assert (killed / "reasoning.jsonl").read_bytes() == (clean / "reasoning.jsonl").read_bytes()
    a = pl.read_parquet(killed / "data" / "samples" / "*.parquet")
    b = pl.read_parquet(clean / "data" / "samples" / "*.parquet")
    assert a.equals(b)

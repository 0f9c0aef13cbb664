# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Teachers that write the reasoning chains (``docs/reasoning.md`` §4).

- ``OpenAITeacher``: any OpenAI-compatible chat endpoint (``vllm serve``, SGLang, hosted APIs) through the official
  ``openai`` async client; bounded concurrency, per-request timeout, retries with exponential backoff and jitter on
  429 / 5xx / timeouts / malformed or empty responses; a resumable JSONL cache keyed by a hash of (sample, prompt,
  model, decoding settings), appended and flushed after every finished request, so a re-run (even after ``kill -9``)
  sends no finished request again. The API key is read from the environment only.
- ``template_chain``: the offline **knowledge-path baseline** (not an LLM): Extraction cites the context events that
  hold the selected history concepts, Reasoning states the relation paths, Final Results lists the gold items those
  paths reach. Deterministic and fast; what the demo and the CPU tests use.

Prompts paraphrase the reference's three variants: ``graph`` (with the knowledge paths), ``no-graph`` and ``free``.
"""

import asyncio
import hashlib
import json
import logging
import os
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ehr_r1.errors import EhrR1Error
from ehr_r1.reasoning.config import TeacherConfig, redact_url


logger = logging.getLogger(__name__)
TEACHER_SYSTEM = "You are a senior clinician who explains medical decisions from electronic health records."
_RULES = (
    "Write as if you reasoned from the record alone: never mention that you were given the correct answer{know}, and "
    'never write phrases such as "ground truth" or "according to the answer".'
)
_SECTIONS = """Write a rigorous, step-by-step medical reasoning process that derives the correct answer from the EHR \
context, in exactly three Markdown sections:

## Extraction
Cite the key facts of the context as `**Event Name [Event Time]**: fact` and say how each one bears on the answer.\
{locate}

## Reasoning
Derive the answer step by step with specific, professional clinical reasoning. Do not hedge (no "maybe", "possible", \
"though") and do not reason backwards from the answer.

## Final Results
List, one per line and spelled exactly as in the correct answer, only the answer items your reasoning derived."""
_FREE = """Explain, as a clinician thinking aloud, how the EHR context leads to the correct answer, step by step and \
specifically. End with one line: "Therefore, the answer is: " followed by the answer items separated by "; "."""
RETRYABLE_STATUS = (408, 409, 429)


def teacher_prompt(variant: str, input_text: str, instruction: str, answer: str, paths: list[str]) -> list[dict]:
    """Chat messages asking the teacher for one sample's chain (``variant``: graph, no-graph, free)."""
    parts = [
        "Below are a patient's electronic health record (EHR) context, a clinical task and its correct answer"
        + (
            ", and medical knowledge paths linking concepts of the record to the answer."
            if variant == "graph"
            else "."
        ),
        f"# EHR context\n{input_text}",
        f"# Task\n{instruction}",
        f"# Correct answer\n{answer}",
    ]
    if variant == "graph":
        parts.append("# Medical knowledge\n" + "\n".join(paths))
    if variant == "free":
        parts.append(_FREE)
    else:
        locate = " Locate where each relevant knowledge path applies in the context." if variant == "graph" else ""
        parts.append(_SECTIONS.format(locate=locate))
    parts.append(_RULES.format(know=" or the knowledge paths" if variant == "graph" else ""))
    return [{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def request_key(idx: str, messages: list[dict], model: str, decoding: dict) -> str:
    """Cache key: sha256 of (sample, prompt, model, decoding settings)."""
    blob = json.dumps({"idx": idx, "messages": messages, "model": model, "decoding": decoding}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------- template
def template_chain(events: list[dict], paths: list[dict], gold: list[str]) -> str:
    """The knowledge-path baseline chain.

    Args:
        events: ``{"name", "time", "values"}`` for the context events holding selected history concepts.
        paths: ``{"target", "rendered"}`` (target concept key, rendered relation path), best first.
        gold: gold items as spelled in ``output``.
    """
    extraction = [f"**{e['name']} [{e['time']}]**: {', '.join(e['values'])}." for e in events]
    reasoning = [f"- {p['rendered']}" for p in paths]
    reached = {p["target"] for p in paths}
    results = [g for g in gold if g.strip().lower() in reached]
    if results:
        reasoning.append("These relations lead from the patient's record to: " + "; ".join(results) + ".")
    return "\n".join(
        ["## Extraction", *extraction, "", "## Reasoning", *reasoning, "", "## Final Results", *results]
    ).strip()


# ------------------------------------------------------------------------------------------------------------ cache
class TeacherCache:
    """Append-only JSONL of finished requests (``key``, ``idx``, ``status``, ``completions`` | ``error``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.done: dict[str, dict] = {}
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:  # a line torn by kill -9
                        continue
                    if record.get("status") == "ok":
                        self.done[record["key"]] = record
        self._file = None

    def append(self, record: dict) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
            if self._file.tell():  # a previous run may have died mid-line
                self._file.write("\n")
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        if record["status"] == "ok":
            self.done[record["key"]] = record

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# ----------------------------------------------------------------------------------------------------------- openai
@dataclass
class Request:
    key: str
    idx: str
    messages: list[dict]


class _Retryable(Exception):
    pass


def _http_response_class() -> type:
    """The HTTP response class of the installed ``openai`` SDK (``httpx2`` in openai 3.x, ``httpx`` before)."""
    try:
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - older openai
        import httpx
    return httpx.Response


class OpenAITeacher:
    """Chains from an OpenAI-compatible endpoint (see the module docstring)."""

    def __init__(self, cfg: TeacherConfig):
        self.cfg = cfg

    def _client(self):
        import openai

        key = os.environ.get(self.cfg.api_key_env) or "EMPTY"
        return openai.AsyncOpenAI(base_url=self.cfg.url, api_key=key, timeout=self.cfg.timeout, max_retries=0)

    async def _check(self) -> None:
        import openai

        client = self._client().with_options(timeout=min(self.cfg.timeout, 15.0))
        where = redact_url(self.cfg.url)
        try:
            await client.models.list()
        except (openai.APIConnectionError, openai.APITimeoutError) as err:
            raise EhrR1Error(f"teacher {where} unreachable: {type(err).__name__}") from None
        except openai.AuthenticationError:
            raise EhrR1Error(f"teacher {where}: authentication failed (set ${self.cfg.api_key_env})") from None
        except openai.APIStatusError:
            pass  # reachable; some servers have no /models
        finally:
            await client.close()

    def check(self) -> None:
        """One-line error before any work when the endpoint cannot be reached."""
        asyncio.run(self._check())

    async def _once(self, client, req: Request) -> list[str]:
        import openai

        cfg = self.cfg
        payload = {"model": cfg.model, "messages": req.messages, "n": cfg.n, "temperature": cfg.temperature,
                   "max_tokens": cfg.max_tokens, "seed": cfg.seed}  # fmt: skip
        try:  # a plain JSON body and the raw HTTP response skip the SDK's typed transforms and pydantic models
            raw = await client.post("/chat/completions", cast_to=_http_response_class(), body=payload)
            body = json.loads(raw.content)
        except (openai.APITimeoutError, openai.APIConnectionError, openai.APIResponseValidationError) as err:
            raise _Retryable(type(err).__name__) from err
        except openai.APIStatusError as err:
            if err.status_code >= 500 or err.status_code in RETRYABLE_STATUS:
                raise _Retryable(f"HTTP {err.status_code}") from err
            raise
        except (json.JSONDecodeError, ValueError) as err:
            raise _Retryable(f"malformed response: {type(err).__name__}") from err
        choices = body.get("choices") if isinstance(body, dict) else None
        texts = [
            c["message"]["content"]
            for c in choices or []
            if isinstance(c, dict) and isinstance(c.get("message"), dict) and c["message"].get("content")
        ]
        if not texts:
            raise _Retryable("empty choices")
        return texts

    async def _attempt(self, client, req: Request) -> dict:
        last = ""
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                delay = min(30.0, self.cfg.backoff * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random()))
            try:
                texts = await self._once(client, req)
                return {"key": req.key, "idx": req.idx, "status": "ok", "completions": texts, "attempts": attempt + 1}
            except _Retryable as err:
                last = str(err)
            except Exception as err:  # noqa: BLE001 - non-retryable (4xx): record and go on
                last = f"{type(err).__name__}: {getattr(err, 'status_code', '')}".strip()
                break
        return {"key": req.key, "idx": req.idx, "status": "failed", "error": last}

    async def _run(self, requests: list[Request], cache: TeacherCache) -> dict[str, int]:
        from tqdm.auto import tqdm

        client = self._client()
        queue = iter(requests)
        stats = {"sent": 0, "failed": 0}
        bar = tqdm(total=len(requests), desc="teacher", unit="req", mininterval=0.5)

        async def worker() -> None:
            for req in queue:
                record = await self._attempt(client, req)
                cache.append(record)
                stats["sent"] += 1
                if record["status"] != "ok":
                    stats["failed"] += 1
                    bar.set_postfix(failed=stats["failed"], refresh=False)
                bar.update()

        try:
            await asyncio.gather(*(worker() for _ in range(max(1, self.cfg.concurrency))))
        finally:
            bar.close()
            await client.close()
        return stats

    def complete(self, requests: Iterable[Request], cache: TeacherCache) -> dict[str, int]:
        """Send the requests not in ``cache``; results land in the cache. Returns sent / failed / cached counts."""
        requests = list(requests)
        todo = [r for r in requests if r.key not in cache.done]
        cached = len(requests) - len(todo)
        logger.info("teacher %s: %d requests (%d cached)", self.cfg.model, len(todo), cached)
        start = time.perf_counter()
        stats = asyncio.run(self._run(todo, cache)) if todo else {"sent": 0, "failed": 0}
        stats.update(cached=cached, seconds=round(time.perf_counter() - start, 3))
        return stats

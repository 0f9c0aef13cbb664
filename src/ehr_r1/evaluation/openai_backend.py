# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""OpenAI-compatible backend (``vllm serve``, SGLang, hosted APIs) over plain HTTP (standard library only).

Decision-making: ``/chat/completions`` with ``temperature=0`` and ``max_tokens=max_new_tokens``. Risk: ``max_tokens=1``
with ``logprobs`` / ``top_logprobs``; P(yes) sums the probability of the yes / no spellings among the returned top
tokens. When the server returns no logprobs (or neither answer is among them), the score falls back to the answer text
(yes -> 1.0, no -> 0.0, recorded with ``source="text"``) and a warning says so once: AUROC from hard scores is lower.
"""

import json
import logging
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import Backend, Output, Timer, yes_probability
from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.prompts import make_prompt, sample_think
from ehr_r1.prompting import parse_risk


logger = logging.getLogger(__name__)

RETRIES, BACKOFF_S = 3, 1.0
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_FATAL_STATUS = {401, 403, 404}  # wrong key, wrong URL or unknown model: every request would fail the same way


class ServerError(EhrR1Error):
    """The server cannot be reached (the run stops; finished predictions are kept)."""


class OpenAIBackend(Backend):
    """Sends one chat-completions request per sample, ``batch_size`` requests at a time."""

    name = "openai"

    def __init__(self, config):
        if not config.base_url:
            raise EhrR1Error("--base-url is required with --backend openai (e.g. http://127.0.0.1:8000/v1)")
        if not config.model:
            raise EhrR1Error("--model (the served model name) is required with --backend openai")
        self.config, self.timer = config, Timer()
        if not config.base_url.startswith(("http://", "https://")):
            raise EhrR1Error(f"--base-url must start with http:// or https://, got {config.base_url!r}")
        self.url = config.base_url.rstrip("/")
        self.api_key = os.environ.get(config.api_key_env, "")
        self.renderer = self._truncation_renderer()
        self._warned_no_logprobs = False
        self._check_server()

    def _truncation_renderer(self):
        name = self.config.tokenizer or (self.config.model if Path(self.config.model).is_dir() else None)
        if name is None:
            logger.warning("no tokenizer for the served model (--tokenizer): prompts are sent untruncated")
            return None
        from ehr_r1.evaluation.hf_backend import MAX_MODEL_LEN, ChatRenderer, load_tokenizer

        return ChatRenderer(load_tokenizer(name), self.config.max_model_len or MAX_MODEL_LEN)

    def settings(self) -> dict:
        return {
            "base_url": self.url,
            "top_logprobs": self.config.top_logprobs,
            "template_kwargs": self.config.template_kwargs,
            "truncation_tokenizer": self.config.tokenizer or (self.config.model if self.renderer else None),
            "max_model_len": self.renderer.max_model_len if self.renderer else None,
        }

    # ---------------------------------------------------------------------------------------------------- HTTP
    def _request(self, path: str, payload: dict | None = None, retries: int = RETRIES) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        for attempt in range(retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.config.request_timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as err:
                if err.code in _FATAL_STATUS:
                    detail = err.read().decode(errors="replace")[:200].replace("\n", " ")
                    raise ServerError(f"{self.url}{path}: HTTP {err.code} {detail}".strip()) from None
                if err.code not in _RETRY_STATUS or attempt == retries:
                    raise
            except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
                if attempt == retries:
                    reason = getattr(err, "reason", err)
                    raise ServerError(f"cannot reach the server at {self.url}: {reason}") from None
            time.sleep(BACKOFF_S * 2**attempt)
        raise AssertionError("unreachable")

    def _check_server(self) -> None:
        try:
            self._request("/models", retries=0)
        except ServerError as err:
            if "HTTP 404" not in str(err):  # some servers have no /models; 401 / 403 / unreachable are fatal
                raise
        except (urllib.error.HTTPError, json.JSONDecodeError) as err:
            logger.debug("GET %s/models: %s", self.url, err)

    def _chat(self, sample: Sample, max_tokens: int, risk: bool) -> tuple[dict | None, int, str | None]:
        think = sample_think(sample, self.config.think)
        fits = None
        if self.renderer is not None:
            budget = self.renderer.max_model_len - max_tokens
            fits = lambda messages: self.renderer.fits(messages, think, budget)  # noqa: E731
        prompt = make_prompt(sample, think, self.config.candidate_prompt, fits)
        payload = {"model": self.config.model, "messages": prompt.messages, "max_tokens": max_tokens, "temperature": 0}
        if risk:
            payload.update(logprobs=True, top_logprobs=self.config.top_logprobs)
        if self.config.template_kwargs:
            payload["chat_template_kwargs"] = {"enable_thinking": think}
        try:
            return self._request("/chat/completions", payload), prompt.events_dropped, None
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:200].replace("\n", " ")
            return None, prompt.events_dropped, f"HTTP {err.code}: {detail}"

    def _map(self, fn, samples: list[Sample]) -> list[Output]:
        with self.timer, ThreadPoolExecutor(max_workers=max(1, self.config.batch_size)) as pool:
            return list(pool.map(fn, samples))

    # ------------------------------------------------------------------------------------------------ requests
    def generate(self, samples: list[Sample]) -> list[Output]:
        return self._map(self._generate_one, samples)

    def _generate_one(self, sample: Sample) -> Output:
        response, dropped, error = self._chat(sample, self.config.max_new_tokens, risk=False)
        if response is None:
            return Output(events_dropped=dropped, error=error)
        return Output(text=_content(response), events_dropped=dropped)

    def score_risk(self, samples: list[Sample]) -> list[Output]:
        return self._map(self._score_one, samples)

    def _score_one(self, sample: Sample) -> Output:
        response, dropped, error = self._chat(sample, 1, risk=True)
        if response is None:
            return Output(events_dropped=dropped, error=error)
        text = _content(response)
        p_yes = yes_probability(_top_logprobs(response))
        if p_yes is not None:
            return Output(text=text, p_yes=p_yes, source="logprobs", events_dropped=dropped)
        if not self._warned_no_logprobs:
            self._warned_no_logprobs = True
            logger.warning("server returned no yes/no logprobs: risk scores fall back to the answer text (0/1)")
        answer = parse_risk(text)
        p_yes = None if answer is None else float(answer == "yes")
        return Output(text=text, p_yes=p_yes, source="text" if answer else None, events_dropped=dropped)


def _content(response: dict) -> str:
    try:
        return response["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _top_logprobs(response: dict) -> list[tuple[str, float]]:
    """(token, logprob) of the first generated position: its top alternatives plus the sampled token."""
    try:
        first = response["choices"][0]["logprobs"]["content"][0]
    except (KeyError, IndexError, TypeError):
        return []
    pairs = [(t.get("token", ""), t.get("logprob")) for t in first.get("top_logprobs") or []]
    if not any(token == first.get("token") for token, _ in pairs):
        pairs.append((first.get("token", ""), first.get("logprob")))
    return pairs

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""OpenAI-compatible backend (``vllm serve``, SGLang, hosted APIs) over plain HTTP (standard library only).

Decision-making: ``/chat/completions`` with ``temperature=0`` and ``max_tokens=max_new_tokens``. Risk: ``max_tokens=1``
with ``logprobs`` / ``top_logprobs``; P(yes) sums the probability of the yes / no spellings among the returned top
tokens. When the server returns no logprobs (or neither answer is among them), the score falls back to the answer text
(yes -> 1.0, no -> 0.0, recorded with ``source="text"``) and a warning says so once: AUROC from hard scores is lower.

A broken answer is an error, not a prediction: a timeout, HTTP 408 / 429 / 5xx, a body that is not JSON, ``choices:
[]``, an ``error`` object, ``content: null`` or a logprob that is not a finite number is retried ``max_retries`` times
with exponential backoff, then the sample is recorded as failed with its reason (excluded from the scores, retried by
later runs). Other 4xx fail the sample at once; 401 / 403 / 404 and an unreachable server stop the run (finished
predictions are kept). Credentials in ``--base-url`` (``user:pass@``, query values) and the API key are sent but never
logged or written: every message goes through :class:`~ehr_r1.evaluation.redaction.Redactor`.
"""

import base64
import http.client
import json
import logging
import math
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import Backend, Output, Timer, yes_probability
from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.chat import MAX_MODEL_LEN, ChatRenderer, load_tokenizer
from ehr_r1.evaluation.redaction import Redactor, redact_url
from ehr_r1.evaluation.sample_prompt import Prompt, make_prompt, sample_think
from ehr_r1.prompting import YES, parse_risk


logger = logging.getLogger(__name__)

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_FATAL_STATUS = {401, 403, 404}  # wrong key, wrong URL or unknown model: every request would fail the same way
_DETAIL_CHARS = 200


class ServerError(EhrR1Error):
    """The server cannot be used at all (the run stops; finished predictions are kept)."""


class RequestFailed(Exception):
    """One request failed; ``retry``: worth another attempt; ``fatal``: raise ServerError once retries are spent."""

    def __init__(self, reason: str, retry: bool = True, fatal: bool = False):
        super().__init__(reason)
        self.reason, self.retry, self.fatal = reason, retry, fatal


def _bad(reason: str) -> RequestFailed:
    return RequestFailed(f"bad response: {reason}")


class OpenAIBackend(Backend):
    """Sends one chat-completions request per sample, ``batch_size`` requests at a time."""

    name = "openai"

    def __init__(self, config):
        if not config.base_url:
            raise EhrR1Error("--base-url is required with --backend openai (e.g. http://127.0.0.1:8000/v1)")
        if not config.model:
            raise EhrR1Error("--model (the served model name) is required with --backend openai")
        self.config, self.timer, self.batch_size = config, Timer(), max(1, config.batch_size)
        self.api_key = os.environ.get(config.api_key_env, "")
        self._setup_url(config.base_url)
        self.renderer = self._truncation_renderer()
        self._warned_no_logprobs = False
        self._check_server()

    def _setup_url(self, base_url: str) -> None:
        """Split credentials off ``base_url``: user:pass@ becomes Basic auth, the query is kept on every request."""
        parts = urlsplit(base_url)
        query_values = [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
        secrets = [self.api_key, parts.password, parts.username, *query_values]
        self.redact = Redactor([*secrets, *(unquote(s) for s in secrets if s)])
        self.url = redact_url(base_url.rstrip("/"))  # the only form of the URL that is ever shown
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise EhrR1Error(f"--base-url must start with http:// or https://, got {self.url!r}")
        host = parts.netloc.rsplit("@", 1)[-1]
        self._base = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
        self._query = parts.query
        self._headers = {"Content-Type": "application/json"}
        if self.api_key:
            self._headers["Authorization"] = f"Bearer {self.api_key}"
            if parts.username:
                logger.warning("--base-url has user credentials and an API key is set: sending the API key only")
        elif parts.username:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    def _truncation_renderer(self) -> ChatRenderer | None:
        """Counts prompts as the server will render them: its template, ``enable_thinking`` only when sent."""
        name = self.config.tokenizer or (self.config.model if Path(self.config.model).is_dir() else None)
        if name is None:
            logger.warning("no tokenizer for the served model (--tokenizer): prompts are sent untruncated")
            return None
        max_model_len = self.config.max_model_len or MAX_MODEL_LEN
        tokenizer = load_tokenizer(name)
        protocol, think, kwarg = self.config.protocol, self.config.think, self.config.template_kwargs
        return ChatRenderer(tokenizer, max_model_len, protocol, think, empty_think=False, thinking_kwarg=kwarg)

    def settings(self) -> dict:
        return {
            "base_url": self.url,
            "top_logprobs": self.config.top_logprobs,
            "template_kwargs": self.config.template_kwargs,
            "truncation_tokenizer": self.config.tokenizer or (self.config.model if self.renderer else None),
            "max_model_len": self.renderer.max_model_len if self.renderer else None,
            "protocol": self.config.protocol,
            "max_retries": self.config.max_retries,
            "request_timeout": self.config.request_timeout,
        }

    # ---------------------------------------------------------------------------------------------------- HTTP
    def _detail(self, err: urllib.error.HTTPError) -> str:
        try:
            body = err.read().decode(errors="replace")
        except (OSError, http.client.HTTPException):
            body = ""
        return self.redact(" ".join(body[:_DETAIL_CHARS].split()))

    def _send(self, path: str, payload: dict | None = None):
        """One request; the parsed JSON body, or RequestFailed / ServerError."""
        url = self._base + path + (f"?{self._query}" if self._query else "")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, headers=self._headers)
        timeout = self.config.request_timeout
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            if err.code in _FATAL_STATUS:
                raise ServerError(f"{self.url}{path}: HTTP {err.code} {self._detail(err)}".strip()) from None
            raise RequestFailed(f"HTTP {err.code}: {self._detail(err)}", retry=err.code in _RETRY_STATUS) from None
        except urllib.error.URLError as err:  # raised while connecting
            if isinstance(err.reason, TimeoutError):
                raise RequestFailed(f"timeout: no connection within {timeout:g} s") from None
            reason = self.redact(str(err.reason))
            raise RequestFailed(f"cannot reach the server at {self.url}: {reason}", fatal=True) from None
        except TimeoutError:
            raise RequestFailed(f"timeout: no response within {timeout:g} s") from None
        except (OSError, http.client.HTTPException) as err:  # reset, closed without a response, truncated body
            raise RequestFailed(f"connection error: {type(err).__name__}") from None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _bad("body is not JSON") from None

    def _check_server(self) -> None:
        try:
            self._send("/models")
        except RequestFailed as err:
            if err.fatal:
                raise ServerError(err.reason) from None
            logger.debug("GET %s/models: %s", self.url, err.reason)
        except ServerError as err:
            if "HTTP 404" not in str(err):  # some servers have no /models; 401 / 403 / unreachable are fatal
                raise

    def _complete(self, sample: Sample, payload: dict, risk: bool) -> tuple[str, list[tuple[str, float]]]:
        """(content, first-token logprobs) of a valid answer, retried with backoff; RequestFailed when none came."""
        retries, backoff = self.config.max_retries, self.config.retry_backoff
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                return self._parse(self._send("/chat/completions", payload), risk)
            except RequestFailed as err:
                failure = err
                if not err.retry:
                    break
                if attempt < retries:
                    logger.debug("%s: attempt %d failed (%s), retrying", sample.key, attempt + 1, err.reason)
        if failure.fatal:
            raise ServerError(failure.reason)
        attempts = attempt + 1
        raise RequestFailed(f"{failure.reason} ({attempts} attempt{'s' * (attempts > 1)})", retry=False)

    def _parse(self, response, risk: bool) -> tuple[str, list[tuple[str, float]]]:
        if not isinstance(response, dict):
            raise _bad("body is not a JSON object")
        if response.get("error"):
            error = response["error"]
            message = error.get("message", "") if isinstance(error, dict) else error
            raise _bad(f"error object: {self.redact(' '.join(str(message)[:_DETAIL_CHARS].split()))}")
        choices = response.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _bad("no choices")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if content is None:
            raise _bad("content is null")
        if not isinstance(content, str):
            raise _bad("content is not a string")
        return content, _top_logprobs(choices[0]) if risk else []

    def _prompts(self, samples: list[Sample], max_tokens: int) -> list[Prompt]:
        """The batch's chats, fitted together to ``max_model_len - max_tokens`` tokens when there is a tokenizer."""
        if self.renderer is not None:
            return self.renderer.prompts(samples, max_tokens)
        return [make_prompt(s, sample_think(s, self.config.think), self.config.protocol) for s in samples]

    def _chat(
        self, sample: Sample, prompt: Prompt, max_tokens: int, risk: bool
    ) -> tuple[str | None, list, str | None]:
        """(content, logprobs, error) of one sample."""
        payload = {"model": self.config.model, "messages": prompt.messages, "max_tokens": max_tokens, "temperature": 0}
        if risk:
            payload.update(logprobs=True, top_logprobs=self.config.top_logprobs)
        if self.config.template_kwargs:
            payload["chat_template_kwargs"] = {"enable_thinking": prompt.think}
        try:
            content, logprobs = self._complete(sample, payload, risk)
        except RequestFailed as err:
            logger.warning("%s failed: %s", sample.key, err.reason)
            return None, [], err.reason
        return content, logprobs, None

    def _map(self, fn, samples: list[Sample], max_tokens: int) -> list[Output]:
        prompts = self._prompts(samples, max_tokens)
        with self.timer, ThreadPoolExecutor(max_workers=self.batch_size) as pool:
            return list(pool.map(fn, samples, prompts))

    # ------------------------------------------------------------------------------------------------ requests
    def generate(self, samples: list[Sample]) -> list[Output]:
        return self._map(self._generate_one, samples, self.config.max_new_tokens)

    def _generate_one(self, sample: Sample, prompt: Prompt) -> Output:
        text, _, error = self._chat(sample, prompt, self.config.max_new_tokens, risk=False)
        return Output(text=text, events_dropped=prompt.events_dropped, error=error)

    def score_risk(self, samples: list[Sample]) -> list[Output]:
        return self._map(self._score_one, samples, 1)

    def _score_one(self, sample: Sample, prompt: Prompt) -> Output:
        text, logprobs, error = self._chat(sample, prompt, 1, risk=True)
        dropped = prompt.events_dropped
        if error is not None:
            return Output(events_dropped=dropped, error=error)
        p_yes = yes_probability(logprobs)
        if p_yes is not None:
            return Output(text=text, p_yes=p_yes, source="logprobs", events_dropped=dropped)
        if not self._warned_no_logprobs:
            self._warned_no_logprobs = True
            logger.warning("server returned no yes/no logprobs: risk scores fall back to the answer text (0/1)")
        answer = parse_risk(text)
        p_yes = None if answer is None else float(answer == YES)
        return Output(text=text, p_yes=p_yes, source="text" if answer else None, events_dropped=dropped)


def _logprob(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"non-numeric logprob: {str(value)[:20]!r}")
    if not math.isfinite(value):
        raise _bad(f"non-finite logprob: {value}")
    if value > 1e-6:
        raise _bad(f"positive logprob: {value}")
    return float(value)


def _top_logprobs(choice: dict) -> list[tuple[str, float]]:
    """(token, logprob) of the first generated position: its top alternatives plus the sampled token.

    No logprobs at all is not an error (the score falls back to the text); logprobs that are there must be finite.
    """
    try:
        first = choice["logprobs"]["content"][0]
        alternatives = first.get("top_logprobs") or []
    except (KeyError, IndexError, TypeError, AttributeError):
        return []
    pairs = [(str(t.get("token", "")), _logprob(t.get("logprob"))) for t in alternatives if isinstance(t, dict)]
    if "logprob" in first and not any(token == first.get("token") for token, _ in pairs):
        pairs.append((str(first.get("token", "")), _logprob(first.get("logprob"))))
    return pairs

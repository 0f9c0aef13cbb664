# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A real OpenAI-compatible HTTP server on 127.0.0.1 (a free port) for tests, driven by the real clients.

Serves ``GET /v1/models`` and ``POST /v1/chat/completions``. What a chat request gets is scripted: first from a FIFO
queue of replies (:meth:`OpenAIServer.queue`), then from ``respond(request)``, a function of the request that returns a
:class:`Reply`, a response body (``dict``), or the assistant content (``str``; repeated for ``n`` choices) / contents
(``list[str]``, one choice each). :func:`broken` builds each kind of broken answer a client must survive. Usage fields
are filled in; ``latency`` delays every answer; ``api_key`` makes the server answer 401 to other keys;
:meth:`OpenAIServer.hold` blocks chat requests past a count until :meth:`OpenAIServer.release`. Threaded (one thread per connection, backlog 128):
fine for ~64 concurrent requests.

    with OpenAIServer(lambda request: "yes") as server:
        client = openai.OpenAI(base_url=server.url, api_key="x")
        ...
"""

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


BROKEN_KINDS = (
    "non_json",  # 200 with an HTML body
    "no_choices",  # 200 with "choices": []
    "error_object",  # 200 with {"error": {...}} (as some proxies and vLLM on internal errors)
    "null_content",  # 200 with "content": null
    "non_numeric_logprob",  # a top logprob that is a string
    "inf_logprob",  # a top logprob of -Infinity
    "nan_logprob",  # a top logprob of NaN
    "http_500",
    "http_503",
    "http_429",
    "timeout",  # answers only after a long delay
    "drop",  # closes the connection without answering
)


@dataclass
class Reply:
    """One scripted answer: ``body`` (dict as JSON, str / bytes sent raw), HTTP status, extra delay, or a dropped
    connection."""

    body: dict | str | bytes | None = None
    status: int = 200
    latency: float = 0.0
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """A request as the server saw it (``index``: its arrival number, from 0)."""

    index: int
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict | None

    @property
    def user(self) -> str:
        """The last user message's content ('' when there is none)."""
        messages = [m for m in (self.body or {}).get("messages", []) if m.get("role") == "user"]
        return messages[-1].get("content") or "" if messages else ""


def top_logprobs(probs: dict[str, float], token: str | None = None) -> dict:
    """A choice's ``logprobs`` for one generated token: ``probs`` are the top alternatives (token -> probability)."""
    token = token if token is not None else max(probs, key=probs.get)
    alternatives = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in probs.items()]
    first = {"token": token, "logprob": math.log(probs.get(token, 1e-9)), "bytes": list(token.encode())}
    return {"content": [first | {"top_logprobs": alternatives}]}


def completion(
    contents: str | None | list[str | None],
    model: str = "fake-model",
    logprobs: dict | list[dict | None] | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 0,
) -> dict:
    """A ``chat.completion`` body with one choice per content (``None`` gives ``content: null``) and usage fields."""
    contents = contents if isinstance(contents, list) else [contents]
    per_choice = logprobs if isinstance(logprobs, list) else [logprobs] * len(contents)
    choices = []
    for index, (content, lp) in enumerate(zip(contents, per_choice, strict=True)):
        choice = {"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        choices.append(choice | ({"logprobs": lp} if lp is not None else {}))
    completion_tokens = sum(len((c or "").split()) for c in contents)
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def broken(kind: str, latency: float = 30.0, message: str = "upstream failure") -> Reply:
    """A broken answer of one of :data:`BROKEN_KINDS` (``message`` goes into error bodies)."""
    bad_logprob = {"non_numeric_logprob": "high", "inf_logprob": -math.inf, "nan_logprob": math.nan}
    if kind == "non_json":
        return Reply("<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"Content-Type": "text/html"})
    if kind == "no_choices":
        return Reply(completion("x") | {"choices": []})
    if kind == "error_object":
        return Reply({"error": {"message": message, "type": "internal_error", "code": 500}})
    if kind == "null_content":
        return Reply(completion(None))
    if kind in bad_logprob:
        logprobs = top_logprobs({"yes": 0.6, "no": 0.4})
        logprobs["content"][0]["top_logprobs"][0]["logprob"] = bad_logprob[kind]
        return Reply(completion("yes", logprobs=logprobs))
    if kind.startswith("http_"):
        return Reply({"error": {"message": message, "type": "server_error"}}, status=int(kind[5:]))
    if kind == "timeout":
        return Reply(completion("too late"), latency=latency)
    if kind == "drop":
        return Reply(drop=True)
    raise ValueError(f"unknown broken kind {kind!r}; one of {BROKEN_KINDS}")


def _default_respond(request: Request) -> str:
    return "ok"


class OpenAIServer:
    """A threaded OpenAI-compatible server; a context manager (``start`` / ``stop``)."""

    def __init__(
        self,
        respond: Callable[[Request], Reply | dict | str | list] | None = None,
        model: str = "fake-model",
        latency: float = 0.0,
        api_key: str | None = None,
    ):
        self.respond, self.model, self.latency, self.api_key = respond or _default_respond, model, latency, api_key
        self.requests: list[Request] = []
        self.hold_after: int | None = None
        self._n_chat = 0
        self._replies: deque[Reply | dict | str | list] = deque()
        self._lock = threading.Lock()
        self._released, self._stopping = threading.Event(), threading.Event()
        self._httpd: ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------------------------------------- control
    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>/v1``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def queue(self, *replies: Reply | dict | str | list) -> None:
        """Answer the next chat requests with these, in order (then ``respond`` takes over again)."""
        with self._lock:
            self._replies.extend(replies)

    def hold(self, after: int) -> None:
        """Block chat requests after the first ``after`` ones until :meth:`release`."""
        self._released.clear()
        self.hold_after = after

    def release(self) -> None:
        """Let requests held by ``hold_after`` go on (and stop holding)."""
        self.hold_after = None
        self._released.set()

    def start(self) -> "OpenAIServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------------ answers
    def _record(self, method: str, raw_path: str, headers: dict, body: dict | None) -> Request:
        parts = urlsplit(raw_path)
        with self._lock:
            request = Request(len(self.requests), method, parts.path, parse_qs(parts.query), headers, body)
            self.requests.append(request)
        return request

    def _authorized(self, request: Request) -> Reply | None:
        auth = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")  # HTTP: any case
        if self.api_key is None or auth == f"Bearer {self.api_key}":
            return None
        given = auth.removeprefix("Bearer ")
        message = f"Incorrect API key provided: {given}. You can find your API key at https://example.invalid."
        return Reply({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}, 401)

    def answer(self, request: Request) -> Reply:
        """The reply to ``request`` (called on the handler thread)."""
        denied = self._authorized(request)
        if denied is not None:
            return denied
        if request.path.rstrip("/").endswith("/models") and request.method == "GET":
            return Reply({"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "tests"}]})
        if not request.path.endswith("/chat/completions") or request.method != "POST":
            return Reply({"error": {"message": f"no route {request.method} {request.path}"}}, 404)
        if request.body is None:
            return Reply({"error": {"message": "body is not JSON"}}, 400)
        with self._lock:
            chat_index, self._n_chat = self._n_chat, self._n_chat + 1
        if self.hold_after is not None and chat_index >= self.hold_after:
            self._released.wait(120)
        with self._lock:
            scripted = self._replies.popleft() if self._replies else None
        return self._as_reply(request, scripted if scripted is not None else self.respond(request))

    def _as_reply(self, request: Request, value) -> Reply:
        if isinstance(value, Reply):
            return value
        if isinstance(value, dict):
            return Reply(value)
        n = int((request.body or {}).get("n") or 1)
        contents = value if isinstance(value, list) else [value] * n
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in request.body.get("messages", []))
        return Reply(completion(contents, model=self.model, prompt_tokens=prompt_tokens))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 refuses connections under a burst of concurrent clients


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai / httpx clients expect

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._serve(None)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self._serve(body if isinstance(body, dict) else None)

    def _serve(self, body: dict | None) -> None:
        owner = self.owner
        request = owner._record(self.command, self.path, dict(self.headers), body)
        reply = owner.answer(request)
        delay = owner.latency + reply.latency
        if delay and owner._stopping.wait(delay):
            reply = Reply(drop=True)  # shutting down: do not answer late
        if reply.drop:
            self.close_connection = True
            return
        if isinstance(reply.body, (dict, list)):
            data, kind = json.dumps(reply.body).encode(), "application/json"  # NaN / Infinity as Python writes them
        else:
            data, kind = (
                (reply.body or "").encode() if isinstance(reply.body, str) else reply.body or b"",
                "text/plain",
            )
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.headers.get("Content-Type", kind))
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout) before the answer came
            self.close_connection = True

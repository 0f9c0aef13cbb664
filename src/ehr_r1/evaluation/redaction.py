# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Redaction of credentials before anything is logged or written (predictions.jsonl, results.json, report.md).

Covered: user:password@ in URLs, query-string values (``?key=...``), ``Bearer`` tokens, ``sk-...`` style keys and any
secret passed explicitly (the API key read from ``--api-key-env``, URL passwords).
"""

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:api[_-]?key|key|token|access[_-]?token|auth|sig|signature|password|secret|code)=)[^&#\s\"']+"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_KEY_LIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}")


def redact_url(url: str | None) -> str | None:
    """``url`` without its user:password and with every query value masked."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "@" in parts.netloc:
        netloc = f"{MASK}@{netloc}"
    query = urlencode([(k, MASK) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Redactor:
    """Masks known secrets and credential-shaped substrings in text."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        # short strings would mask ordinary words; real keys and passwords are longer
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
        text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)
        text = _BEARER.sub(rf"\g<1> {MASK}", text)
        return _KEY_LIKE.sub(rf"\g<1>-{MASK}", text)

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Token budgets at build time: drop whole oldest events until a sample's full chat fits ``max_length`` tokens.

The reference truncates tokens from the left after templating, losing the system prompt and the demographics
(spec §4.5). Here the header blocks, the instruction, the think switch and the chat template always survive.

Counting is batched and bounded: per over-budget sample, the header chat and only the newest events that could fit
are tokenised (token counts of blocks separated by blank lines add up, as the BPE pre-tokeniser splits on
newlines), then one exact check of the result.
"""

import logging
from collections.abc import Sequence

import polars as pl
from tqdm.auto import tqdm

from ehr_r1 import prompting


logger = logging.getLogger(__name__)
_BATCH = 256
_BYTES_PER_TOKEN = 8  # EHR text averages 3-5 bytes per BPE token; 8 leaves a wide margin


class ChatTokenCounter:
    """Token counts with a tokenizer and its own chat template (batched through the fast tokenizer)."""

    def __init__(self, tokenizer_path: str):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)

    def texts(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def chats(self, chats: Sequence[list[dict[str, str]]]) -> list[int]:
        return self.texts([self.tokenizer.apply_chat_template(c, tokenize=False) for c in chats])


def longest_chat(input_text: str, instruction: str, output: str) -> list[dict[str, str]]:
    """The longest training form of a sample: think switch in the user turn, empty think block before the answer."""
    target = prompting.assistant_target(output, think=False)
    return prompting.build_messages(input_text, instruction, completion=target, think=False)


def _surely_fits(chat: list[dict[str, str]], max_length: int) -> bool:
    """A byte-level BPE token holds at least one byte; 128 bytes cover the template's own text."""
    return sum(len(m["content"].encode()) for m in chat) + 128 <= max_length


def _kept_from_newest(event_tokens: list[int], budget: int) -> int:
    """How many of the newest events (tokens given newest first) fit ``budget``, one separator token each."""
    total = 0
    for m, n in enumerate(event_tokens):
        total += n + 1
        if total > budget:
            return m
    return len(event_tokens)


def _newest_candidates(events: list[str], budget: int) -> list[str]:
    """Newest events, newest first, up to ``_BYTES_PER_TOKEN * budget`` bytes: older ones cannot fit."""
    out, size = [], 0
    for event in reversed(events):
        out.append(event)
        size += len(event.encode())
        if size > _BYTES_PER_TOKEN * budget:
            break
    return out


def _fit_batch(batch: list[tuple[str, str, str]], counter: ChatTokenCounter, max_length: int) -> list[tuple[str, int]]:
    """(input, events dropped) per sample: header kept, newest events kept while they fit."""
    split = [prompting.split_input_blocks(r[0]) for r in batch]
    heads = counter.chats(
        [longest_chat("\n\n".join(h), ins, out) for (h, _), (_, ins, out) in zip(split, batch, strict=True)]
    )
    budgets = [max(0, max_length - n) for n in heads]
    candidates = [_newest_candidates(events, b) for (_, events), b in zip(split, budgets, strict=True)]
    counts = counter.texts([e for c in candidates for e in c])
    drops, pos = [], 0
    for (_, events), cands, budget in zip(split, candidates, budgets, strict=True):
        tokens, pos = counts[pos : pos + len(cands)], pos + len(cands)
        kept = _kept_from_newest(tokens, budget)
        if kept == len(cands) < len(events):  # text denser than assumed: count every event
            kept = _kept_from_newest(counter.texts(events[::-1]), budget)
        drops.append(len(events) - kept)
    texts = ["\n\n".join(h + e[d:]) for (h, e), d in zip(split, drops, strict=True)]
    exact = counter.chats([longest_chat(t, ins, out) for t, (_, ins, out) in zip(texts, batch, strict=True)])
    return [
        (text, drop) if n <= max_length else _exact(*split[i], drop + 1, batch[i], counter, max_length)
        for i, (text, drop, n) in enumerate(zip(texts, drops, exact, strict=True))
    ]


def _exact(header, events, drop, record, counter: ChatTokenCounter, max_length: int) -> tuple[str, int]:
    """Drop one more event while the exact count is over budget (token counts of blocks rarely differ by one)."""
    _, instruction, output = record
    while True:
        text = "\n\n".join(header + events[drop:])
        if drop >= len(events) or counter.chats([longest_chat(text, instruction, output)])[0] <= max_length:
            return text, drop
        drop += 1


def fit_inputs(rows: pl.DataFrame, counter: ChatTokenCounter, max_length: int) -> pl.DataFrame:
    """Rows whose ``input`` drops whole oldest events until the longest chat form fits ``max_length`` tokens.

    Adds ``events_dropped``. A sample whose header alone does not fit keeps only its header.
    """
    records = list(rows.select("input", "instruction", "output").iter_rows())
    inputs = [r[0] for r in records]
    dropped = [0] * len(records)
    todo = [i for i, r in enumerate(records) if not _surely_fits(longest_chat(*r), max_length)]
    for start in tqdm(range(0, len(todo), _BATCH), desc="fitting token budget", unit="batch"):
        chunk = todo[start : start + _BATCH]
        for i, (text, k) in zip(chunk, _fit_batch([records[i] for i in chunk], counter, max_length), strict=True):
            inputs[i], dropped[i] = text, k
    out = rows.with_columns(
        input=pl.Series(inputs, dtype=pl.String), events_dropped=pl.Series(dropped, dtype=pl.Int32)
    )
    logger.info("token budget %d: %d samples lost old events", max_length, sum(d > 0 for d in dropped))
    return out

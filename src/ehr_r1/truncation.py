# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The one truncation engine: drop whole oldest event blocks until a sample's chat fits a token budget.

Used at build time (``build-ins --max-length``: blocks come from ``ehr_r1.render``) and in evaluation (blocks come
from ``blocks_of_text``, which splits released or built ``input`` texts at event headers). The reference truncates
tokens from the left after templating, losing the system prompt and the demographics (spec §4.5); here the header
blocks, the instruction, the think switch and the chat template always survive.

Counting goes through one protocol, ``TokenCounter``, and is batched and bounded: per over-budget sample, the header
chat and only the newest events that could fit are tokenised (token counts of blocks separated by blank lines add
up, as the BPE pre-tokeniser splits on newlines), then one exact check of the result.
"""

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tqdm.auto import tqdm


logger = logging.getLogger(__name__)
Chat = list[dict[str, str]]
BLOCK_JOIN = "\n\n"
_BATCH = 256
_BYTES_PER_TOKEN = 8  # EHR text averages 3-5 bytes per BPE token; 8 leaves a wide margin
_TEMPLATE_BYTES = 128  # bytes of chat-template text around the messages, at most
_EVENT_BOUNDARY = re.compile(r"\n\n(?=## )")
_HEADER_EVENTS = ("## Patient Demographics", "## Discharge [", "## Admissions [")


class TokenCounter(Protocol):
    """Counts tokens the way the model will see them."""

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of plain texts (no special tokens)."""

    def count_chats(self, chats: Sequence[Chat]) -> list[int]:
        """Tokens of chats rendered with the model's chat template, as they will be sent."""


class ChatTokenCounter:
    """``TokenCounter`` from a tokenizer and its own chat template (batched through the fast tokenizer).

    Args:
        tokenizer: a tokenizer object, or a local folder / Hub id to load one from.
        template_kwargs: extra ``apply_chat_template`` arguments (``add_generation_prompt``, ``enable_thinking``).
    """

    def __init__(self, tokenizer, **template_kwargs):
        if isinstance(tokenizer, str):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        self.tokenizer, self.template_kwargs = tokenizer, template_kwargs

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def count_chats(self, chats: Sequence[Chat]) -> list[int]:
        render = self.tokenizer.apply_chat_template
        return self.count_texts([render(c, tokenize=False, **self.template_kwargs) for c in chats])


@dataclass
class BlockedInput:
    """One sample to fit: its header blocks, its event blocks (oldest first) and its chat for an ``input`` text."""

    header: list[str]
    events: list[str]
    chat: Callable[[str], Chat]

    def units(self) -> tuple[list[str], list[str]]:
        """(header text, droppable units): an empty event block (an unrendered type) rides with the block before
        it, so dropping events never leaves a run of blank lines behind. Joined, they give the whole input."""
        head, units = list(self.header), []
        for block in self.events:
            if block:
                units.append(block)
            elif units:
                units[-1] += BLOCK_JOIN
            else:
                head.append(block)
        return head, units


def blocks_of_text(input_text: str) -> tuple[list[str], list[str]]:
    """Split a rendered ``input`` text into (header blocks, event blocks) at ``\\n\\n## `` boundaries.

    For inputs that come as text (released EHR-Bench JSONL, built parquet read back in evaluation); builds use the
    renderer's own blocks. Header blocks are the leading demographics / previous-discharge / admission blocks.
    """
    blocks = _EVENT_BOUNDARY.split(input_text)
    n_header = 0
    while n_header < len(blocks) and blocks[n_header].lstrip("\n").startswith(_HEADER_EVENTS):
        n_header += 1
    return blocks[:n_header], blocks[n_header:]


def _join(head: list[str], units: list[str], drop: int) -> str:
    return BLOCK_JOIN.join(head + units[drop:])


def _surely_fits(chat: Chat, max_tokens: int) -> bool:
    """A byte-level BPE token holds at least one byte; ``_TEMPLATE_BYTES`` cover the template's own text."""
    return sum(len(m["content"].encode()) for m in chat) + _TEMPLATE_BYTES <= max_tokens


def _kept_from_newest(unit_tokens: list[int], budget: int) -> int:
    """How many of the newest units (tokens given newest first) fit ``budget``, one separator token each."""
    total = 0
    for m, n in enumerate(unit_tokens):
        total += n + 1
        if total > budget:
            return m
    return len(unit_tokens)


def _newest_candidates(units: list[str], budget: int) -> list[str]:
    """Newest units, newest first, up to ``_BYTES_PER_TOKEN * budget`` bytes: older ones cannot fit."""
    out, size = [], 0
    for unit in reversed(units):
        out.append(unit)
        size += len(unit.encode())
        if size > _BYTES_PER_TOKEN * budget:
            break
    return out


def _fit_batch(batch: list[BlockedInput], counter: TokenCounter, max_tokens: int) -> list[tuple[str, int]]:
    """(input, units dropped) per sample: header kept, newest units kept while they fit."""
    split = [item.units() for item in batch]
    heads = counter.count_chats([item.chat(BLOCK_JOIN.join(h)) for item, (h, _) in zip(batch, split, strict=True)])
    budgets = [max(0, max_tokens - n) for n in heads]
    candidates = [_newest_candidates(units, b) for (_, units), b in zip(split, budgets, strict=True)]
    counts = counter.count_texts([u for c in candidates for u in c])
    drops, pos = [], 0
    for (_, units), cands, budget in zip(split, candidates, budgets, strict=True):
        tokens, pos = counts[pos : pos + len(cands)], pos + len(cands)
        kept = _kept_from_newest(tokens, budget)
        if kept == len(cands) < len(units):  # text denser than assumed: count every unit
            kept = _kept_from_newest(counter.count_texts(units[::-1]), budget)
        drops.append(len(units) - kept)
    texts = [_join(h, u, d) for (h, u), d in zip(split, drops, strict=True)]
    exact = counter.count_chats([item.chat(t) for item, t in zip(batch, texts, strict=True)])
    return [
        (text, drop) if n <= max_tokens else _exact(*split[i], drop + 1, batch[i], counter, max_tokens)
        for i, (text, drop, n) in enumerate(zip(texts, drops, exact, strict=True))
    ]


def _exact(head, units, drop, item: BlockedInput, counter: TokenCounter, max_tokens: int) -> tuple[str, int]:
    """Drop one more unit while the exact count is over budget (token counts of blocks rarely differ by one)."""
    while True:
        text = _join(head, units, drop)
        if drop >= len(units) or counter.count_chats([item.chat(text)])[0] <= max_tokens:
            return text, drop
        drop += 1


def fit_blocks(
    items: Sequence[BlockedInput], counter: TokenCounter, max_tokens: int, progress: bool = True
) -> list[tuple[str, int]]:
    """Per item: (``input`` text whose chat fits ``max_tokens``, events dropped). Items that fit are untouched;
    an item whose header alone does not fit keeps only its header."""
    out = [(BLOCK_JOIN.join([*i.header, *i.events]), 0) for i in items]
    todo = [k for k, (text, _) in enumerate(out) if not _surely_fits(items[k].chat(text), max_tokens)]
    batches = range(0, len(todo), _BATCH)
    for start in tqdm(batches, desc="fitting token budget", unit="batch", disable=not progress or len(batches) < 2):
        chunk = todo[start : start + _BATCH]
        for k, fitted in zip(chunk, _fit_batch([items[k] for k in chunk], counter, max_tokens), strict=True):
            out[k] = fitted
    return out


def fit_text(text: str, chat: Callable[[str], Chat], counter: TokenCounter, max_tokens: int) -> tuple[str, int]:
    """``fit_blocks`` for one ``input`` given as text (evaluation)."""
    header, events = blocks_of_text(text)
    return fit_blocks([BlockedInput(header, events, chat)], counter, max_tokens, progress=False)[0]

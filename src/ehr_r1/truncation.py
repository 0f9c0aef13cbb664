# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The one truncation engine: drop whole oldest event blocks until a sample's chat fits a token budget.

Used at build time (``build-ins --max-length``: blocks come from ``ehr_r1.render``) and in evaluation (blocks come
from ``blocks_of_text``, which splits released or built ``input`` texts at event headers). The reference truncates
tokens from the left after templating, losing the system prompt and the demographics (docs/ehr-text-format.md); here the header
blocks, the instruction, the think switch and the chat template always survive.

Counting goes through one protocol, ``TokenCounter``. It is batched and cheap: token counts of blocks joined by blank
lines add up (the BPE pre-tokeniser splits at newlines), so each distinct event block is tokenised once however many
samples show it, a sample's count is the sum, and only results within 2 % of the budget get an exact check.
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
_SLACK = 0.02  # estimates within 2 % of the budget are checked with an exact count
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

    def units(self) -> tuple[list[str], list[tuple[str, int]]]:
        """(header blocks, droppable units): a unit is an event block and the empty blocks (unrendered types) after
        it, which leave with it, so dropping events never leaves a run of blank lines behind. Empty blocks before
        the first event stay with the header."""
        head, units = list(self.header), []
        for block in self.events:
            if block:
                units.append((block, 0))
            elif units:
                units[-1] = (units[-1][0], units[-1][1] + 1)
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


def _join(head: list[str], units: list[tuple[str, int]], drop: int) -> str:
    kept = [b for block, empties in units[drop:] for b in (block, *[""] * empties)]
    return BLOCK_JOIN.join(head + kept)


def _surely_fits(chat: Chat, max_tokens: int) -> bool:
    """A byte-level BPE token holds at least one byte; ``_TEMPLATE_BYTES`` cover the template's own text."""
    return sum(len(m["content"].encode()) for m in chat) + _TEMPLATE_BYTES <= max_tokens


class _BlockTokens:
    """Token counts of block texts, each distinct text counted once: an event shows in many samples' contexts."""

    def __init__(self, counter: TokenCounter):
        self.counter, self.counts = counter, {}

    def add(self, texts: list[str]) -> None:
        new = [t for t in dict.fromkeys(texts) if t and t not in self.counts]
        self.counts.update(zip(new, self.counter.count_texts(new), strict=True))

    def __call__(self, text: str) -> int:
        return self.counts[text] if text else 0


def _estimated_drop(overhead: int, head: list[str], units, tokens: _BlockTokens, max_tokens: int) -> tuple[int, int]:
    """(units to drop, estimated chat tokens): block counts add up, plus one token per blank-line join (the BPE
    pre-tokeniser splits at newlines; merges across a join only ever save tokens)."""
    total = overhead + sum(tokens(h) for h in head) + len(head) - 1
    sizes = [tokens(block) + 1 + empties for block, empties in units]  # the block, its join, its empty blocks
    total += sum(sizes)
    drop = 0
    while total > max_tokens and drop < len(units):
        total -= sizes[drop]
        drop += 1
    return drop, total


def _fit_batch(batch: list[BlockedInput], counter: TokenCounter, tokens: _BlockTokens, max_tokens: int):
    """(input, units dropped) per sample: header kept, newest units kept while the estimate fits; samples whose
    estimate is within ``_SLACK`` of the budget are checked exactly."""
    split = [item.units() for item in batch]
    tokens.add([b for head, units in split for b in (*head, *(u for u, _ in units))])
    overheads = counter.count_chats([item.chat("") for item in batch])
    out, check = [], []
    for k, ((head, units), overhead) in enumerate(zip(split, overheads, strict=True)):
        drop, estimate = _estimated_drop(overhead, head, units, tokens, max_tokens)
        out.append((_join(head, units, drop), drop))
        if estimate > max_tokens * (1 - _SLACK):
            check.append(k)
    exact = counter.count_chats([batch[k].chat(out[k][0]) for k in check])
    for k, n in zip(check, exact, strict=True):
        if n > max_tokens:
            out[k] = _exact(*split[k], out[k][1] + 1, batch[k], counter, max_tokens)
    return out


def _exact(head, units, drop, item: BlockedInput, counter: TokenCounter, max_tokens: int) -> tuple[str, int]:
    """Drop one more unit while the exact count is over budget."""
    while True:
        text = _join(head, units, drop)
        if drop >= len(units) or counter.count_chats([item.chat(text)])[0] <= max_tokens:
            return text, drop
        drop += 1


def fit_blocks(
    items: Sequence[BlockedInput], counter: TokenCounter, max_tokens: int, progress: bool = True
) -> list[tuple[str, int]]:
    """Per item: (``input`` text whose chat fits ``max_tokens``, events dropped). Items that surely fit are
    untouched; an item whose header alone does not fit keeps only its header. Each distinct block is tokenised once
    per call, so pass all the samples of a shard together."""
    out = [(BLOCK_JOIN.join([*i.header, *i.events]), 0) for i in items]
    todo = [k for k, (text, _) in enumerate(out) if not _surely_fits(items[k].chat(text), max_tokens)]
    tokens = _BlockTokens(counter)
    batches = range(0, len(todo), _BATCH)
    for start in tqdm(batches, desc="fitting token budget", unit="batch", disable=not progress or len(batches) < 2):
        chunk = todo[start : start + _BATCH]
        for k, fitted in zip(chunk, _fit_batch([items[k] for k in chunk], counter, tokens, max_tokens), strict=True):
            out[k] = fitted
    return out


def fit_text(text: str, chat: Callable[[str], Chat], counter: TokenCounter, max_tokens: int) -> tuple[str, int]:
    """``fit_blocks`` for one ``input`` given as text (evaluation)."""
    header, events = blocks_of_text(text)
    return fit_blocks([BlockedInput(header, events, chat)], counter, max_tokens, progress=False)[0]

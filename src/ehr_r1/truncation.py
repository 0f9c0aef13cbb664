# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Token budgets at build time: drop whole oldest events until a sample's full chat fits ``max_length`` tokens.

The reference truncates tokens from the left after templating, losing the system prompt and the demographics
(spec §4.5). Here the header blocks, the instruction, the think switch and the chat template always survive.
"""

import logging
from collections.abc import Callable

import polars as pl
from tqdm.auto import tqdm

from ehr_r1 import prompting


logger = logging.getLogger(__name__)


def chat_token_counter(tokenizer_path: str) -> Callable[[list[dict[str, str]]], int]:
    """Token count of a full chat (system, user, assistant) with the tokenizer's own chat template."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)

    def count(messages: list[dict[str, str]]) -> int:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def _longest_chat(input_text: str, instruction: str, output: str) -> list[dict[str, str]]:
    """The longest training form of a sample: think switch in the user turn, empty think block before the answer."""
    target = prompting.assistant_target(output, think=False)
    return prompting.build_messages(input_text, instruction, completion=target, think=False)


def _fits(count: Callable, instruction: str, output: str, max_length: int) -> Callable[[str], bool]:
    return lambda text: count(_longest_chat(text, instruction, output)) <= max_length


def fit_inputs(rows: pl.DataFrame, count: Callable[[list[dict[str, str]]], int], max_length: int) -> pl.DataFrame:
    """Rows whose ``input`` drops whole oldest events until the longest chat form fits ``max_length`` tokens.

    Adds ``events_dropped``. A sample whose header alone does not fit keeps only its header (logged).
    """
    inputs, dropped = [], []
    records = rows.select("input", "instruction", "output").iter_rows()
    for input_text, instruction, output in tqdm(
        records, total=rows.height, desc="fitting token budget", unit="sample"
    ):
        chat_bytes = sum(len(m["content"].encode()) for m in _longest_chat(input_text, instruction, output))
        if chat_bytes + 128 <= max_length:  # a byte-level BPE token holds at least one byte: it surely fits
            inputs.append(input_text)
            dropped.append(0)
            continue
        text, n = prompting.truncate_input(input_text, _fits(count, instruction, output, max_length))
        inputs.append(text)
        dropped.append(n)
    out = rows.with_columns(
        input=pl.Series(inputs, dtype=pl.String), events_dropped=pl.Series(dropped, dtype=pl.Int32)
    )
    logger.info("token budget %d: %d samples lost old events", max_length, sum(d > 0 for d in dropped))
    return out

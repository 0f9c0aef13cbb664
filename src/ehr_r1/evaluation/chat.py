# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Chat-template rendering and token counting (a ``truncation.TokenCounter``) for truncation, shared by both model
backends.

The transformers backend renders the prompt it runs; the OpenAI-compatible backend renders only to count tokens, with
the served model's tokenizer, so that the messages it sends fit the server's context. Neither backend imports the other.
"""

import logging
from collections.abc import Sequence

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.config import OFFICIAL
from ehr_r1.evaluation.sample_prompt import Chat, Prompt, make_prompts, sample_think
from ehr_r1.prompting import THINK_CLOSE
from ehr_r1.truncation import TokenCounter


logger = logging.getLogger(__name__)

MAX_MODEL_LEN = 32000  # the reference harness caps the context at min(32000, model max positions) (spec §8.1)
# The EHR-R1-72B card: templates without ``enable_thinking`` get this block appended to force a direct answer.
EMPTY_THINK = "<think>\n\n</think>\n"


def load_tokenizer(name: str):
    """``AutoTokenizer`` with left padding and a pad token; one-line error when it cannot be loaded."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise EhrR1Error(f"cannot load tokenizer {name!r}: {str(err).splitlines()[0]}") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class ChatRenderer:
    """Renders prompts with a tokenizer's chat template, counts their tokens and fits them to a token budget.

    ``counter(think)`` is the :class:`ehr_r1.truncation.TokenCounter` of prompts exactly as they are sent: the chat
    template with ``add_generation_prompt=True`` and ``enable_thinking=think``, plus the empty think block where it is
    appended (``empty_think``). The OpenAI-compatible backend renders only to count (the server applies the
    template): it passes ``empty_think=False`` and ``thinking_kwarg=False`` when ``chat_template_kwargs`` are not
    sent.

    Args:
        tokenizer: the model's tokenizer (it needs a chat template).
        max_model_len (`int`): context length; a prompt gets ``max_model_len - new_tokens`` tokens.
        protocol (`str`): ``official`` or ``plain`` (see :mod:`ehr_r1.evaluation.sample_prompt`).
        dm_think (`bool`): thinking for decision-making samples.
        empty_think (`bool`): append ``EMPTY_THINK`` to non-thinking prompts of templates that ignore
            ``enable_thinking``.
        thinking_kwarg (`bool`): pass ``enable_thinking`` to the template.
    """

    def __init__(
        self,
        tokenizer,
        max_model_len: int,
        protocol: str = OFFICIAL,
        dm_think: bool = True,
        empty_think: bool = True,
        thinking_kwarg: bool = True,
    ):
        self.tokenizer, self.max_model_len = tokenizer, max_model_len
        self.protocol, self.dm_think, self.thinking_kwarg = protocol, dm_think, thinking_kwarg
        if not getattr(tokenizer, "chat_template", None):
            raise EhrR1Error(
                f"tokenizer {tokenizer.name_or_path!r} has no chat template (EHR-Bench prompts are chats)"
            )
        probe = [{"role": "user", "content": "x"}]
        on, off = (self.template(probe, think) for think in (True, False))
        # Templates without `enable_thinking` (Qwen2.5-based EHR-R1-72B) need the empty think block appended (spec §5.1)
        self.append_empty_think = empty_think and on == off and THINK_CLOSE in tokenizer.get_vocab()
        if self.append_empty_think:
            logger.info("chat template ignores enable_thinking: appending an empty think block for direct answers")
        self._counters = {think: _PromptCounter(self, think) for think in (True, False)}

    def template(self, messages: Chat, think: bool) -> str:
        kwargs = {"enable_thinking": think} if self.thinking_kwarg else {}
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)

    def render(self, messages: Chat, think: bool) -> str:
        text = self.template(messages, think)
        return text + EMPTY_THINK if (self.append_empty_think and not think) else text

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_all(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []

    def n_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """``TokenCounter.count_texts``: tokens of plain texts (no special tokens), batched."""
        return [len(ids) for ids in self.encode_all(texts)]

    def counter(self, think: bool) -> TokenCounter:
        """The ``TokenCounter`` of prompts rendered with this think setting."""
        return self._counters[think]

    def prompts(self, samples: Sequence[Sample], new_tokens: int | Sequence[int]) -> list[Prompt]:
        """Chats of ``samples``, their oldest events dropped until each fits ``max_model_len - new_tokens`` tokens
        (samples sharing a budget are fitted together)."""
        budgets = [new_tokens] * len(samples) if isinstance(new_tokens, int) else list(new_tokens)
        out: list[Prompt | None] = [None] * len(samples)
        for n_new in sorted(set(budgets)):
            rows = [k for k, b in enumerate(budgets) if b == n_new]
            chunk = [samples[k] for k in rows]
            thinks = [sample_think(s, self.dm_think) for s in chunk]
            budget = self.max_model_len - n_new
            for k, prompt in zip(rows, make_prompts(chunk, thinks, self.protocol, self.counter, budget), strict=True):
                out[k] = prompt
        return out

    def messages(self, sample: Sample, new_tokens: int) -> Prompt:
        """The chat of ``sample``, its oldest events dropped until it fits ``max_model_len - new_tokens`` tokens."""
        return self.prompts([sample], new_tokens)[0]

    def prompt(self, sample: Sample, new_tokens: int) -> tuple[str, int]:
        """(rendered prompt, events dropped) for ``sample``, truncated to ``max_model_len - new_tokens`` tokens."""
        prompt = self.messages(sample, new_tokens)
        return self.render(prompt.messages, prompt.think), prompt.events_dropped


class _PromptCounter:
    """``TokenCounter`` of one think setting: chats are counted as ``ChatRenderer.render`` renders them."""

    def __init__(self, renderer: ChatRenderer, think: bool):
        self.renderer, self.think = renderer, think

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        return self.renderer.count_texts(texts)

    def count_chats(self, chats: Sequence[Chat]) -> list[int]:
        return self.renderer.count_texts([self.renderer.render(chat, self.think) for chat in chats])

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""In-process transformers backend: batched, left-padded, greedy generation and one-forward-pass risk scores."""

import logging
from pathlib import Path

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import YES_NO_VARIANTS, Backend, Output, Timer
from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.prompts import EMPTY_THINK, make_prompt, sample_think


logger = logging.getLogger(__name__)

MAX_MODEL_LEN = 32000  # the reference harness caps the context at min(32000, model max positions) (spec §8.1)


def looks_local(model: str) -> bool:
    """Whether ``model`` is meant as a local path rather than a Hub id."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).expanduser().exists()


def load_tokenizer(name: str):
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
    """Renders prompts with a tokenizer's chat template and truncates them to a token budget."""

    def __init__(self, tokenizer, max_model_len: int, candidate_prompt: bool = False, dm_think: bool = True):
        self.tokenizer, self.max_model_len = tokenizer, max_model_len
        self.candidate_prompt, self.dm_think = candidate_prompt, dm_think
        if not getattr(tokenizer, "chat_template", None):
            raise EhrR1Error(
                f"tokenizer {tokenizer.name_or_path!r} has no chat template (EHR-Bench prompts are chats)"
            )
        probe = [{"role": "user", "content": "x"}]
        on, off = (self.template(probe, think) for think in (True, False))
        vocab = tokenizer.get_vocab()
        # Templates without `enable_thinking` (Qwen2.5-based EHR-R1-72B) need the empty think block appended (spec §5.1)
        self.append_empty_think = on == off and "</think>" in vocab
        if self.append_empty_think:
            logger.info("chat template ignores enable_thinking: appending an empty think block for direct answers")

    def template(self, messages, think: bool) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=think
        )

    def render(self, messages, think: bool) -> str:
        text = self.template(messages, think)
        return text + EMPTY_THINK if (self.append_empty_think and not think) else text

    def n_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def fits(self, messages, think: bool, budget: int) -> bool:
        """Whether the rendered prompt has at most ``budget`` tokens (no tokenizer call when the bytes already fit)."""
        text = self.render(messages, think)
        return len(text.encode()) <= budget or self.n_tokens(text) <= budget  # a token covers >= 1 byte

    def prompt(self, sample: Sample, new_tokens: int) -> tuple[str, int]:
        """(rendered prompt, events dropped) for ``sample``, truncated to ``max_model_len - new_tokens`` tokens."""
        think = sample_think(sample, self.dm_think)
        budget = self.max_model_len - new_tokens

        def fits(messages) -> bool:
            return self.fits(messages, think, budget)

        prompt = make_prompt(sample, think, self.candidate_prompt, fits)
        text = self.render(prompt.messages, think)
        if prompt.events_dropped and not fits(prompt.messages):
            logger.warning("%s: prompt exceeds %d tokens even with all events dropped", sample.key, budget)
        return text, prompt.events_dropped


class TransformersBackend(Backend):
    """Runs the model in this process (``cuda`` when available)."""

    name = "transformers"

    def __init__(self, config):
        import torch
        from transformers import AutoModelForCausalLM

        if not config.model:
            raise EhrR1Error("--model is required (or use --baseline)")
        if looks_local(config.model) and not Path(config.model).expanduser().is_dir():
            raise EhrR1Error(f"model path {config.model} does not exist")
        self.config, self.timer = config, Timer()
        self.device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(config.model)
        dtype = config.dtype if config.dtype == "auto" else getattr(torch, config.dtype)
        try:
            self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as err:
            raise EhrR1Error(f"cannot load model {config.model!r}: {str(err).splitlines()[0]}") from None
        positions = getattr(self.model.config, "max_position_embeddings", None) or MAX_MODEL_LEN
        self.max_model_len = config.max_model_len or min(MAX_MODEL_LEN, positions)
        self.renderer = ChatRenderer(self.tokenizer, self.max_model_len, config.candidate_prompt, config.think)
        self.yes_ids, self.no_ids = self._answer_token_ids()

    def _answer_token_ids(self) -> tuple[list[int], list[int]]:
        """Single-token ids of the yes / no spelling variants (first tokens if no variant is one token)."""
        ids: dict[str, set[int]] = {"yes": set(), "no": set()}
        for variant in YES_NO_VARIANTS:
            tokens = self.tokenizer.encode(variant, add_special_tokens=False)
            if len(tokens) == 1:
                ids[variant.strip().lower()].add(tokens[0])
        for key, found in ids.items():
            if not found:
                found.add(self.tokenizer.encode(key, add_special_tokens=False)[0])
                logger.warning("%r is not a single token; scoring its first token", key)
        return sorted(ids["yes"]), sorted(ids["no"])

    def settings(self) -> dict:
        return {
            "device": self.device,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "max_model_len": self.max_model_len,
            "yes_token_ids": self.yes_ids,
            "no_token_ids": self.no_ids,
            "empty_think_appended": self.renderer.append_empty_think,
        }

    def _encode(self, texts: list[str]):
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        return {k: v.to(self.device) for k, v in enc.items()}

    def generate(self, samples: list[Sample]) -> list[Output]:
        import torch

        prompts = [self.renderer.prompt(s, self.config.max_new_tokens) for s in samples]
        enc = self._encode([p for p, _ in prompts])
        with torch.inference_mode(), self.timer:
            out = self.model.generate(
                **enc,
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
            out = out[:, enc["input_ids"].shape[1] :].cpu()
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [Output(text=t, events_dropped=d) for t, (_, d) in zip(texts, prompts, strict=True)]

    def score_risk(self, samples: list[Sample]) -> list[Output]:
        import torch

        prompts = [self.renderer.prompt(s, 1) for s in samples]
        enc = self._encode([p for p, _ in prompts])
        mask = enc["attention_mask"]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens start at position 0
        with torch.inference_mode(), self.timer:
            logits = (
                self.model(**enc, position_ids=positions, logits_to_keep=1, use_cache=False).logits[:, -1, :].float()
            )
            logprobs = torch.log_softmax(logits, dim=-1)
            yes = torch.logsumexp(logprobs[:, self.yes_ids], dim=-1)
            no = torch.logsumexp(logprobs[:, self.no_ids], dim=-1)
            p_yes = torch.sigmoid(yes - no).cpu().tolist()
            top = logits.argmax(-1).cpu().tolist()
        best = [self.tokenizer.decode([i]) for i in top]
        return [
            Output(text=t, p_yes=p, source="logits", events_dropped=d)
            for t, p, (_, d) in zip(best, p_yes, prompts, strict=True)
        ]

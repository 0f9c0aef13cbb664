# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""In-process transformers backend: token-budget batches, greedy generation and one-forward-pass risk scores.

Batches are length-sorted and bounded by a token budget, as vLLM / TGI schedule them: a batch holds at most
``batch_size`` sequences and ``max_batch_tokens`` padded tokens (prompt plus generated tokens for decision-making), so
memory follows the budget rather than the longest prompts times the batch size. A prompt longer than the budget runs
alone. Risk batches are right-padded and run without an attention mask: under causal attention no real token sees a
pad, P(yes) is read at each sequence's last real token, and the scores do not depend on the batching.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ehr_r1.errors import EhrR1Error
from ehr_r1.evaluation.backends import YES_NO_VARIANTS, Backend, Output, Timer
from ehr_r1.evaluation.bench import Sample
from ehr_r1.evaluation.chat import MAX_MODEL_LEN, ChatRenderer, load_tokenizer
from ehr_r1.prompting import NO, RISK_PREDICTION, YES, normalize_item


logger = logging.getLogger(__name__)
_PLAN_CHUNK = 64  # samples fitted and tokenised together while planning batches (bounds the ids held)


def looks_local(model: str) -> bool:
    """Whether ``model`` is meant as a local path rather than a Hub id."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).expanduser().exists()


@dataclass
class Encoded:
    """A rendered, truncated and tokenised prompt."""

    ids: list[int]
    events_dropped: int


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
        self.batch_size, self.max_batch_tokens = max(1, config.batch_size), max(1, config.max_batch_tokens)
        self.device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(config.model)
        dtype = config.dtype if config.dtype == "auto" else getattr(torch, config.dtype)
        try:
            self.model = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as err:
            raise EhrR1Error(f"cannot load model {config.model!r}: {str(err).splitlines()[0]}") from None
        positions = getattr(self.model.config, "max_position_embeddings", None) or MAX_MODEL_LEN
        self.max_model_len = config.max_model_len or min(MAX_MODEL_LEN, positions)
        self.renderer = ChatRenderer(self.tokenizer, self.max_model_len, config.protocol, config.think)
        self.yes_ids, self.no_ids = self._answer_token_ids()
        self._encoded: dict[str, Encoded] = {}  # prompts tokenised while planning a batch, used once by its run

    def _answer_token_ids(self) -> tuple[list[int], list[int]]:
        """Single-token ids of the yes / no spelling variants (first tokens if no variant is one token)."""
        ids: dict[str, set[int]] = {YES: set(), NO: set()}
        for variant in YES_NO_VARIANTS:
            tokens = self.tokenizer.encode(variant, add_special_tokens=False)
            if len(tokens) == 1:
                ids[normalize_item(variant)].add(tokens[0])
        for key, found in ids.items():
            if not found:
                found.add(self.tokenizer.encode(key, add_special_tokens=False)[0])
                logger.warning("%r is not a single token; scoring its first token", key)
        return sorted(ids[YES]), sorted(ids[NO])

    def settings(self) -> dict:
        return {
            "device": self.device,
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "max_model_len": self.max_model_len,
            "max_batch_tokens": self.max_batch_tokens,
            "yes_token_ids": self.yes_ids,
            "no_token_ids": self.no_ids,
            "empty_think_appended": self.renderer.append_empty_think,
            "protocol": self.renderer.protocol,
        }

    # -------------------------------------------------------------------------------------------------- batching
    def _new_tokens(self, sample: Sample) -> int:
        return 1 if sample.task_type == RISK_PREDICTION else self.config.max_new_tokens

    def _encode_samples(self, samples: list[Sample]) -> list[Encoded]:
        """Fitted and tokenised prompts: all samples fitted together (each event block tokenised once), then the
        rendered prompts tokenised in one call."""
        prompts = self.renderer.prompts(samples, [self._new_tokens(s) for s in samples])
        texts = [self.renderer.render(p.messages, p.think) for p in prompts]
        return [
            Encoded(ids, p.events_dropped) for ids, p in zip(self.renderer.encode_all(texts), prompts, strict=True)
        ]

    def _take(self, samples: list[Sample]) -> list[Encoded]:
        """The encoded prompts of a batch: those planned by ``batches`` (used once), the others encoded now."""
        missing = [s for s in samples if s.key not in self._encoded]
        fresh = dict(zip((s.key for s in missing), self._encode_samples(missing), strict=True))
        return [self._encoded.pop(s.key) if s.key in self._encoded else fresh[s.key] for s in samples]

    def _planned(self, samples: list[Sample]) -> Iterator[tuple[Sample, Encoded]]:
        """(sample, encoded prompt), encoded ``_PLAN_CHUNK`` samples at a time and kept for the batch that runs it."""
        for start in range(0, len(samples), _PLAN_CHUNK):
            chunk = samples[start : start + _PLAN_CHUNK]
            for sample, encoded in zip(chunk, self._encode_samples(chunk), strict=True):
                self._encoded[sample.key] = encoded
                yield sample, encoded

    def batches(self, samples: list[Sample]) -> Iterator[list[Sample]]:
        """Greedy token-budget batches: ``n * (longest prompt + new tokens) <= max_batch_tokens``, ``n <= batch_size``.

        Feed samples longest first (the runner does) so that each batch holds prompts of similar length.
        """
        batch: list[Sample] = []
        width = 0
        for sample, encoded in self._planned(samples):
            n_tokens = len(encoded.ids) + (0 if sample.task_type == RISK_PREDICTION else self.config.max_new_tokens)
            wider = max(width, n_tokens)
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * wider > self.max_batch_tokens):
                yield batch
                batch, wider = [], n_tokens
            batch.append(sample)
            width = wider
        if batch:
            yield batch

    def _pad(self, rows: list[list[int]], left: bool):
        """(input_ids, attention_mask) tensors on the device, padded on the left or on the right."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            span = slice(width - len(row), width) if left else slice(0, len(row))
            ids[i, span] = torch.tensor(row, dtype=torch.long)
            mask[i, span] = 1
        return ids.to(self.device), mask.to(self.device)

    # ------------------------------------------------------------------------------------------------------ runs
    def generate(self, samples: list[Sample]) -> list[Output]:
        import torch

        encoded = self._take(samples)
        ids, mask = self._pad([e.ids for e in encoded], left=True)
        with torch.inference_mode(), self.timer:
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
            out = out[:, ids.shape[1] :].cpu()
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [Output(text=t, events_dropped=e.events_dropped) for t, e in zip(texts, encoded, strict=True)]

    def score_risk(self, samples: list[Sample]) -> list[Output]:
        import torch

        encoded = self._take(samples)
        ids, _ = self._pad([e.ids for e in encoded], left=False)
        last = torch.tensor([len(e.ids) - 1 for e in encoded], device=ids.device)
        keep = torch.unique(last)  # sorted positions whose logits are computed, shared by the batch
        with torch.inference_mode(), self.timer:
            # right padding + causal attention: no mask needed (real tokens never see the pads that follow them)
            logits = self.model(input_ids=ids, logits_to_keep=keep, use_cache=False).logits
            logits = logits[torch.arange(len(encoded), device=ids.device), torch.searchsorted(keep, last)].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            yes = torch.logsumexp(logprobs[:, self.yes_ids], dim=-1)
            no = torch.logsumexp(logprobs[:, self.no_ids], dim=-1)
            p_yes = torch.sigmoid(yes - no).cpu().tolist()
            top = logits.argmax(-1).cpu().tolist()
        best = [self.tokenizer.decode([i]) for i in top]
        return [
            Output(text=t, p_yes=p, source="logits", events_dropped=e.events_dropped)
            for t, p, e in zip(best, p_yes, encoded, strict=True)
        ]

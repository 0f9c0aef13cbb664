# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Training throughput (tokens/s) and MFU of a Qwen3-1.7B-shaped model, with and without Liger kernels and packing.

Random init from the config (no download), bf16, AdamW, gradient checkpointing as in the recipes, EHR-Ins-length samples
(log-uniform 500-8000 tokens). "padded" = a batch of samples padded to its longest (the paper's setup); "packed" = the
same tokens concatenated into one padding-free row (``position_ids`` restart per sample, as TRL's BFD packing).

    python benchmarks/gpu_throughput.py [--tokens_per_step 16384] [--steps 6] [--peak_tflops 989]

Needs a CUDA GPU; exits with a message elsewhere. Optional: ``liger-kernel``, ``flash-attn`` (packed rows without
flash-attention fall back to SDPA over the whole row, an upper bound on the speed).
"""

import argparse
import importlib.util
import math
import random
import sys
import time


PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}


def qwen3_1_7b_config(attn: str):
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
        num_key_value_heads=8, head_dim=128, max_position_embeddings=40960, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}, attn_implementation=attn, use_cache=False,
    )  # fmt: skip


def sample_lengths(tokens: int, rng: random.Random) -> list[int]:
    """Sample lengths (log-uniform 500-8000) until ``tokens`` are filled; the last one is cut to fit."""
    lengths = []
    while sum(lengths) < tokens:
        lengths.append(min(int(math.exp(rng.uniform(math.log(500), math.log(8000)))), tokens - sum(lengths)))
    return lengths


def make_batch(lengths: list[int], packed: bool, vocab: int, device):
    import torch

    if packed:
        ids = torch.randint(0, vocab, (1, sum(lengths)), device=device)
        pos = torch.cat([torch.arange(n, device=device) for n in lengths]).unsqueeze(0)
        return {"input_ids": ids, "position_ids": pos, "labels": ids.clone()}, sum(lengths), sum(lengths)
    longest = max(lengths)
    ids = torch.zeros(len(lengths), longest, dtype=torch.long, device=device)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(0, vocab, (n,), device=device)
        mask[i, :n] = 1
    labels = ids.masked_fill(mask == 0, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}, sum(lengths), ids.numel()


def flops_per_token(config, seq_len: float) -> float:
    """6 x parameters touched per token (including the LM head) + attention (12 x layers x hidden x context)."""
    h, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    kv = config.num_key_value_heads * config.head_dim
    q = config.num_attention_heads * config.head_dim
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * inter
    return 6 * (layers * per_layer + h * config.vocab_size) + 12 * layers * q * seq_len


def run(liger: bool, packed: bool, args, device) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    attn = "flash_attention_2" if packed and importlib.util.find_spec("flash_attn") else "sdpa"
    config = qwen3_1_7b_config(attn)
    if liger:
        from liger_kernel.transformers import apply_liger_kernel_to_qwen3

        apply_liger_kernel_to_qwen3(rope=True, rms_norm=True, swiglu=True, fused_linear_cross_entropy=True)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).to(device)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    rng = random.Random(0)
    real = slots = 0
    seconds = 0.0
    context = []
    for step in range(args.warmup + args.steps):
        lengths = sample_lengths(args.tokens_per_step, rng)
        batch, n_real, n_slots = make_batch(lengths, packed, config.vocab_size, device)
        torch.cuda.synchronize()
        start = time.perf_counter()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step >= args.warmup:
            seconds += time.perf_counter() - start
            real, slots = real + n_real, slots + n_slots
            context.append(sum(n * n for n in lengths) / sum(lengths))  # mean attended context per token ~ n/2 x 2
    memory = torch.cuda.max_memory_allocated() / 2**30
    del model, optimizer
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    tokens_per_s = real / seconds
    achieved = tokens_per_s * flops_per_token(config, sum(context) / len(context) / 2)
    return dict(
        tokens_per_s=tokens_per_s,
        mfu=achieved / (args.peak_tflops * 1e12),
        non_pad=real / slots,
        memory=memory,
        attn=attn,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens_per_step", type=int, default=16384)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--peak_tflops", type=float, help="Dense bf16 peak of the GPU (default: looked up by name).")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu_throughput: no CUDA GPU here; run this benchmark on a GPU machine. Nothing measured.")
        return 0
    name = torch.cuda.get_device_name()
    args.peak_tflops = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    if args.peak_tflops is None:
        print(f"gpu_throughput: unknown peak for {name!r}; pass --peak_tflops")
        return 2
    has_liger = importlib.util.find_spec("liger_kernel") is not None
    print(f"{name}, torch {torch.__version__}, peak {args.peak_tflops:.0f} TFLOPs bf16, {args.tokens_per_step} tokens/step, "
          f"{args.steps} timed steps; liger-kernel {'yes' if has_liger else 'not installed'}\n")  # fmt: skip
    print("| liger | layout | attention | tokens/s | MFU | non-pad | peak mem GiB |\n|---|---|---|---|---|---|---|")
    for liger in (False, True):  # Liger patches the Qwen3 classes for good: run it last
        if liger and not has_liger:
            print("| yes | - | - | skipped: pip install liger-kernel | | | |")
            continue
        for packed in (False, True):
            try:
                r = run(liger, packed, args, "cuda")
            except torch.OutOfMemoryError:
                print(f"| {'yes' if liger else 'no'} | {'packed' if packed else 'padded'} | - | OOM | | | |")
                torch.cuda.empty_cache()
                continue
            print(f"| {'yes' if liger else 'no'} | {'packed' if packed else 'padded'} | {r['attn']} | "
                  f"{r['tokens_per_s']:,.0f} | {r['mfu']:.1%} | {r['non_pad']:.1%} | {r['memory']:.1f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

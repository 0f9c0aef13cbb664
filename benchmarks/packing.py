# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""How many of the token slots a GPU computes on are real tokens: packed (TRL BFD, padding-free) vs unpacked SFT.

Uses TRL's own ``pack_dataset`` and SFT collator on EHR-Ins-length samples: a built EHR-Ins (``--dataset DIR``,
tokenised with ``--tokenizer``) or, by default, lengths drawn log-uniform in [500, 8000] tokens (rendered inputs).

    python benchmarks/packing.py                     # synthetic lengths
    python benchmarks/packing.py --dataset outputs/ehr-ins --config sft --tokenizer outputs/tiny-model

Target (issue 4): padding-free packing keeps >= 95% non-pad tokens.
"""

import argparse
import math
import random

import torch


def synthetic_lengths(n: int, low: int, high: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [int(math.exp(rng.uniform(math.log(low), math.log(high)))) for _ in range(n)]


def dataset_lengths(folder: str, config: str, tokenizer_dir: str, n: int) -> list[int]:
    from transformers import AutoTokenizer

    from ehr_r1.training import load_train_dataset

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    script = argparse.Namespace(
        dataset_name=folder, dataset_config=config, dataset_streaming=False, dataset_train_split="train"
    )
    rows = load_train_dataset(script, argparse.Namespace(datasets=None))["train"]
    rows = rows.select(range(min(n, len(rows))))
    if "messages" in rows.column_names:
        return [
            len(tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
            for r in rows
        ]
    return [len(tokenizer(r["text"])["input_ids"]) for r in rows]


def fill_ratios(
    lengths: list[int], max_length: int, batch_size: int, packed: bool, padding_free: bool
) -> tuple[float, int]:
    """(real tokens / computed token slots, number of batches) through TRL's packing and collator."""
    from datasets import Dataset
    from trl.data_utils import pack_dataset
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    dataset = Dataset.from_dict({"input_ids": [[1] * min(n, max_length) for n in lengths]})
    if packed:
        dataset = pack_dataset(dataset, max_length, strategy="bfd")
    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=padding_free)
    real = slots = batches = 0
    for start in range(0, len(dataset), batch_size):
        batch = collator([{"input_ids": ids} for ids in dataset[start : start + batch_size]["input_ids"]])
        ids = batch["input_ids"]
        slots += ids.numel()
        real += int(batch["attention_mask"].sum()) if "attention_mask" in batch else int((ids != 0).sum())
        batches += 1
    return real / slots, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="A built EHR-Ins folder; default: synthetic lengths.")
    parser.add_argument("--config", default="sft")
    parser.add_argument("--tokenizer", help="Tokenizer folder for --dataset (e.g. `ehr-r1 tiny-model` output).")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--max_length", type=int, default=8192, help="Stage-1 max_length (recipes/README.md).")
    parser.add_argument("--batch_size", type=int, default=8, help="Per-device batch (the paper's nominal 8).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.dataset:
        lengths = dataset_lengths(args.dataset, args.config, args.tokenizer, args.samples)
        source = f"{args.dataset} ({args.config})"
    else:
        lengths = synthetic_lengths(args.samples, 500, 8000, args.seed)
        source = "synthetic, log-uniform 500-8000"
    torch.manual_seed(args.seed)
    print(f"samples: {len(lengths)} from {source}; mean {sum(lengths) / len(lengths):.0f} tokens; "
          f"max_length {args.max_length}; per-device batch {args.batch_size}\n")  # fmt: skip
    rows = [
        ("unpacked, padded to the batch's longest (paper)", False, False),
        ("packed BFD, rows padded (no flash-attention)", True, False),
        ("packed BFD, padding-free (TRL default with packing)", True, True),
    ]
    print(f"| {'layout':<52} | non-pad tokens | batches |\n|{'-' * 54}|----------------|---------|")
    baseline = None
    for name, packed, padding_free in rows:
        ratio, batches = fill_ratios(lengths, args.max_length, args.batch_size, packed, padding_free)
        baseline = baseline or ratio
        print(f"| {name:<52} | {ratio:>13.1%}  | {batches:>7} |")
    print(f"\npacked padding-free / unpacked: {1 / baseline:.2f}x fewer computed token slots per real token")


if __name__ == "__main__":
    main()

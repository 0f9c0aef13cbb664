# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""What each reward hack earns: the real GRPO rewards (``ehr_r1.rewards``) on hacked completions of a built EHR-Ins.

Every row of the ``grpo`` config gets a completion made by one hack (the gold answer where the hack is honest),
the rows are scored in shuffled batches of ``--prompts`` prompts x ``--generations`` completions, as TRL's
GRPOTrainer calls the rewards, with the ``output``, ``task_type`` and ``task`` columns; the candidate lists come from
the task configs. The table shows the mean accuracy reward over the rows of the hack's task type with the running label
prevalence (no column) and with the dataset's (a ``label_prevalence`` column), the mean format reward and the recipes' total
(accuracy + 0.2 x format).

    ehr-r1 build-ins --mimic-dir ../shared/data/mimic-iv-demo-2.2 --output /tmp/rw/ins --max-per-task 50
    python benchmarks/reward_hacks.py --ins /tmp/rw/ins
"""

import argparse
import glob
import math
import os
import random
from collections.abc import Callable

import polars as pl

from ehr_r1.prompting import DECISION_MAKING, NO, RISK_PREDICTION, YES, gold_items, is_yes
from ehr_r1.rewards import SEEN_LABELS, ehr_accuracy_reward, ehr_format_reward


FORMAT_WEIGHT = 0.2  # reward_weights of the GRPO recipes: [1.0, 0.2]
Hack = Callable[[dict, random.Random], str]


def think(answer: str, reasoning: str = "Reviewing the timeline.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{answer}"


def _gold(row: dict) -> list[str]:
    return gold_items(row["output"])


def _wrong(row: dict, n: int) -> list[str]:
    gold = {g.casefold() for g in _gold(row)}
    others = [c for c in row["candidates"] or [] if c.casefold() not in gold]
    return others[:n] + [f"Unlisted item {i}" for i in range(n - len(others[:n]))]


RISK_HACKS: dict[str, Hack] = {
    "correct answer (honest)": lambda r, _: think(r["output"].strip(), ""),
    "always `no` (majority class)": lambda r, _: think(NO, ""),
    "always `yes`": lambda r, _: think(YES, ""),
    "coin flip": lambda r, rng: think(rng.choice((YES, NO)), ""),
    "hedge `yes\\nno`": lambda r, _: think(f"{YES}\n{NO}", ""),
    "correct, no think block": lambda r, _: r["output"].strip(),
    "correct, inside the think block": lambda r, _: f"<think>\n{r['output'].strip()}\n</think>\n\n",
    "correct, after a second think block": lambda r, _: think(think(r["output"].strip())),
}
DM_HACKS: dict[str, Hack] = {
    "gold answer (honest)": lambda r, _: think("\n".join(_gold(r))),
    "half of the gold items": lambda r, _: think("\n".join(_gold(r)[: math.ceil(len(_gold(r)) / 2)])),
    "most frequent items of the task": lambda r, _: think("\n".join(r["frequent"])),
    "every candidate listed": lambda r, _: think("\n".join(r["candidates"] or _gold(r))),
    "gold + len(gold)+2 wrong (at the cap)": lambda r, _: think("\n".join(_gold(r) + _wrong(r, len(_gold(r)) + 2))),
    "gold + len(gold)+3 wrong (over the cap)": lambda r, _: think("\n".join(_gold(r) + _wrong(r, len(_gold(r)) + 3))),
    "gold, every item 3 times": lambda r, _: think("\n".join(g for g in _gold(r) for _ in range(3))),
    "gold, no think block": lambda r, _: "\n".join(_gold(r)),
    "gold, inside the think block": lambda r, _: f"<think>\n{chr(10).join(_gold(r))}\n</think>\n\n",
}


def load_rows(ins: str) -> pl.DataFrame:
    """The ``grpo`` rows with their candidate lists, the dataset's label prevalence and each task's frequent items."""
    grpo = pl.read_parquet(glob.glob(os.path.join(ins, "data", "grpo", "train-*.parquet")))
    tasks = glob.glob(os.path.join(ins, "data", DECISION_MAKING, "*", "train-*.parquet"))
    candidates = pl.concat([pl.read_parquet(f, columns=["idx", "candidates"]) for f in tasks])
    rows = grpo.join(candidates, on="idx", how="left").with_columns(
        label_prevalence=pl.len().over("task", pl.col("output").str.strip_chars().str.to_lowercase())
        / pl.len().over("task")
    )
    dm = rows.filter(pl.col("task_type") == DECISION_MAKING).select(
        "task", item=pl.col("output").str.split("\n").list.eval(pl.element().str.strip_chars())
    )
    k = dm.group_by("task").agg(k=pl.col("item").list.len().median().round().cast(pl.UInt32))
    frequent = (
        dm.explode("item")
        .group_by("task", "item")
        .agg(n=pl.len())
        .sort("task", "n", "item", descending=[False, True, False])
        .join(k, on="task")
        .filter(pl.int_range(pl.len()).over("task") < pl.col("k"))
        .group_by("task")
        .agg(frequent=pl.col("item"))
    )
    return rows.join(frequent, on="task", how="left")


def score(rows: list[dict], completions: list[str], prompts: int, generations: int, prevalence: bool) -> list[float]:
    """Accuracy rewards of ``completions`` in TRL-shaped batches (each prompt repeated ``generations`` times)."""
    rewards: list[float] = []
    for start in range(0, len(rows), prompts):
        batch = [r for r in rows[start : start + prompts] for _ in range(generations)]
        texts = [c for c in completions[start : start + prompts] for _ in range(generations)]
        columns = {k: [r[k] for r in batch] for k in ("output", "task_type", "task")}
        extra = {"label_prevalence": [r["label_prevalence"] for r in batch]} if prevalence else {}
        scored = ehr_accuracy_reward([[{"role": "assistant", "content": t}] for t in texts], **columns, **extra)
        rewards += [sum(scored[i : i + generations]) / generations for i in range(0, len(scored), generations)]
    return rewards


def hack_table(rows: pl.DataFrame, prompts: int = 8, generations: int = 4, seed: int = 0) -> list[dict]:
    """One record per hack: task type, hack, mean accuracy (batch / dataset prevalence), mean format, total."""
    records = rows.sample(fraction=1.0, shuffle=True, seed=seed).to_dicts()
    table = []
    for kind, hacks in ((RISK_PREDICTION, RISK_HACKS), (DECISION_MAKING, DM_HACKS)):
        mine = [i for i, r in enumerate(records) if r["task_type"] == kind]
        for name, hack in hacks.items():
            rng = random.Random(seed)
            completions = [hack(r, rng) if r["task_type"] == kind else think(r["output"]) for r in records]
            SEEN_LABELS.reset()  # a fresh training run: the running prevalence starts from nothing
            batch = score(records, completions, prompts, generations, prevalence=False)
            dataset = score(records, completions, prompts, generations, prevalence=True)
            fmt = ehr_format_reward(
                [completions[i] for i in mine],
                task_type=[kind] * len(mine),
                output=[records[i]["output"] for i in mine],
            )
            acc = sum(batch[i] for i in mine) / len(mine)
            table.append(
                dict(
                    task_type=kind,
                    hack=name,
                    accuracy_batch=acc,
                    accuracy_dataset=sum(dataset[i] for i in mine) / len(mine),
                    format=sum(fmt) / len(fmt),
                    total=acc + FORMAT_WEIGHT * sum(fmt) / len(fmt),
                )
            )
    return table


def markdown(table: list[dict], rows: pl.DataFrame) -> str:
    risk = rows.filter(pl.col("task_type") == RISK_PREDICTION)
    yes = sum(is_yes(o) for o in risk["output"].to_list())
    lines = [
        (
            f"{risk.height} risk rows ({yes / max(risk.height, 1):.1%} yes), "
            f"{rows.height - risk.height} decision-making rows, {rows['task'].n_unique()} tasks"
        ),
        "",
        "| task type | hack | accuracy (running prevalence) | accuracy (dataset prevalence) | format | total |",
        "|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['task_type']} | {r['hack']} | {r['accuracy_batch']:.3f} | {r['accuracy_dataset']:.3f} "
            f"| {r['format']:.3f} | {r['total']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ins", required=True, help="a built EHR-Ins folder (ehr-r1 build-ins) with a grpo config")
    parser.add_argument("--prompts", type=int, default=8, help="prompts per reward call (TRL generation batch)")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt (num_generations)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = load_rows(args.ins)
    print(markdown(hack_table(rows, args.prompts, args.generations, args.seed), rows))


if __name__ == "__main__":
    main()

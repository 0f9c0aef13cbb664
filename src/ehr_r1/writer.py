# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Write a built dataset folder: per-task parquet, TRL-ready configs, released-layout JSONL and the dataset card."""

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ehr_r1 import prompting
from ehr_r1.cards import dataset_card
from ehr_r1.errors import EhrR1Error
from ehr_r1.render import event_texts
from ehr_r1.sampling import SamplingConfig, in_test_split


TASK_TYPES = (prompting.DECISION_MAKING, prompting.RISK_PREDICTION)


def shard_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def _write(frame: pl.DataFrame, path: Path) -> str:
    """Parquet with small row groups (long EHR texts; streaming readers load one group at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(frame.to_arrow(), path, compression="zstd", row_group_size=1024, write_statistics=False)
    return str(path)


def counts(rows: pl.DataFrame) -> dict[str, int]:
    return dict(sorted(rows.group_by("task").len().iter_rows()))


def check_split(rows: pl.DataFrame, sampling: SamplingConfig, cfg) -> None:
    """Every patient must be on this dataset's side of the seeded split (a guard against leakage bugs)."""
    test = in_test_split(rows["subject_id"].to_numpy(), cfg.seed, sampling.test_fraction)
    wrong = int((~test).sum() if sampling.split == "test" else test.sum())
    if wrong:
        raise EhrR1Error(f"internal error: {wrong} samples come from patients outside the {sampling.split} split")


def subject_ids(folder: str | Path) -> set[int]:
    files = sorted(Path(folder).glob("data/*/*/*.parquet"))
    if not files:
        raise EhrR1Error(f"{folder}: no built dataset found (expected data/<task_type>/<task>/*.parquet)")
    return set(pl.concat([pl.read_parquet(f, columns=["subject_id"]) for f in files])["subject_id"].to_list())


def disjointness(rows: pl.DataFrame, sampling: SamplingConfig, cfg) -> dict:
    """How patient disjointness from the other dataset is guaranteed, and the result of an explicit check."""
    out = {
        "method": "seeded patient-level hash split",
        "split_verified": True,
        "seed": cfg.seed,
        "test_fraction": sampling.test_fraction,
    }
    if cfg.check_disjoint:
        overlap = set(rows["subject_id"].to_list()) & subject_ids(cfg.check_disjoint)
        if overlap:
            raise EhrR1Error(f"{cfg.check_disjoint}: shares {len(overlap)} patients with this build (same seed?)")
        out.update(checked_against=Path(cfg.check_disjoint).name, overlap=0)
    return out


def cpt_texts(shards: list[Path]) -> pl.DataFrame:
    """One ``text`` per patient: the whole rendered timeline (continued pretraining). The shards hold only the
    split's patients (``build_timelines(subjects=...)``)."""
    parts = []
    for path in shards:
        texts = event_texts(pl.read_parquet(path)).filter(pl.col("text") != "")
        parts.append(texts.group_by("subject_id", maintain_order=True).agg(text=pl.col("text").str.join("\n\n")))
    return pl.concat(parts).sort("subject_id").select("text", "subject_id")


def _messages(*turns: tuple[str, pl.Expr]) -> pl.Expr:
    return pl.concat_list([pl.struct(role=pl.lit(role), content=content) for role, content in turns])


def trl_frames(rows: pl.DataFrame, reasoning: dict[str, str]) -> dict[str, pl.DataFrame]:
    """TRL-ready configs: ``sft`` (stage 1), ``reasoning`` (stage 2), ``grpo`` (stage 3).

    Texts come from ``ehr_r1.prompting`` (the one prompt format); polars only assembles the message structs.
    """
    records = rows.select("idx", "input", "instruction", "output", "task_type").to_dict(as_series=False)
    chains = [reasoning.get(i) for i in records["idx"]]
    columns = zip(
        records["input"], records["instruction"], records["output"], records["task_type"], chains, strict=True
    )
    user, user_switch, user_grpo, target = [], [], [], []
    for inp, ins, out, task_type, chain in columns:
        user.append(prompting.user_content(inp, ins))
        user_switch.append(prompting.user_content(inp, ins, think=bool(chain)))
        user_grpo.append(prompting.user_content(inp, ins, think=prompting.default_think(task_type)))
        target.append(prompting.assistant_target(out, chain, think=False))
    texts = rows.select("idx", "task", "task_type", "output").with_columns(
        _user=pl.Series(user), _switch=pl.Series(user_switch), _grpo=pl.Series(user_grpo), _target=pl.Series(target)
    )
    system = ("system", pl.lit(prompting.SYSTEM_PROMPT))
    keep = ("idx", "task", "task_type")
    return {
        "sft": texts.select(
            *keep, messages=_messages(system, ("user", pl.col("_user")), ("assistant", pl.col("output")))
        ),
        "reasoning": texts.select(
            *keep, messages=_messages(system, ("user", pl.col("_switch")), ("assistant", pl.col("_target")))
        ),
        "grpo": texts.select(*keep, prompt=_messages(system, ("user", pl.col("_grpo"))), output="output"),
    }


def read_reasoning(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    frame = pl.read_ndjson(path)
    for col in ("idx", "reasoning"):
        if col not in frame.columns:
            raise EhrR1Error(f"{path} (column {col!r}): missing column")
    return dict(frame.select("idx", "reasoning").iter_rows())


def released_jsonl(rows: pl.DataFrame, path: Path) -> None:
    """The released EHR-Bench JSONL layout (no subject_id / hadm_id)."""
    with path.open("w", encoding="utf-8") as f:
        for r in rows.iter_rows(named=True):
            info = r["task_info"]
            risk = r["task_type"] == prompting.RISK_PREDICTION
            label = info["labels"][0] if risk else info["labels"]
            record = {
                "idx": r["idx"],
                "instruction": r["instruction"],
                "input": r["input"],
                "output": r["output"],
                "candidates": r["candidates"],
                "task_info": {
                    "task": r["task"],
                    "task_type": r["task_type"],
                    "target_key": info["target_key"],
                    "event": info["event"],
                    "metric": info["metric"],
                    "target": label if risk else json.dumps(label),
                    "label": label,
                },
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_dataset(folder: Path, rows: pl.DataFrame, cfg, sampling: SamplingConfig, cpt: pl.DataFrame | None) -> None:
    split = sampling.split
    configs: list[dict] = []
    for task_type in TASK_TYPES:
        part = rows.filter(pl.col("task_type") == task_type)
        if part.is_empty():
            continue
        configs.append(
            {
                "config_name": task_type,
                "data_files": [{"split": split, "path": f"data/{task_type}/*/{split}-*.parquet"}],
            }
        )
        for (task,), group in part.group_by("task", maintain_order=True):
            _write(group, folder / "data" / task_type / task / shard_name(split))
            configs.append(
                {
                    "config_name": task,
                    "data_files": [{"split": split, "path": f"data/{task_type}/{task}/{split}-*.parquet"}],
                }
            )
        if cfg.jsonl:
            released_jsonl(part, folder / f"{sampling.name.replace('-', '_')}_{task_type}.jsonl")
    trl = cfg.trl_configs if cfg.trl_configs is not None else split == "train"
    extra = trl_frames(rows, read_reasoning(cfg.reasoning_file)) if trl else {}
    if cpt is not None:
        extra["cpt"] = cpt
    for name, frame in extra.items():
        _write(frame, folder / "data" / name / shard_name(split))
        configs.append(
            {"config_name": name, "data_files": [{"split": split, "path": f"data/{name}/{split}-*.parquet"}]}
        )
    configs[0]["default"] = True
    synthetic = (Path(cfg.mimic_dir) / "synthetic_mimic.json").exists()
    (folder / "README.md").write_text(dataset_card(sampling, configs, counts(rows), rows, cfg, synthetic))

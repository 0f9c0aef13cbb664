# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Seeded splits, quotas and sampling (docs/tasks.md), deterministic across runs, machines and shard counts.

- Split: a patient is in the test split iff ``u(subject_id, seed) < test_fraction``; ``u`` is a splitmix64 hash, so
  EHR-Bench and EHR-Ins built from one MIMIC copy with one seed never share a patient.
- Sampling without replacement, uniform or weighted by inverse label frequency, is done by Efraimidis–Spirakis
  keys ``log(u) / w`` (top-N), which is exact and merges across shards.
- ``balance``: equal counts per label (``N // #labels``), used for EHR-Bench risk tasks.
"""

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from ehr_r1.errors import EhrR1Error


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
CONFIG_DIR = Path(__file__).parent / "configs"


def splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed uint64 hash of int64 ``values`` under ``seed``."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + _GOLDEN * np.uint64(seed + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform01(values: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic uniforms in (0, 1) from int64 ``values``."""
    return (splitmix64(values, seed) >> np.uint64(11)).astype(np.float64) / 2.0**53 + 2.0**-54


def text_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def in_test_split(subject_ids: pl.Series | np.ndarray, seed: int, test_fraction: float) -> np.ndarray:
    return uniform01(np.asarray(subject_ids, dtype=np.int64), seed) < test_fraction


@dataclass
class SamplingConfig:
    """Per-task quotas and sampling modes, read from YAML (``ehr_r1/configs/ehr_bench.yaml``, ``ehr_ins.yaml``).

    Args:
        name (`str`): dataset name (``ehr-bench`` or ``ehr-ins``).
        split (`str`): ``test`` (EHR-Bench) or ``train`` (EHR-Ins) patients.
        test_fraction (`float`): share of patients in the test split.
        default_quota (`int`): samples per task when a task has no entry in ``quotas`` (-1 = all).
        quotas (`dict[str, int]`): samples per task (-1 = all); tasks absent here and with ``default_quota`` 0 are off.
        weighted_tasks (`list[str]`): tasks sampled with inverse label-frequency weights.
        weight_risk (`bool`): weight every risk task too (docs/tasks.md).
        balance_risk (`bool`): equal counts per label for risk tasks (EHR-Bench ``--balance_force``).
        max_candidates (`int`): candidate-list size for decision-making baselines (docs/tasks.md).
        max_per_task (`int | None`): caps every quota (quick builds, demos).
    """

    name: str = "ehr-bench"
    split: str = "test"
    test_fraction: float = 0.2
    default_quota: int = 500
    quotas: dict[str, int] = field(default_factory=dict)
    weighted_tasks: list[str] = field(default_factory=lambda: ["emar", "chartevents", "next_event"])
    weight_risk: bool = True
    balance_risk: bool = True
    max_candidates: int = 100
    max_per_task: int | None = None

    @classmethod
    def from_yaml(cls, path: str | Path) -> "SamplingConfig":
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise EhrR1Error(f"{path}: cannot read the sampling config ({err.strerror})") from None
        except yaml.YAMLError as err:
            raise EhrR1Error(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise EhrR1Error(f"{path}: the sampling config must be a YAML mapping")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise EhrR1Error(f"{path}: unknown key(s) {sorted(unknown)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as err:
            raise EhrR1Error(f"{path}: {err}") from None

    def __post_init__(self):
        if self.split not in ("test", "train"):
            raise ValueError(f"split must be 'test' or 'train', got {self.split!r}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not isinstance(self.quotas, dict) or not all(isinstance(v, int) for v in self.quotas.values()):
            raise ValueError("quotas must map task names to integers")

    def check_dataset(self, dataset: str, path: str | Path) -> None:
        """EHR-Bench samples test patients and EHR-Ins train patients; a config asking otherwise is refused."""
        expected = "test" if dataset == "ehr-bench" else "train"
        if self.split != expected:
            raise EhrR1Error(f"{path}: split {self.split!r} for {dataset}, whose patients are the {expected} split")

    @classmethod
    def default(cls, name: str) -> "SamplingConfig":
        return cls.from_yaml(CONFIG_DIR / f"{name.replace('-', '_')}.yaml")

    def quota(self, task: str) -> int:
        quota = self.quotas.get(task, self.default_quota)
        if self.max_per_task is None or quota == 0:
            return quota
        return self.max_per_task if quota < 0 else min(quota, self.max_per_task)


def label_counts(index: pl.DataFrame) -> pl.DataFrame:
    """(task, label, c): samples per label, plus one row per task with a null label holding its sample count.

    Counts of several shards concatenate and add up (``frequencies``).
    """
    totals = index.group_by("task").agg(label=pl.lit(None, pl.String), c=pl.len())
    counts = index.select("task", "labels").explode("labels").group_by("task", label="labels").agg(c=pl.len())
    return pl.concat([counts.drop_nulls("label"), totals]).cast({"c": pl.Int64})


def frequencies(counts: pl.DataFrame) -> pl.DataFrame:
    """(task, label, freq) from concatenated ``label_counts``: the share of a task's samples with each label."""
    summed = counts.group_by("task", "label").agg(pl.col("c").sum())
    n = summed.filter(pl.col("label").is_null()).select("task", n="c")
    return summed.drop_nulls("label").join(n, on="task").select("task", "label", freq=pl.col("c") / pl.col("n"))


def label_frequencies(index: pl.DataFrame) -> pl.DataFrame:
    """(task, label, freq): share of a task's samples that carry each label."""
    return frequencies(label_counts(index))


def sample_keys(
    index: pl.DataFrame, freqs: pl.DataFrame, cfg: SamplingConfig, seed: int, risk: set[str]
) -> pl.DataFrame:
    """Add ``weight`` (1 / mean label frequency, or 1) and the Efraimidis–Spirakis key ``log(u) / weight``."""
    weighted_tasks = set(cfg.weighted_tasks) | (risk if cfg.weight_risk else set())
    out = index.with_row_index("_row")
    weighted = out.filter(pl.col("task").is_in(sorted(weighted_tasks)))
    mean_freq = (
        weighted.select("_row", "task", "labels")
        .explode("labels")
        .join(freqs, left_on=["task", "labels"], right_on=["task", "label"], how="left")
        .group_by("_row")
        .agg(weight=1 / pl.col("freq").mean())
    )
    out = out.join(mean_freq, on="_row", how="left").sort("_row").with_columns(pl.col("weight").fill_null(1.0))
    salt = {t: text_seed(t) for t in out["task"].unique()}
    ident = out.select(
        pl.col("subject_id") * 1_000_003 + pl.col("target_idx")
        ^ pl.col("task").replace_strict(salt, return_dtype=pl.Int64)
    ).to_series()
    u = uniform01(ident.to_numpy(), seed)
    return out.with_columns(es_key=pl.Series(np.log(u)) / pl.col("weight")).drop("_row")


def select_top(keyed: pl.DataFrame, cfg: SamplingConfig, risk: set[str]) -> pl.DataFrame:
    """Per task (per task and label for balanced risk tasks), the rows with the largest keys up to the quota."""
    quota = pl.col("task").replace_strict({t: cfg.quota(t) for t in keyed["task"].unique()}, return_dtype=pl.Int64)
    balanced = pl.col("task").is_in(sorted(risk)) & pl.lit(cfg.balance_risk)
    group_label = pl.when(balanced).then(pl.col("labels").list.first()).otherwise(pl.lit(""))
    n_labels = pl.when(balanced).then(2).otherwise(1)
    limit = pl.when(quota < 0).then(pl.lit(2**62)).otherwise(quota // n_labels)
    keyed = keyed.with_columns(_group=group_label, _limit=limit)
    rank = pl.col("es_key").rank("ordinal", descending=True).over("task", "_group")
    ordered = keyed.sort(
        "task", "_group", "es_key", "subject_id", "target_idx", descending=[False, False, True, False, False]
    )
    return ordered.filter(rank <= pl.col("_limit")).drop("_group", "_limit")


def candidates_for(gold: list[str], vocabulary: list[str], rng: random.Random, limit: int) -> list[str]:
    """Candidate list for a decision-making baseline: the whole vocabulary if small, else gold + random others."""
    if len(vocabulary) <= limit:
        pool = list(vocabulary)
    else:
        gold_set = set(gold)
        drawn = rng.sample(vocabulary, min(len(vocabulary), limit + len(gold)))
        pool = list(gold) + [v for v in drawn if v not in gold_set][: max(0, limit - len(gold))]
    rng.shuffle(pool)
    return pool

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Build EHR-Bench / EHR-Ins folders: MIMIC-IV → timelines → sample index → sampled, rendered parquet + card.

The output loads offline with ``datasets.load_dataset(OUT, "decision_making" | "risk_prediction" | <task>)``.
Everything is written in a temporary sibling folder and renamed at the end, so a failed or killed build leaves
nothing behind and a re-run gives byte-identical files.
"""

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from tqdm.auto import tqdm

from ehr_r1 import __version__, writer
from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir
from ehr_r1.manifest import fingerprint_inputs, fingerprint_outputs
from ehr_r1.rows import render_samples
from ehr_r1.sampling import SamplingConfig, frequencies, in_test_split, label_counts, sample_keys, select_top
from ehr_r1.sources.mimic import LookupTables, discover, patient_ids
from ehr_r1.tasks.catalogue import ALL_TASKS, RISK_TASKS, get_task
from ehr_r1.tasks.index import IndexConfig, build_index
from ehr_r1.timeline import build_timelines, default_num_shards


logger = logging.getLogger(__name__)
RISK_NAMES = {t.name for t in RISK_TASKS}


@dataclass
class BuildConfig:
    """Options of ``ehr-r1 build-bench`` / ``build-ins``.

    Args:
        mimic_dir (`str`): MIMIC-IV root with ``hosp/`` (required), ``icu/``, ``ed/``, ``note/``.
        output (`str`): output folder (replaced atomically).
        dataset (`str`): ``ehr-bench`` or ``ehr-ins``.
        seed (`int`): seed of the patient split, the sampling and the candidate lists.
        config (`str | None`): sampling YAML (quotas, modes); defaults to the packaged one for ``dataset``.
        atc_map (`str | None`): ethos folder or ``d_atc_prescriptions.csv`` for NDC → ATC (ATC tasks need it).
        atc_level (`int`): ATC level of the class names taken from ethos tables.
        tasks (`list[str] | None`): restrict to these tasks.
        num_shards (`int | None`): patient shards (default: about one per 2M input rows).
        jsonl (`bool`): also write the released EHR-Bench JSONL files.
        trl_configs (`bool`): write TRL-ready ``sft`` / ``reasoning`` / ``grpo`` configs (default for EHR-Ins).
        cpt (`bool`): write a ``cpt`` config of whole rendered timelines (large on full MIMIC-IV).
        reasoning_file (`str | None`): JSONL with ``idx`` and ``reasoning`` to add ``/think`` samples.
        check_disjoint (`str | None`): another built dataset whose patients must not appear here.
        index (`IndexConfig`): context filters.
        max_per_task (`int | None`): caps every task's quota.
        max_length (`int | None`): token budget of a sample's full chat; older events are dropped to fit.
        tokenizer (`str | None`): tokenizer (with chat template) that counts tokens for ``max_length``.
    """

    mimic_dir: str
    output: str
    dataset: str = "ehr-bench"
    seed: int = 42
    config: str | None = None
    atc_map: str | None = None
    atc_level: int = 4
    tasks: list[str] | None = None
    num_shards: int | None = None
    jsonl: bool = False
    trl_configs: bool | None = None
    cpt: bool = False
    reasoning_file: str | None = None
    check_disjoint: str | None = None
    index: IndexConfig = field(default_factory=IndexConfig)
    max_per_task: int | None = None
    max_length: int | None = None
    tokenizer: str | None = None

    def sampling(self) -> SamplingConfig:
        sampling = SamplingConfig.from_yaml(self.config) if self.config else SamplingConfig.default(self.dataset)
        if self.max_per_task is not None:
            sampling.max_per_task = self.max_per_task
        return sampling

    @property
    def split(self) -> str:
        return self.sampling().split


def _task_objects(cfg: BuildConfig, sampling: SamplingConfig):
    names = cfg.tasks or [t for t in ALL_TASKS if sampling.quota(t) != 0]
    for name in names:
        if name not in ALL_TASKS:
            raise EhrR1Error(f"unknown task {name!r} (known: {', '.join(ALL_TASKS)})")
    return [get_task(n) for n in names]


def index_shards(
    shards: list[Path], cfg: BuildConfig, sampling: SamplingConfig, work: Path
) -> tuple[list[Path], pl.DataFrame]:
    """Per shard (timelines hold only the split's patients): write the sample index. Also returns the label
    frequencies (task, label, freq) over all shards, which weighted sampling needs before picking from any shard."""
    tasks = _task_objects(cfg, sampling)
    paths, counts = [], []
    for path in tqdm(shards, desc="indexing samples", unit="shard"):
        index = build_index(pl.read_parquet(path), cfg.index, tasks)
        target = work / "index" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        index.write_parquet(target)
        paths.append(target)
        counts.append(label_counts(index))
    if not paths or not sum(c["c"].sum() for c in counts):
        raise EhrR1Error("no samples: every task produced an empty index (is the MIMIC-IV folder complete?)")
    return paths, frequencies(pl.concat(counts))


def select_samples(index_paths: list[Path], freqs: pl.DataFrame, sampling: SamplingConfig, seed: int) -> pl.DataFrame:
    """Sampled index rows (with their ``shard``) across shards: exact global top-N by Efraimidis–Spirakis keys."""
    chosen = []
    for shard, path in enumerate(index_paths):
        index = pl.read_parquet(path)
        if index.height:
            keyed = sample_keys(index, freqs, sampling, seed, RISK_NAMES)
            chosen.append(select_top(keyed, sampling, RISK_NAMES).with_columns(shard=pl.lit(shard)))
    selected = select_top(pl.concat(chosen), sampling, RISK_NAMES)
    return selected.sort("task", "subject_id", "target_idx")


def _apply_budget(rows: pl.DataFrame, cfg: BuildConfig) -> tuple[pl.DataFrame, dict | None]:
    if cfg.max_length is None:
        return rows, None
    if not cfg.tokenizer:
        raise EhrR1Error("--max-length needs --tokenizer (a local folder or Hub id with a chat template)")
    from ehr_r1.truncation import ChatTokenCounter, fit_inputs

    fitted = fit_inputs(rows, ChatTokenCounter(cfg.tokenizer), cfg.max_length)
    stats = {
        "max_length": cfg.max_length,
        "tokenizer": cfg.tokenizer,
        "samples_truncated": int((fitted["events_dropped"] > 0).sum()),
        "events_dropped": int(fitted["events_dropped"].sum()),
    }
    return fitted.drop("events_dropped"), stats


def build_dataset(cfg: BuildConfig) -> dict:
    """Build the dataset folder ``cfg.output``; returns the manifest."""
    sampling = cfg.sampling()
    layout = discover(cfg.mimic_dir)
    lookups = LookupTables(layout, cfg.atc_map, cfg.atc_level)
    patients = patient_ids(layout)
    in_split = pl.Series(in_test_split(patients.to_numpy(), cfg.seed, sampling.test_fraction))
    subjects = patients.filter(in_split if sampling.split == "test" else ~in_split).to_frame()
    num_shards = cfg.num_shards or default_num_shards(layout, kept=subjects.height / max(1, patients.len()))
    with atomic_output_dir(cfg.output) as tmp:
        work = tmp / ".work"
        shards = build_timelines(layout, lookups, work / "timelines", num_shards, subjects=subjects)
        index_paths, freqs = index_shards(shards, cfg, sampling, work)
        selected = select_samples(index_paths, freqs, sampling, cfg.seed)
        vocab = {t: g.sort("label")["label"].to_list() for (t,), g in freqs.group_by("task")}
        rows = render_samples(selected, shards, vocab, cfg.seed, sampling.max_candidates)
        rows, truncation = _apply_budget(rows, cfg)
        writer.check_split(rows, sampling, cfg)
        cpt = writer.cpt_texts(shards) if cfg.cpt else None
        writer.write_dataset(tmp, rows, cfg, sampling, cpt)
        shutil.rmtree(work)
        manifest = {
            "dataset": sampling.name,
            "split": sampling.split,
            "seed": cfg.seed,
            "package_version": __version__,
            "test_fraction": sampling.test_fraction,
            "counts": writer.counts(rows),
            "subjects": rows["subject_id"].n_unique(),
            "disjointness": writer.disjointness(rows, sampling, cfg),
            "missing_modules": layout.missing_modules,
            "truncation": truncation,
            "input_fingerprints": fingerprint_inputs(layout.files),
            "output_fingerprints": fingerprint_outputs(tmp),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    logger.info("wrote %d samples (%d tasks) to %s", rows.height, rows["task"].n_unique(), cfg.output)
    return manifest

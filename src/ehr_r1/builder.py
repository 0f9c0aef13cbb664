# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Build EHR-Bench / EHR-Ins folders: MIMIC-IV or MEDS → timelines → sample index → sampled, rendered parquet + card.

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

from ehr_r1 import __version__, layout, writer
from ehr_r1.audit import leakage_audit
from ehr_r1.cards import dataset_card
from ehr_r1.disjointness import check_split, check_split_settings, disjointness
from ehr_r1.errors import EhrR1Error
from ehr_r1.io import atomic_output_dir
from ehr_r1.manifest import fingerprint_inputs, fingerprint_outputs
from ehr_r1.provenance import synthetic_inputs
from ehr_r1.rows import TokenBudget, render_samples
from ehr_r1.sampling import SamplingConfig, frequencies, in_test_split, label_counts, sample_keys, select_top
from ehr_r1.sources.meds import MedsSource
from ehr_r1.sources.mimic import MimicSource
from ehr_r1.tasks.catalogue import ALL_TASKS, DECISION_TASKS, NEXT_EVENT, RISK_TASKS, get_task
from ehr_r1.tasks.index import IndexConfig, build_index
from ehr_r1.tasks.labels import LabelTask, load_label_tasks, register_label_tasks
from ehr_r1.timeline import ROWS_PER_SHARD, build_timelines, default_num_shards
from ehr_r1.trl_formats import read_reasoning, trl_frames


logger = logging.getLogger(__name__)
RISK_NAMES = {t.name for t in RISK_TASKS}  # the built-in risk tasks; label-file tasks are risk tasks too
MEDS_BENCH, MEDS_INS = ("held_out",), ("train", "tuning")  # subject_splits.parquet → EHR-Bench / EHR-Ins
QWEN3 = "qwen3"  # the offline Qwen2.5/Qwen3 tokenizer and training chat template (``ehr_r1.tiny_model``)


@dataclass
class BuildConfig:
    """Options of ``ehr-r1 build-bench`` / ``build-ins``."""

    mimic_dir: str | None = field(
        default=None, metadata={"help": "MIMIC-IV root with hosp/ (required), icu/, ed/, note/ (or --meds-dir)."}
    )
    output: str | None = field(
        default=None, metadata={"help": "Output folder, required (written to a temporary folder, then renamed)."}
    )
    dataset: str = field(default="ehr-bench", metadata={"help": "ehr-bench or ehr-ins.", "cli": False})
    seed: int = field(default=42, metadata={"help": "Seed of the patient split, the sampling and the candidates."})
    meds_dir: str | None = field(
        default=None,
        metadata={
            "help": "MEDS root (data/**/*.parquet, metadata/codes.parquet, metadata/subject_splits.parquet) instead "
            "of --mimic-dir; splits from subject_splits.parquet when present (held_out: bench, train/tuning: ins)."
        },
    )
    meds_vocab: str | None = field(
        default=None,
        metadata={"help": "MEDS vocabulary YAML, or mimic_iv_meds (default) / omop (docs/meds.md)."},
    )
    labels: str | None = field(
        default=None,
        metadata={
            "help": "With --meds-dir: folder of <task_name>.parquet label files (ACES format, `ehr-r1 labels`), "
            "one risk task each, context cut at prediction_time."
        },
    )
    sampling: str | None = field(
        default=None,
        metadata={"help": "Sampling YAML (quotas, weighting, balance); default: the packaged one for the dataset."},
    )
    atc_map: str | None = field(
        default=None,
        metadata={
            "help": "NDC->ATC source: ethos folder (gsn_atc_ndc_mapping.csv.gz + atc_coding.csv.gz) or a "
            "d_atc_prescriptions.csv (ndc_code, atc_name). Without it the ATC tasks are skipped."
        },
    )
    atc_level: int = field(default=4, metadata={"help": "ATC level of class names.", "choices": [1, 2, 3, 4, 5]})
    tasks: list[str] | None = field(
        default=None, metadata={"help": "Only these tasks (default: every task with a non-zero quota)."}
    )
    num_shards: int | None = field(
        default=None, metadata={"help": f"Patient shards (default: about one per {ROWS_PER_SHARD:,} kept rows)."}
    )
    max_per_task: int | None = field(default=None, metadata={"help": "Cap every task's quota (quick builds, demos)."})
    max_length: int | None = field(
        default=None, metadata={"help": "Token budget of a sample's chat: drop the oldest events to fit."}
    )
    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "Tokenizer with a chat template that counts tokens for --max-length: a local folder or Hub id, "
            f"or {QWEN3!r} for the Qwen2.5/Qwen3 vocabulary built offline (EHR-R1's base models)."
        },
    )
    format: str = field(
        default="parquet",
        metadata={
            "help": "jsonl also writes the released-layout ehr_*_{decision_making,risk_prediction}.jsonl.",
            "choices": ["parquet", "jsonl"],
        },
    )
    trl_configs: bool | None = field(
        default=None,
        metadata={"help": "Write the sft / reasoning / grpo configs (default: EHR-Ins only).", "cli": False},
    )
    cpt: bool = field(default=False, metadata={"help": "Also write a `cpt` config of whole rendered timelines."})
    reasoning_file: str | None = field(
        default=None,
        metadata={
            "help": "JSONL (idx, reasoning), e.g. from `ehr-r1 build-reasoning`: the stage-2 `reasoning` config."
        },
    )
    no_think_share: float = field(
        default=0.1,
        metadata={"help": "Share of /no_think (non-reasoning) samples in the `reasoning` config, beside the chains."},
    )
    check_disjoint: str | None = field(
        default=None, metadata={"help": "A built dataset whose patients must not appear in this one."}
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an output folder another ehr-r1 command wrote."})
    strict: bool = field(
        default=False,
        metadata={"help": "Stop at impossible records (discharge before admission, ...) instead of dropping them."},
    )
    index: IndexConfig = field(default_factory=IndexConfig, metadata={"help": "Context filters."})

    @property
    def tokenizer_dir(self) -> str | None:
        """The tokenizer when it is a local folder (an input the output must not touch)."""
        return self.tokenizer if self.tokenizer and Path(self.tokenizer).is_dir() else None

    def __post_init__(self):
        if not self.output:
            raise EhrR1Error("missing required option --output")
        if (self.mimic_dir is None) == (self.meds_dir is None):
            raise EhrR1Error("give exactly one of --mimic-dir and --meds-dir")
        if self.mimic_dir and (self.labels or self.meds_vocab):
            raise EhrR1Error("--labels and --meds-vocab need --meds-dir")
        for name in ("max_per_task", "num_shards", "max_length"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise EhrR1Error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if not 0 <= self.no_think_share < 1:
            raise EhrR1Error(f"--no-think-share must be in [0, 1), got {self.no_think_share}")
        if self.dataset not in ("ehr-bench", "ehr-ins"):
            raise EhrR1Error(f"dataset must be ehr-bench or ehr-ins, got {self.dataset!r}")

    def sampling_config(self) -> SamplingConfig:
        path = self.sampling
        sampling = SamplingConfig.from_yaml(path) if path else SamplingConfig.default(self.dataset)
        sampling.check_dataset(self.dataset, path or "the packaged sampling config")
        if self.max_per_task is not None:
            sampling.max_per_task = self.max_per_task
        return sampling

    @property
    def budget(self) -> TokenBudget | None:
        if self.max_length is None:
            return None
        if not self.tokenizer:
            raise EhrR1Error("--max-length needs --tokenizer (a local folder or Hub id with a chat template)")
        from ehr_r1.truncation import ChatTokenCounter

        if self.tokenizer == QWEN3:
            from ehr_r1.tiny_model import build_qwen_tokenizer

            return TokenBudget(ChatTokenCounter(build_qwen_tokenizer()), self.max_length)
        return TokenBudget(ChatTokenCounter(self.tokenizer), self.max_length)


def risk_names() -> set[str]:
    """Every risk task of the catalogue (built-in and label-file tasks)."""
    return {n for n, t in ALL_TASKS.items() if isinstance(t, LabelTask)} | RISK_NAMES


def _default_tasks(cfg: BuildConfig, sampling: SamplingConfig) -> list[str]:
    """Every task with a non-zero quota; on MEDS, the decision-making tasks and the label files' tasks (the built-in
    risk rules read MIMIC-IV stay and admission times, which MEDS rows do not carry)."""
    if cfg.meds_dir is None:
        return [t for t, task in ALL_TASKS.items() if sampling.quota(t) != 0 and not isinstance(task, LabelTask)]
    labelled = [t.name for t in ALL_TASKS.values() if isinstance(t, LabelTask) and t.path and cfg.labels
                and t.path.is_relative_to(Path(cfg.labels))]  # fmt: skip
    return [t.name for t in (*DECISION_TASKS, NEXT_EVENT) if sampling.quota(t.name) != 0] + labelled


def _task_objects(cfg: BuildConfig, sampling: SamplingConfig):
    names = cfg.tasks or _default_tasks(cfg, sampling)
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
        raise EhrR1Error("no samples: every task produced an empty index (is the input folder complete?)")
    return paths, frequencies(pl.concat(counts))


def select_samples(index_paths: list[Path], freqs: pl.DataFrame, sampling: SamplingConfig, seed: int) -> pl.DataFrame:
    """Sampled index rows (with their ``shard``) across shards: exact global top-N by Efraimidis–Spirakis keys."""
    chosen = []
    for shard, path in enumerate(index_paths):
        index = pl.read_parquet(path)
        if index.height:
            keyed = sample_keys(index, freqs, sampling, seed, risk_names())
            chosen.append(select_top(keyed, sampling, risk_names()).with_columns(shard=pl.lit(shard)))
    selected = select_top(pl.concat(chosen), sampling, risk_names())
    return selected.sort("task", "subject_id", "target_idx")


def _truncation(rows: pl.DataFrame, cfg: BuildConfig) -> dict | None:
    if cfg.max_length is None:
        return None
    truncated = int((rows["events_dropped"] > 0).sum())
    logger.info("token budget %d: %d samples lost old events", cfg.max_length, truncated)
    return {
        "max_length": cfg.max_length,
        "tokenizer": cfg.tokenizer,
        "samples_truncated": truncated,
        "events_dropped": int(rows["events_dropped"].sum()),
    }


def write_folder(
    folder: Path,
    rows: pl.DataFrame,
    cpt: pl.DataFrame | None,
    chains: dict[str, str],
    cfg: BuildConfig,
    sampling,
    audit: dict,
    synthetic: bool,
    truncation: dict | None = None,
    origin: dict | None = None,
) -> None:
    """Data files and card of a build (``ehr_r1.layout``)."""
    split = sampling.split
    configs = writer.write_samples(folder, rows, sampling.name, split, cfg.format == "jsonl")
    trl = cfg.trl_configs if cfg.trl_configs is not None else split == "train"
    extra = trl_frames(rows, chains, cfg.no_think_share, cfg.seed) if trl else {}
    if trl and "reasoning" not in extra:
        logger.info("no reasoning chains (--reasoning-file from `ehr-r1 build-reasoning`): no `reasoning` config")
    if cpt is not None:
        extra[layout.CPT_CONFIG] = cpt
    configs += writer.write_configs(folder, extra, split)
    configs[0]["default"] = True
    card = dataset_card(
        sampling.name, split, sampling.test_fraction, configs, rows, Path(cfg.output).name, cfg.seed, synthetic, audit,
        folder=folder, truncation=truncation, sampling=sampling, origin=origin,
    )  # fmt: skip
    (folder / layout.CARD).write_text(card)


def open_source(cfg: BuildConfig) -> MimicSource | MedsSource:
    """The build's event source: a MIMIC-IV or a MEDS folder (validated before any work)."""
    if cfg.meds_dir is not None:
        return MedsSource(cfg.meds_dir, cfg.meds_vocab)
    return MimicSource(cfg.mimic_dir, cfg.atc_map, cfg.atc_level, cfg.strict)


def split_subjects(source, sampling: SamplingConfig, seed: int) -> tuple[pl.DataFrame, dict | None]:
    """This build's patients, and the MEDS split it follows (None: the seeded hash split, ``in_test_split``)."""
    patients = source.subject_ids()
    splits = source.splits() if isinstance(source, MedsSource) else None
    if splits is None:
        in_split = pl.Series(in_test_split(patients.to_numpy(), seed, sampling.test_fraction))
        return patients.filter(in_split if sampling.split == "test" else ~in_split).to_frame(), None
    names = MEDS_BENCH if sampling.split == "test" else MEDS_INS
    unlisted = patients.filter(~patients.is_in(splits["subject_id"].implode())).len()
    if unlisted:
        logger.warning("%d subject(s) not in %s are left out", unlisted, source.layout.splits)
    mine = splits.filter(pl.col("split").is_in(names))["subject_id"]
    subjects = patients.filter(patients.is_in(mine.implode())).to_frame()
    rule = (
        f"MEDS metadata/subject_splits.parquet: {', '.join(MEDS_BENCH)} → EHR-Bench, {', '.join(MEDS_INS)} → EHR-Ins"
    )
    return subjects, {"method": "MEDS subject_splits.parquet", "splits": list(names), "rule": rule}


def _check_meds_split(rows: pl.DataFrame, subjects: pl.DataFrame, split: dict) -> None:
    wrong = rows.filter(~pl.col("subject_id").is_in(subjects["subject_id"].implode()))["subject_id"].n_unique()
    if wrong:
        raise EhrR1Error(f"internal error: {wrong} patients outside the {'/'.join(split['splits'])} MEDS split(s)")


def _split_facts(rows: pl.DataFrame, cfg: BuildConfig, sampling: SamplingConfig, meds_split: dict | None) -> dict:
    """The manifest's ``disjointness``: the split this build used (hash or MEDS ``subject_splits``) and any check."""
    facts = disjointness(rows["subject_id"], cfg.seed, sampling.test_fraction, cfg.check_disjoint)
    if meds_split is None:
        return facts | {"rule": "test iff splitmix64(subject_id, seed) / 2**64 < test_fraction (ehr_r1.sampling.in_test_split)"}  # fmt: skip
    return {k: v for k, v in facts.items() if k not in ("seed", "test_fraction")} | meds_split


def _source_facts(cfg: BuildConfig, source, meds_split: dict | None, labels: list[LabelTask]) -> dict:
    """The manifest's ``source``: which reader, vocabulary and label files the build used."""
    if not isinstance(source, MedsSource):
        return {"format": "mimic-iv"}
    origin = source.origin()
    return {
        "format": "meds",
        "dataset": origin["dataset"],
        "mimic": origin["mimic"],
        "vocabulary": source.vocab.name,
        "split": "subject_splits.parquet" if meds_split else "seeded hash",
        "label_tasks": {t.name: {"labels": t.labels.height, "positive": int(t.labels["boolean_value"].sum())}
                        for t in labels},
    }  # fmt: skip


def build_dataset(cfg: BuildConfig) -> dict:
    """Build the dataset folder ``cfg.output``; returns the manifest."""
    sampling = cfg.sampling_config()
    chains = read_reasoning(cfg.reasoning_file)  # a bad reasoning file fails before any work
    source = open_source(cfg)
    origin = source.origin()  # a malformed MEDS dataset.json fails here, before any work
    patients = source.subject_ids()
    subjects, meds_split = split_subjects(source, sampling, cfg.seed)
    if cfg.check_disjoint and meds_split is None:
        check_split_settings(cfg.check_disjoint, sampling.split, cfg.seed, sampling.test_fraction)
    labels = load_label_tasks(cfg.labels, patients) if cfg.labels else []
    register_label_tasks(labels)
    budget = cfg.budget
    num_shards = cfg.num_shards or default_num_shards(*source.input_bytes(), subjects.height / max(1, patients.len()))
    command = "build-bench" if cfg.dataset == "ehr-bench" else "build-ins"
    inputs = (cfg.mimic_dir, cfg.meds_dir, cfg.labels, cfg.atc_map, cfg.check_disjoint, cfg.sampling,
              cfg.reasoning_file, cfg.tokenizer_dir, cfg.meds_vocab)  # fmt: skip
    with atomic_output_dir(cfg.output, cfg.overwrite, inputs, command) as tmp:
        work = tmp / ".work"
        shards = build_timelines(source, work / "timelines", num_shards, subjects=subjects)
        index_paths, freqs = index_shards(shards, cfg, sampling, work)
        selected = select_samples(index_paths, freqs, sampling, cfg.seed)
        vocab = {t: g.sort("label")["label"].to_list() for (t,), g in freqs.group_by("task")}
        rows, cpt = render_samples(selected, shards, vocab, cfg.seed, sampling.max_candidates, budget, cfg.cpt)
        truncation = _truncation(rows, cfg)
        rows = rows.drop("events_dropped")
        if meds_split is None:
            check_split(rows["subject_id"], sampling.split, cfg.seed, sampling.test_fraction)
        else:
            _check_meds_split(rows, subjects, meds_split)
        audit = leakage_audit(rows)
        for flag in audit["flagged"]:
            logger.warning("leakage audit: %(event)s in %(share_yes).0f%% of yes vs %(share_no).0f%% of no samples "
                           "of %(task)s", {**flag, "share_yes": 100 * flag["share_yes"], "share_no": 100 * flag["share_no"]})  # fmt: skip
        synthetic = synthetic_inputs(source.synthetic_record.parent, source.input_files)  # verified, not trusted
        write_folder(tmp, rows, cpt, chains, cfg, sampling, audit, synthetic is not None, truncation, origin)
        shutil.rmtree(work)
        manifest = {
            "command": command,
            "dataset": sampling.name,
            "split": sampling.split,
            "seed": cfg.seed,
            "package_version": __version__,
            "test_fraction": sampling.test_fraction,
            "counts": writer.counts(rows),
            "subjects": rows["subject_id"].n_unique(),
            "disjointness": _split_facts(rows, cfg, sampling, meds_split),
            "source": _source_facts(cfg, source, meds_split, labels),
            "missing_modules": source.missing_modules,
            "impossible_records": source.impossible,
            "truncation": truncation,
            "leakage_audit": audit,
            "input_fingerprints": fingerprint_inputs(source.input_files, source.root),
            "synthetic_inputs": synthetic,
            "output_fingerprints": fingerprint_outputs(tmp),
        }
        (tmp / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    logger.info("wrote %d samples (%d tasks) to %s", rows.height, rows["task"].n_unique(), cfg.output)
    return manifest

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Dataset cards (YAML front matter with ``configs:`` and the access gate) rendered from build facts.

A card names where its data came from (the source's ``origin()``): a MIMIC-IV folder, or a MEDS folder, named by its
``metadata/dataset.json`` ``dataset_name`` (else the folder name). MIMIC-derived data (a MIMIC-IV folder, or a MEDS
folder whose name says MIMIC) gets the PhysioNet DUA gate; any other real data gets a gate asking for the data owner's
approval, ``license: other``. Both are gated; only verified synthetic builds are public.
"""

import re
from pathlib import Path

import jinja2
import polars as pl
import pyarrow.parquet as pq

from ehr_r1 import __version__, layout
from ehr_r1.prompting import RISK_PREDICTION, YES


TEMPLATES = Path(__file__).parent / "templates"
MIMIC_GATE = {
    "extra_gated_heading": "Credentialed access (PhysioNet MIMIC-IV DUA)",
    "extra_gated_prompt": (
        "This dataset is derived from MIMIC-IV. You must hold active PhysioNet credentialed access and have signed "
        "the MIMIC-IV data use agreement. You agree not to attempt re-identification and not to share the data with "
        "third parties, including online services that retain data."
    ),
    "extra_gated_fields": {
        "PhysioNet username": "text",
        "Affiliation": "text",
        "I have signed the MIMIC-IV data use agreement": "checkbox",
        "I will not attempt to re-identify any individual": "checkbox",
        "Intended use": {"type": "select", "options": ["Academic research", "Education", "Other"]},
    },
    "extra_gated_button_content": "Request access",
}


MIMIC_ORIGIN = {"format": "mimic-iv", "dataset": "MIMIC-IV", "mimic": True}


def owner_gate(dataset: str) -> dict:
    """The gate of real data that is not MIMIC-IV: access only with the data owner's approval (licence unknown)."""
    return {
        "extra_gated_heading": f"Restricted access ({dataset}: data owner's approval)",
        "extra_gated_prompt": (
            f"This dataset is derived from {dataset}, electronic health records of real patients. You must hold the "
            f"data owner's approval to access {dataset} and agree to their data use terms. You agree not to attempt "
            "re-identification and not to share the data with third parties, including online services that retain "
            "data."
        ),
        "extra_gated_fields": {
            "Affiliation": "text",
            f"Who approved your access to {dataset} (data owner or custodian)": "text",
            f"I hold the data owner's approval to access {dataset}": "checkbox",
            "I will not attempt to re-identify any individual": "checkbox",
            "Intended use": {"type": "select", "options": ["Academic research", "Education", "Other"]},
        },
        "extra_gated_button_content": "Request access",
    }


def _license_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "other"


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _source_tags(origin: dict, synthetic: bool) -> list[str]:
    if synthetic:
        return ["mimic-iv"]
    return (["mimic-iv"] if origin["mimic"] else []) + (["meds"] if origin["format"] == "meds" else [])


def front_matter(name: str, configs: list[dict], n: int, synthetic: bool, origin: dict | None = None) -> dict:
    """Card metadata: ``configs:``, tags, licence and gate (``origin``: the source's ``origin()``; default a MIMIC-IV folder)."""
    origin = origin or MIMIC_ORIGIN
    tags = ["medical", "ehr", *_source_tags(origin, synthetic), "clinical", "ehr-r1"]
    tags += ["synthetic"] if synthetic else []
    meta = {
        "pretty_name": name,
        "language": ["en"],
        "task_categories": ["text-generation", "question-answering"],
        "tags": tags,
        "size_categories": [_size_category(n)],
        "configs": configs,
    }
    if synthetic:
        meta["license"] = "apache-2.0"
    elif origin["mimic"]:
        meta.update(
            license="other",
            license_name="physionet-credentialed-health-data-license-1.5.0",
            license_link="https://physionet.org/content/mimiciv/view-license/3.1/",
            gated=True,
            **MIMIC_GATE,
        )
    else:  # real data of another source: its licence is the owner's (unknown here), access stays gated
        meta["license"] = "other"
        if origin.get("license"):
            meta["license_name"] = _license_slug(origin["license"])
        meta.update(gated=True, **owner_gate(origin["dataset"]))
    return meta


FIELDS = {
    "idx": "`<task>-<subject_id>-<target event index>`",
    "task": "task id",
    "task_type": "`decision_making` (set of items, scored by set F1) or `risk_prediction` (yes/no, AUROC)",
    "instruction": "the task instruction",
    "input": "the rendered EHR context (EHR-R1 format, `docs/ehr-text-format.md` of the ehr-r1 toolkit)",
    "output": "decision-making labels joined by newlines in sorted order, or `yes` / `no`",
    "candidates": 'candidate list for untrained baselines (risk: `["yes", "no"]`)',
    "task_info": "task, event table, target key, metric, hidden (bid) events, labels",
    "subject_id": "MIMIC-IV patient identifier (kept for auditing; the released EHR-Bench JSONL drops it)",
    "hadm_id": "MIMIC-IV admission identifier (kept for auditing; the released EHR-Bench JSONL drops it)",
    "messages": "chat messages (system, user, assistant) for TRL SFT",
    "prompt": "chat prompt (system, user) for TRL GRPO; the rewards read `output` and `task_type`",
    "label_prevalence": "share of `yes` in the task's source index (risk tasks; GRPO reward weighting)",
    "think": "whether the user turn asks for thinking (`/think`) or not (`/no_think`)",
    "text": "one patient's whole rendered timeline (continued pre-training)",
}
KIND_NAMES = {"decision_making": "task type", "risk_prediction": "task type"}
TRL_CONFIGS = {
    "sft": "stage 1 SFT (no think switch)",
    "reasoning": "stage 2 SFT (/think chains + /no_think)",
    "grpo": "stage 3 GRPO prompts",
    "cpt": "continued pre-training text",
}
BALANCE_TOLERANCE = 0.05  # a risk task counts as label-balanced when its share of `yes` is within 0.5 +/- this


def config_facts(folder: Path, configs: list[dict]) -> list[dict]:
    """Per ``configs:`` entry, as written: the parquet files' row count and columns (read from their footers)."""
    facts = []
    for c in configs:
        files = sorted(f for d in c["data_files"] for f in Path(folder).glob(d["path"]))
        schemas = [pq.ParquetFile(f) for f in files]
        columns = list(dict.fromkeys(n for s in schemas for n in s.schema_arrow.names))
        facts.append(
            {"name": c["config_name"], "n": sum(s.metadata.num_rows for s in schemas), "columns": columns,
             "files": len(files)}
        )  # fmt: skip
    return facts


def label_balance(rows: pl.DataFrame) -> pl.DataFrame:
    """Per task: samples, `yes` count and share (risk tasks), mean labels per sample (decision making)."""
    return (
        rows.group_by("task", "task_type")
        .agg(
            n=pl.len(),
            yes=(pl.col("output") == YES).sum(),
            labels=pl.col("task_info").struct.field("labels").list.len().mean(),
        )
        .with_columns(share_yes=pl.col("yes") / pl.col("n"))
        .sort("task_type", "task")
    )


def _task_rows(balance: pl.DataFrame) -> list[dict]:
    out = []
    for r in balance.iter_rows(named=True):
        if r["task_type"] == RISK_PREDICTION:
            text = f"{r['yes']} yes / {r['n'] - r['yes']} no ({100 * r['share_yes']:.1f}% yes)"
        else:
            text = f"{r['labels']:.1f} labels per sample"
        out.append({"task": r["task"], "task_type": r["task_type"], "n": r["n"], "balance": text})
    return out


def _balance_summary(balance: pl.DataFrame) -> dict:
    risk = balance.filter(pl.col("task_type") == RISK_PREDICTION)
    within = (pl.col("share_yes") - 0.5).abs() <= BALANCE_TOLERANCE
    return {
        "tolerance": BALANCE_TOLERANCE,
        "balanced": risk.filter(within)["task"].to_list(),
        "unbalanced": risk.filter(~within)["task"].to_list(),
    }


def _truncation_text(truncation: dict | None, n: int) -> str:
    if not truncation:
        return "No token budget was set (`--max-length`): no input was truncated at build time."
    share = truncation["samples_truncated"] / n if n else 0.0
    return (
        f"Token budget {truncation['max_length']} tokens (tokenizer `{truncation.get('tokenizer') or 'n/a'}`): "
        f"{truncation['samples_truncated']} of {n} samples ({100 * share:.1f}%) lost their oldest events to fit "
        f"({truncation.get('events_dropped', 0)} events dropped in all)."
    )


def _sampling_note(split: str, sampling, tasks: list[str]) -> str:
    """How samples were drawn: the largest per-task quota of this build's tasks, and the risk-label rule."""
    quotas = [q for q in (sampling.quota(t) for t in tasks) if q > 0] if sampling is not None else []
    quota = f"up to {max(quotas)} samples per task" if quotas else "a quota per task"
    if split == "test":
        if sampling is None or sampling.balance_risk:
            return quota + ", risk tasks drawn as equal counts per label where the index holds enough of both"
        return quota
    return quota + " with inverse label-frequency weighting"


def _id_help(dataset: str) -> dict:
    kept = "kept for auditing; the released EHR-Bench JSONL drops it"
    return {
        "subject_id": f"{dataset} patient identifier (MEDS `subject_id`; {kept})",
        "hadm_id": f"{dataset} admission identifier, where the source has one ({kept})",
    }


def _source_option(origin: dict) -> str:
    """The build command's input option(s) for this origin."""
    if origin["format"] != "meds":
        return "--mimic-dir <MIMIC-IV>"
    return "--meds-dir <MEDS folder>" + (f" --meds-vocab {origin['vocab']}" if origin.get("vocab_option") else "")


def _source_steps(origin: dict) -> str:
    """The first step of the build pipeline, as the card describes it."""
    if origin["format"] != "meds":
        return "MIMIC-IV tables"
    about = [f"version {origin['version']}"] if origin.get("version") else []
    about += [f"ETL {origin['etl']}"] if origin.get("etl") else []
    detail = f" ({', '.join(about)})" if about else ""
    return f"MEDS events of {origin['dataset']}{detail}, codes read with the `{origin['vocab']}` vocabulary"


def dataset_card(
    name: str,
    split: str,
    test_fraction: float,
    configs: list[dict],
    rows: pl.DataFrame,
    load_path: str,
    seed: int,
    synthetic: bool,
    audit: dict | None = None,
    *,
    folder: Path | None = None,
    truncation: dict | None = None,
    sampling=None,
    origin: dict | None = None,
) -> str:
    """The card of a built folder: front matter (``configs:``, licence, gate) and the text of the template.

    With ``folder`` (the folder being written, data files already in it) every config's row count and columns are read
    from its files; ``truncation`` is the build's token-budget record (``manifest.json``), ``sampling`` its
    ``SamplingConfig``, ``origin`` where its events came from (the source's ``origin()``; default a MIMIC-IV folder).
    """
    origin = origin or MIMIC_ORIGIN
    pretty = {"ehr-bench": "EHR-Bench", "ehr-ins": "EHR-Ins"}.get(name, name)
    balance = label_balance(rows)
    tasks = set(balance["task"].to_list())
    if folder is not None:
        facts = config_facts(folder, configs)
    else:  # no files to read: the sample configs' counts from the rows, derived configs unknown
        type_counts = dict(rows.group_by("task_type").len().iter_rows())
        facts = [{"name": c["config_name"], "n": type_counts.get(c["config_name"]), "columns": []} for c in configs]
    for f in facts:
        f["kind"] = KIND_NAMES.get(f["name"]) or TRL_CONFIGS.get(f["name"], "")
    config_rows = [f for f in facts if f["name"] not in tasks]  # per-task configs are listed in the next table
    sample_columns = next((f["columns"] for f in facts if f["name"] in KIND_NAMES), [])
    summary = (
        "Benchmark of EHR decision-making and risk-prediction tasks (EHR-R1, Liao et al. 2025, arXiv 2510.25628)."
        if split == "test"
        else "Instruction data for EHR decision-making and risk prediction (EHR-R1, Liao et al. 2025, arXiv 2510.25628)."
    )
    names = [f["name"] for f in facts]
    help_ = FIELDS if origin["mimic"] else FIELDS | _id_help(origin["dataset"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True)
    body = env.get_template("dataset_card.md.j2").render(
        pretty_name=pretty,
        summary=summary,
        synthetic=synthetic,
        split=split,
        n_samples=rows.height,
        config_rows=config_rows,
        task_rows=_task_rows(balance),
        balance=_balance_summary(balance),
        fields=[{"name": c, "help": help_.get(c, "")} for c in sample_columns],
        trl_fields=sorted({c for f in facts if f["name"] in TRL_CONFIGS for c in f["columns"]} - set(sample_columns)),
        field_help=help_,
        truncation=_truncation_text(truncation, rows.height),
        load_path=load_path,
        default_config=configs[0]["config_name"],
        train_config=next((n for n in ("sft", "reasoning", "grpo", "cpt") if n in names), None),
        has_cpt="cpt" in names,
        has_ids=bool({"subject_id", "hadm_id"} & set(sample_columns)),
        command="build-bench" if split == "test" else "build-ins",
        seed=seed,
        version=__version__,
        test_fraction=test_fraction,
        audit=audit,
        sampling_note=_sampling_note(split, sampling, sorted(tasks)),
        origin=origin,
        source_option=_source_option(origin),
        source_steps=_source_steps(origin),
        balance_by_design=split == "test" and (sampling is None or sampling.balance_risk),
    )
    return layout.card_text(front_matter(pretty, configs, rows.height, synthetic, origin), body)

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Dataset cards (YAML front matter with ``configs:`` and the MIMIC gate) rendered from build facts."""

from pathlib import Path

import jinja2
import polars as pl

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


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def front_matter(name: str, configs: list[dict], n: int, synthetic: bool) -> dict:
    meta = {
        "pretty_name": name,
        "language": ["en"],
        "task_categories": ["text-generation", "question-answering"],
        "tags": ["medical", "ehr", "mimic-iv", "clinical", "ehr-r1"] + (["synthetic"] if synthetic else []),
        "size_categories": [_size_category(n)],
        "configs": configs,
    }
    if synthetic:
        meta["license"] = "apache-2.0"
    else:
        meta.update(
            license="other",
            license_name="physionet-credentialed-health-data-license-1.5.0",
            license_link="https://physionet.org/content/mimiciv/view-license/3.1/",
            gated=True,
            **MIMIC_GATE,
        )
    return meta


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
) -> str:
    """The card of a built folder: front matter (``configs:``, licence, gate) and the text of the template."""
    pretty = {"ehr-bench": "EHR-Bench", "ehr-ins": "EHR-Ins"}.get(name, name)
    counts = dict(rows.group_by("task").len().iter_rows())
    balance = (
        rows.group_by("task", "task_type")
        .agg(
            n=pl.len(),
            yes=(pl.col("output") == YES).sum(),
            labels=pl.col("task_info").struct.field("labels").list.len().mean(),
        )
        .sort("task_type", "task")
    )
    task_rows = [
        {
            "task": r["task"],
            "task_type": r["task_type"],
            "n": r["n"],
            "balance": f"{r['yes']} yes / {r['n'] - r['yes']} no"
            if r["task_type"] == RISK_PREDICTION
            else f"{r['labels']:.1f} labels per sample",
        }
        for r in balance.iter_rows(named=True)
    ]
    type_counts = dict(rows.group_by("task_type").len().iter_rows())
    config_rows = [  # per-task configs are listed in the next table
        {"name": c["config_name"], "n": type_counts.get(c["config_name"], rows.height)}
        for c in configs
        if c["config_name"] not in counts
    ]
    summary = (
        "Benchmark of EHR decision-making and risk-prediction tasks (EHR-R1, Liao et al. 2025, arXiv 2510.25628)."
        if split == "test"
        else "Instruction data for EHR decision-making and risk prediction (EHR-R1, Liao et al. 2025, arXiv 2510.25628)."
    )
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True)
    body = env.get_template("dataset_card.md.j2").render(
        pretty_name=pretty,
        summary=summary,
        synthetic=synthetic,
        split=split,
        config_rows=config_rows,
        task_rows=task_rows,
        load_path=load_path,
        default_config=configs[0]["config_name"],
        command="build-bench" if split == "test" else "build-ins",
        seed=seed,
        version=__version__,
        test_fraction=test_fraction,
        audit=audit,
        sampling_note="500 samples per task, label-balanced risk tasks"
        if split == "test"
        else "per-task caps with inverse label-frequency weighting",
    )
    return layout.card_text(front_matter(pretty, configs, rows.height, synthetic), body)

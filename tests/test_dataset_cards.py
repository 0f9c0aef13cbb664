# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""EHR-Bench / EHR-Ins dataset cards on real builds of the MIMIC-IV demo: every claim checked against the written files."""

import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from ehr_r1 import layout
from ehr_r1.cards import BALANCE_TOLERANCE
from ehr_r1.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory, mimic_demo, ethos_mappings) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cards")
    common = ["--mimic-dir", str(mimic_demo), "--atc-map", str(ethos_mappings), "--max-per-task", "40"]
    assert main(["build-bench", *common, "--output", str(root / "bench")]) == 0
    assert main(["build-ins", *common, "--output", str(root / "ins"), "--cpt"]) == 0
    return {"bench": root / "bench", "ins": root / "ins"}


def _body(folder: Path) -> str:
    return layout.split_front_matter((folder / layout.CARD).read_text())[1]


def _table(body: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header line starts with ``header``."""
    lines = body.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _files(folder: Path, entry: dict) -> list[Path]:
    return sorted(f for d in entry["data_files"] for f in folder.glob(d["path"]))


@pytest.mark.parametrize("name", ["bench", "ins"])
def test_every_config_row_count_and_columns_as_written(built, name):
    folder = built[name]
    configs = {c["config_name"]: c for c in layout.read_card_metadata(folder)["configs"]}
    table = {row[0].strip("`"): row for row in _table(_body(folder), "| config | kind |")}
    tasks = {row[0].strip("`"): row for row in _table(_body(folder), "| task | type |")}
    assert set(table) | set(tasks) == set(configs)
    for config, row in table.items():
        files = [pq.ParquetFile(f) for f in _files(folder, configs[config])]
        assert files, config
        assert int(row[3]) == sum(f.metadata.num_rows for f in files), config
        assert re.findall(r"`([^`]+)`", row[4]) == files[0].schema_arrow.names, config
    for task, row in tasks.items():
        assert int(row[2]) == sum(pq.ParquetFile(f).metadata.num_rows for f in _files(folder, configs[task])), task


def test_ins_cpt_rows_are_patients_not_samples(built):
    folder = built["ins"]
    cpt = pl.read_parquet(folder / "data" / "cpt" / "*.parquet")
    samples = pl.read_parquet(layout.sample_files(folder))
    row = {r[0].strip("`"): r for r in _table(_body(folder), "| config | kind |")}["cpt"]
    assert int(row[3]) == cpt.height == cpt["subject_id"].n_unique() < samples.height
    assert "one row per patient" in _body(folder)


@pytest.mark.parametrize("name", ["bench", "ins"])
def test_label_balance_as_measured(built, name):
    folder = built[name]
    body = _body(folder)
    samples = pl.read_parquet(layout.sample_files(folder))
    risk = (
        samples.filter(pl.col("task_type") == "risk_prediction")
        .group_by("task")
        .agg(yes=(pl.col("output") == "yes").sum(), n=pl.len())
    )
    rows = {r[0].strip("`"): r for r in _table(body, "| task | type |")}
    for task, yes, n in risk.iter_rows():
        assert rows[task][3].startswith(f"{yes} yes / {n - yes} no ({100 * yes / n:.1f}% yes)"), task
    balanced = risk.filter(((pl.col("yes") / pl.col("n")) - 0.5).abs() <= BALANCE_TOLERANCE)
    assert f"{balanced.height} of {risk.height}." in body
    unbalanced = set(risk["task"]) - set(balanced["task"])
    if unbalanced:  # the demo has few deaths: some tasks cannot be balanced, and the card must say so
        line = body.split("**Not label-balanced**", 1)[1].split("\n\n", 1)[0]
        assert set(re.findall(r"`([^`]+)`", line)) == unbalanced
    assert "label-balanced risk tasks" not in body  # the old claim, made whatever the counts


@pytest.mark.parametrize("name", ["bench", "ins"])
def test_truncation_share_from_the_build(built, name):
    folder = built[name]
    manifest = layout.read_manifest(folder)
    n = sum(manifest["counts"].values())
    truncation = manifest["truncation"]
    text = _body(folder).split("## Truncation\n\n", 1)[1].split("\n", 1)[0]
    if truncation is None:
        assert "no input was truncated" in text
    else:
        share = 100 * truncation["samples_truncated"] / n
        assert f"Token budget {truncation['max_length']} tokens" in text
        assert f"{truncation['samples_truncated']} of {n} samples ({share:.1f}%)" in text


def test_usage_trains_on_ins_and_evaluates_on_bench(built):
    ins, bench = _body(built["ins"]), _body(built["bench"])
    usage = ins.split("## Usage", 1)[1].split("## ", 1)[0]
    assert 'load_dataset("ins", "sft", split="train")' in usage and "scripts/sft.py" in usage
    assert "--bench ins" not in usage and "--bench <EHR-Bench folder>" in usage  # never evaluate on training data
    assert "ehr-r1 eval --model <model> --bench bench" in bench.split("## Usage", 1)[1]


@pytest.mark.parametrize("name", ["bench", "ins"])
def test_redistribution_table_and_fields(built, name):
    folder = built[name]
    body = _body(folder)
    table = {r[0]: r[1] for r in _table(body, "| item | redistributed? |")}
    assert table["MIMIC-IV source tables"].startswith("**no**")
    texts = next(v for k, v in table.items() if k.startswith("this dataset's texts"))
    assert "gated, private" in texts  # the demo is real MIMIC-IV: never public
    fields = {r[0].strip("`") for r in _table(body, "| field | meaning |")}
    written = {n for f in layout.sample_files(folder) for n in pq.ParquetFile(f).schema_arrow.names}
    for config in ("sft", "grpo", "cpt", "reasoning"):
        written |= {n for f in layout.config_files(folder, config) for n in pq.ParquetFile(f).schema_arrow.names}
    assert fields == written

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The architecture's contracts: layering (no core module needs a reader), one catalogue entry adds a task."""

import ast
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from ehr_r1 import events
from ehr_r1.builder import BuildConfig, build_dataset
from ehr_r1.prompting import NO, YES
from ehr_r1.tasks import catalogue, risk_rules
from ehr_r1.tasks.catalogue import DecisionTask, RiskTask


SRC = Path(__file__).resolve().parents[1] / "src" / "ehr_r1"
# Modules downstream of the event contract: they may never import a source reader (``ehr_r1.sources``).
CORE = [
    "events", "timeline", "tasks/catalogue", "tasks/risk_rules", "tasks/index", "render", "rows", "sampling",
    "truncation", "layout", "writer", "trl_formats", "disjointness", "cards", "prompting", "rewards", "training",
]  # fmt: skip
# Evaluation and training read built datasets only: no reader, no builder.
READS_BUILT_DATASETS = ["evaluation", "training", "rewards", "callbacks"]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at top level or lazily inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _files(name: str) -> list[Path]:
    target = SRC / name
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


@pytest.mark.parametrize("module", CORE + READS_BUILT_DATASETS)
def test_core_modules_never_import_a_reader(module):
    banned = ("ehr_r1.sources",) + (("ehr_r1.builder",) if module in READS_BUILT_DATASETS else ())
    for path in _files(module):
        bad = sorted(n for n in _imports(path) if n.startswith(banned))
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_core_imports_with_sources_unavailable():
    """Import every core module in a fresh interpreter where ``ehr_r1.sources`` cannot be imported at all."""
    modules = [f"ehr_r1.{m.replace('/', '.')}" for m in CORE] + ["ehr_r1.evaluation.runner"]
    script = f"""
import importlib, importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "ehr_r1.sources" or name.startswith("ehr_r1.sources."):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
for name in {modules!r}:
    importlib.import_module(name)
print("ok", len({modules!r}))
"""
    out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", str(len(modules))]


def test_every_event_type_is_served_by_the_mimic_reader():
    from ehr_r1.sources.tables import TABLE_BY_NAME

    assert set(TABLE_BY_NAME) == set(events.EVENT_TYPE)
    for name, spec in TABLE_BY_NAME.items():
        assert tuple(k for k, _ in spec.keys) == events.EVENT_TYPE[name].key_names


def test_cells_are_typed_not_display_strings():
    frame = pl.DataFrame({"a": ["x\x1fy", None, "nan"], "n": ["1", None, "2.50"], "c": [None, "Creatinine", None]})
    values = {"item_name": pl.col("c"), "valuenum": pl.col("n"), "valueuom": pl.col("a")}
    values |= {k: pl.lit(None) for k in ("ref_range_lower", "ref_range_upper", "flag", "comments")}
    cells = frame.select(events.encode_cells("labevents", values).alias("cells"))
    got = cells.select(item=events.value(0), num=events.value(1), uom=events.value(2))
    assert got.to_dicts() == [
        {"item": None, "num": "1.0", "uom": "x y"},  # unmapped code; float column; separator inside a value escaped
        {"item": "Creatinine", "num": None, "uom": None},
        {"item": None, "num": "2.5", "uom": "nan"},  # a literal "nan" string is a value, not a missing one
    ]
    shown = cells.select(events.display(pl.col("cells"))).to_series().to_list()
    assert shown[0].split(events.CELL_SEP)[:3] == ["None", "1.0", "x y"]
    assert shown[1].split(events.CELL_SEP)[:3] == ["Creatinine", "nan", "nan"]


def test_adding_a_task_is_one_catalogue_entry_and_one_rule(tmp_path, mimic_demo, monkeypatch):
    """A new decision-making task (next pharmacy order) and a new risk rule (death during the ICU stay) go through
    index, sampling, render and writer with no other change."""
    pharmacy = DecisionTask("pharmacy", "pharmacy", "medication", "Pharmacy")
    rule = risk_rules.RiskRule(
        "icustays", lambda _: pl.col("dod").is_not_null() & (pl.col("dod") <= pl.col("aux_time"))
    )
    monkeypatch.setitem(risk_rules.RISK_RULES, "icu_death_in_stay", rule)
    in_stay = RiskTask("ICU_Death_In_Stay", "icu_death_in_stay", "the patient will die during this ICU stay.")
    for task in (pharmacy, in_stay):
        monkeypatch.setitem(catalogue.ALL_TASKS, task.name, task)

    out, sampling = tmp_path / "ins", tmp_path / "all.yaml"
    sampling.write_text("name: ehr-ins\nsplit: train\ndefault_quota: -1\nbalance_risk: false\n")  # every sample
    tasks = ["pharmacy", "ICU_Death_In_Stay"]
    build_dataset(BuildConfig(str(mimic_demo), str(out), "ehr-ins", sampling=str(sampling), tasks=tasks))
    dm = pl.read_parquet(out / "data" / "decision_making" / "pharmacy" / "train-*.parquet")
    risk = pl.read_parquet(out / "data" / "risk_prediction" / "ICU_Death_In_Stay" / "train-*.parquet")
    assert dm.height > 50 and risk.height >= 10
    assert dm["instruction"][0].endswith("give the next Pharmacy suggestion for the patients.")
    assert risk["instruction"][0].endswith("predict whether the patient will die during this ICU stay.")
    medications = set(
        pl.read_csv(mimic_demo / "hosp" / "pharmacy.csv.gz", infer_schema=False)["medication"].str.strip_chars()
    )
    assert {item for out_ in dm["output"] for item in out_.split("\n")} <= medications
    assert set(risk["output"]) == {YES, NO}
    # yes iff the patient died before this ICU stay ended: check against the raw tables
    icu = pl.read_csv(mimic_demo / "icu" / "icustays.csv.gz", try_parse_dates=True)
    dod = pl.read_csv(mimic_demo / "hosp" / "patients.csv.gz", try_parse_dates=True).select("subject_id", "dod")
    died = set(icu.join(dod, on="subject_id").filter(pl.col("dod") <= pl.col("outtime"))["hadm_id"])
    single_stay = set(icu.group_by("hadm_id").len().filter(pl.col("len") == 1)["hadm_id"])
    for row in risk.iter_rows(named=True):
        if row["output"] == YES:
            assert row["hadm_id"] in died, row["idx"]
        elif row["hadm_id"] in single_stay:
            assert row["hadm_id"] not in died, row["idx"]


def test_task_specs_are_checked():
    with pytest.raises(ValueError, match="no info key"):
        DecisionTask("bad", "labevents", "no_such_key", "Bad")
    with pytest.raises(ValueError, match="unknown risk rule"):
        RiskTask("bad", "no_such_rule", "x.")
    with pytest.raises(ValueError, match="needs hours"):
        RiskTask("bad", "los", "stay long.")
    with pytest.raises(ValueError, match="takes no hours"):
        RiskTask("bad", "icu_readmission", "come back.", 24)

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The synthetic MIMIC-IV generator (`ehr-r1 synth-mimic`): layout, links, time logic, determinism, CLI, and its
vocabulary checked against the real MIMIC-IV demo dictionaries in ../shared when they are there."""

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from ehr_r1.cli import main
from ehr_r1.errors import EhrR1Error
from ehr_r1.synth import MODULES, TABLES, SynthConfig, generate_tables, write_synthetic_mimic
from ehr_r1.synth import config as synth


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    return generate_tables(SynthConfig(patients=150, seed=3))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "mimic"
    write_synthetic_mimic(out, SynthConfig(patients=25, seed=1))
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.glob("*/*.csv*"))
        if p.parent.name != "index_mapping"
    }


def _header(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.readline().rstrip("\n")


# ------------------------------------------------------------------------------------------------------------- layout


def test_folder_has_every_table_with_its_header_and_manifest(folder):
    assert sorted(p.name for p in folder.iterdir()) == sorted([*MODULES, synth.MANIFEST, "index_mapping"])
    manifest = json.loads((folder / synth.MANIFEST).read_text())
    assert manifest["synthetic"] is True and manifest["config"]["patients"] == 25
    assert set(manifest["rows"]) == set(TABLES)
    for table, columns in TABLES.items():
        path = folder / f"{table}.csv.gz"
        assert _header(path) == ",".join(columns), table
        df = pl.read_csv(path, infer_schema_length=0)
        assert df.height == manifest["rows"][table], table


def test_headers_match_the_real_mimic_demo(folder, mimic_demo):
    checked = 0
    for real in sorted(mimic_demo.glob("*/*.csv.gz")):
        table = f"{real.parent.name}/{real.name.removesuffix('.csv.gz')}"
        if table in TABLES:
            assert _header(folder / f"{table}.csv.gz") == _header(real), table
            checked += 1
    assert checked == 28  # every hosp / icu table of the demo except emar_detail and poe_detail


def test_csv_conventions(folder):
    adm = pl.read_csv(folder / "hosp/admissions.csv.gz", infer_schema_length=0)
    assert adm["admittime"].str.contains(r"^21\d\d-\d\d-\d\d \d\d:\d\d:00$").all()
    assert adm["deathtime"].null_count() > 0  # empty field = null, as in MIMIC
    pat = pl.read_csv(folder / "hosp/patients.csv.gz", infer_schema_length=0)
    assert pat["dod"].drop_nulls().str.contains(r"^\d{4}-\d\d-\d\d$").all()
    dx = pl.read_csv(folder / "hosp/diagnoses_icd.csv.gz", infer_schema_length=0)
    assert not dx["icd_code"].str.contains(r"[.\s]").any()  # ICD codes without dots or padding
    note = pl.read_csv(folder / "note/discharge.csv.gz", infer_schema_length=0)
    assert note["text"].str.contains("\n").all() and note["text"].str.contains("Discharge Diagnosis:").all()


def test_plain_csv_and_empty_tables_keep_their_header(tmp_path):
    rows = write_synthetic_mimic(tmp_path / "m", SynthConfig(patients=1, seed=0, modules=("icu",)), compression="none")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["icu", "index_mapping", synth.MANIFEST]
    for table in rows:
        header = (tmp_path / "m" / f"{table}.csv").read_text().splitlines()[0]
        assert header == ",".join(TABLES[table])


# -------------------------------------------------------------------------------------------------------------- links


def test_ids_are_unique(tables):
    unique = {
        "hosp/patients": ["subject_id"],
        "hosp/admissions": ["hadm_id"],
        "hosp/transfers": ["transfer_id"],
        "hosp/labevents": ["labevent_id"],
        "hosp/microbiologyevents": ["microevent_id"],
        "hosp/prescriptions": ["pharmacy_id"],
        "hosp/pharmacy": ["pharmacy_id"],
        "hosp/poe": ["poe_id"],
        "hosp/emar": ["emar_id"],
        "icu/icustays": ["stay_id"],
        "ed/edstays": ["stay_id"],
        "note/discharge": ["note_id"],
        "note/radiology": ["note_id"],
        "hosp/diagnoses_icd": ["hadm_id", "seq_num"],
        "ed/diagnosis": ["stay_id", "seq_num"],
    }
    for table, key in unique.items():
        df = tables[table]
        assert df.height > 0 and not df.select(key).is_duplicated().any(), table
    orders = pl.concat([tables["icu/inputevents"]["orderid"], tables["icu/procedureevents"]["orderid"]])
    assert orders.n_unique() == orders.len()


def test_links_resolve(tables):
    adm = tables["hosp/admissions"].select("subject_id", "hadm_id")
    for table, df in tables.items():
        if "hadm_id" in df.columns and table != "hosp/admissions":
            linked = df.select("subject_id", "hadm_id").drop_nulls()
            assert linked.join(adm, on=["subject_id", "hadm_id"], how="anti").height == 0, table
    stays = tables["icu/icustays"].select("hadm_id", "stay_id")
    for table in (
        "chartevents",
        "datetimeevents",
        "inputevents",
        "ingredientevents",
        "outputevents",
        "procedureevents",
    ):
        assert tables[f"icu/{table}"].join(stays, on=["hadm_id", "stay_id"], how="anti").height == 0, table
    ed = tables["ed/edstays"].select("subject_id", "stay_id")
    for table in ("triage", "vitalsign", "diagnosis", "medrecon", "pyxis"):
        assert tables[f"ed/{table}"].join(ed, on=["subject_id", "stay_id"], how="anti").height == 0, table
    assert tables["ed/triage"].height == ed.height

    rx, poe = tables["hosp/prescriptions"], tables["hosp/poe"]
    assert rx.join(poe, on=["poe_id", "poe_seq", "subject_id", "hadm_id"], how="anti").height == 0
    assert poe.filter(pl.col("poe_id").is_in(rx["poe_id"].implode()))["order_type"].unique().to_list() == [
        "Medications"
    ]
    assert rx.select("pharmacy_id", "poe_id", "drug").equals(
        tables["hosp/pharmacy"].select("pharmacy_id", "poe_id", pl.col("medication").alias("drug"))
    )
    emar = tables["hosp/emar"]
    assert emar.join(rx, on=["pharmacy_id", "poe_id"], how="anti").height == 0
    assert (emar["emar_id"] == emar["subject_id"].cast(str) + "-" + emar["emar_seq"].cast(str)).all()

    inputs = tables["icu/inputevents"].select("stay_id", "orderid", "starttime", "endtime")
    assert (
        tables["icu/ingredientevents"]
        .join(inputs, on=["stay_id", "orderid", "starttime", "endtime"], how="anti")
        .height
        == 0
    )
    for notes, detail in (("discharge", "discharge_detail"), ("radiology", "radiology_detail")):
        ids = tables[f"note/{notes}"].select("note_id", "subject_id")
        assert tables[f"note/{detail}"].join(ids, on=["note_id", "subject_id"], how="anti").height == 0
    assert tables["note/discharge"].height == adm.height


def test_codes_are_in_the_written_dictionaries(tables):
    labs = tables["hosp/d_labitems"]["itemid"].implode()
    assert tables["hosp/labevents"]["itemid"].is_in(labs).all()
    d_items = tables["icu/d_items"]
    for table in (
        "chartevents",
        "datetimeevents",
        "inputevents",
        "ingredientevents",
        "outputevents",
        "procedureevents",
    ):
        linked = d_items.filter(pl.col("linksto") == table)["itemid"].implode()
        assert tables[f"icu/{table}"]["itemid"].is_in(linked).all(), table
    for table, dictionary in (
        ("hosp/diagnoses_icd", "hosp/d_icd_diagnoses"),
        ("ed/diagnosis", "hosp/d_icd_diagnoses"),
        ("hosp/procedures_icd", "hosp/d_icd_procedures"),
    ):
        codes = tables[table].select("icd_code", "icd_version")
        assert codes.join(tables[dictionary], on=["icd_code", "icd_version"], how="anti").height == 0, table
    assert tables["hosp/hcpcsevents"]["hcpcs_cd"].is_in(tables["hosp/d_hcpcs"]["code"].implode()).all()
    providers = tables["hosp/provider"]["provider_id"].implode()
    for table, col in (
        ("hosp/admissions", "admit_provider_id"),
        ("hosp/labevents", "order_provider_id"),
        ("hosp/poe", "order_provider_id"),
    ):
        assert tables[table][col].drop_nulls().is_in(providers).all(), table
    caregivers = tables["icu/caregiver"]["caregiver_id"].implode()
    assert tables["icu/chartevents"]["caregiver_id"].is_in(caregivers).all()


# ---------------------------------------------------------------------------------------------------------- timelines


def _within(df, time_col, windows, keys, lo, hi, slack_min=0):
    joined = df.join(windows, on=keys, how="inner")
    assert joined.height == df.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys)).height
    slack = pl.duration(minutes=slack_min)
    bad = joined.filter((pl.col(time_col) < pl.col(lo) - slack) | (pl.col(time_col) > pl.col(hi) + slack))
    return bad.height


def test_stays_nest_and_do_not_overlap(tables):
    adm = tables["hosp/admissions"]
    assert (adm["admittime"] < adm["dischtime"]).all()
    via_ed = adm.filter(pl.col("edregtime").is_not_null())
    assert (via_ed["edregtime"] < via_ed["admittime"]).all() and (via_ed["admittime"] < via_ed["edouttime"]).all()
    assert (via_ed["edouttime"] < via_ed["dischtime"]).all()
    prev = adm.sort("subject_id", "admittime").with_columns(prev=pl.col("dischtime").shift().over("subject_id"))
    assert prev.filter(pl.col("prev") >= pl.col("admittime")).height == 0
    windows = adm.select("hadm_id", "admittime", "dischtime")
    icu = tables["icu/icustays"]
    assert _within(icu, "intime", windows, ["hadm_id"], "admittime", "dischtime") == 0
    assert _within(icu, "outtime", windows, ["hadm_id"], "admittime", "dischtime") == 0
    assert (icu["intime"] < icu["outtime"]).all()
    assert ((icu["outtime"] - icu["intime"]).dt.total_seconds() / 86400 - icu["los"]).abs().max() < 1e-6
    ed = tables["ed/edstays"].join(adm.select("hadm_id", "edregtime", "edouttime"), on="hadm_id", how="left")
    linked = ed.filter(pl.col("hadm_id").is_not_null())
    assert (linked["intime"] == linked["edregtime"]).all() and (linked["outtime"] == linked["edouttime"]).all()
    assert (linked["disposition"] == "ADMITTED").all() and ed["hadm_id"].null_count() > 0
    tr = tables["hosp/transfers"]
    assert (
        tr.group_by("hadm_id").agg((pl.col("eventtype") == "discharge").sum())["eventtype"].to_list()
        == [1] * adm.height
    )
    assert (
        _within(tr.filter(pl.col("eventtype") != "ED"), "intime", windows, ["hadm_id"], "admittime", "dischtime") == 0
    )


def test_events_fall_inside_their_stay(tables):
    adm = tables["hosp/admissions"].select(
        "hadm_id", pl.coalesce("edregtime", "admittime").alias("start"), pl.col("dischtime").alias("end")
    )
    for table, col in (
        ("hosp/labevents", "charttime"),
        ("hosp/microbiologyevents", "charttime"),
        ("hosp/prescriptions", "starttime"),
        ("hosp/prescriptions", "stoptime"),
        ("hosp/emar", "charttime"),
        ("note/radiology", "charttime"),
    ):
        assert _within(tables[table], col, adm, ["hadm_id"], "start", "end", slack_min=30) == 0, table
    stays = tables["icu/icustays"].select("stay_id", "intime", "outtime")
    for table, col in (
        ("icu/chartevents", "charttime"),
        ("icu/inputevents", "starttime"),
        ("icu/inputevents", "endtime"),
        ("icu/outputevents", "charttime"),
        ("icu/procedureevents", "endtime"),
        ("icu/datetimeevents", "charttime"),
    ):
        assert _within(tables[table], col, stays, ["stay_id"], "intime", "outtime", slack_min=180) == 0, table
    ed = tables["ed/edstays"].select("stay_id", "intime", "outtime")
    for table in ("ed/vitalsign", "ed/pyxis", "ed/medrecon"):
        assert _within(tables[table], "charttime", ed, ["stay_id"], "intime", "outtime") == 0, table
    rx = tables["hosp/prescriptions"]
    assert (rx["starttime"] < rx["stoptime"]).all()
    emar = tables["hosp/emar"].join(rx.select("pharmacy_id", "starttime"), on="pharmacy_id")
    assert (emar["charttime"] >= emar["starttime"]).all()


def test_death_is_consistent(tables):
    adm, pat = tables["hosp/admissions"], tables["hosp/patients"]
    died = adm.filter(pl.col("hospital_expire_flag") == 1)
    assert died.height > 0 and (died["deathtime"] == died["dischtime"]).all()
    assert (died["discharge_location"] == "DIED").all()
    assert adm.filter(pl.col("hospital_expire_flag") == 0)["deathtime"].null_count() == adm.height - died.height
    last = adm.group_by("subject_id").agg(pl.col("dischtime").max().alias("last"))
    assert died.join(last, on="subject_id").filter(pl.col("dischtime") != pl.col("last")).height == 0
    dod = died.join(pat, on="subject_id").select(pl.col("deathtime").dt.date(), "dod")
    assert (dod["deathtime"] == dod["dod"]).all()
    assert pat.join(last, on="subject_id").filter(pl.col("dod") < pl.col("last").dt.date()).height == 0
    assert pat["dod"].null_count() < pat.height


def test_nothing_happens_after_death(tables):
    dod = tables["hosp/patients"].filter(pl.col("dod").is_not_null()).select("subject_id", "dod")
    for table, col in (
        ("hosp/labevents", "charttime"),
        ("hosp/omr", "chartdate"),
        ("note/radiology", "charttime"),
        ("ed/edstays", "outtime"),
        ("hosp/admissions", "dischtime"),
        ("hosp/emar", "charttime"),
    ):
        last = tables[table].group_by("subject_id").agg(pl.col(col).max().cast(pl.Date).alias("last"))
        assert last.join(dod, on="subject_id").filter(pl.col("last") > pl.col("dod")).height == 0, table


def test_real_world_awkwardness_is_present(tables):
    assert tables["hosp/labevents"]["hadm_id"].null_count() > 0  # outpatient labs
    assert tables["note/radiology"]["hadm_id"].null_count() > 0
    assert set(tables["hosp/diagnoses_icd"]["icd_version"].unique()) == {9, 10}
    assert tables["icu/icustays"].group_by("hadm_id").len()["len"].max() >= 2  # an ICU readmission
    assert tables["hosp/labevents"]["flag"].drop_nulls().unique().to_list() == ["abnormal"]


def test_acuity_carries_signal(tables):
    adm = tables["hosp/admissions"].with_columns(
        icu=pl.col("hadm_id").is_in(tables["icu/icustays"]["hadm_id"].implode()),
        los_h=(pl.col("dischtime") - pl.col("admittime")).dt.total_hours(),
    )
    by = {
        r["icu"]: r
        for r in adm.group_by("icu").agg(pl.col("hospital_expire_flag").mean(), pl.col("los_h").mean()).to_dicts()
    }
    assert by[True]["hospital_expire_flag"] > by[False]["hospital_expire_flag"]
    assert by[True]["los_h"] > by[False]["los_h"]


# ----------------------------------------------------------------------------------------------------- reproducibility


def test_same_config_same_bytes(tmp_path):
    cfg = SynthConfig(patients=12, seed=7)
    write_synthetic_mimic(tmp_path / "a", cfg)
    write_synthetic_mimic(tmp_path / "b", cfg, workers=1)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b and len(a) == len(TABLES)
    write_synthetic_mimic(tmp_path / "c", SynthConfig(patients=12, seed=8))
    assert _files(tmp_path / "c")["hosp/labevents.csv.gz"] != a["hosp/labevents.csv.gz"]


def test_larger_runs_extend_smaller_ones(monkeypatch):
    monkeypatch.setattr(synth, "CHUNK_PATIENTS", 10)
    small = generate_tables(SynthConfig(patients=20, seed=5))
    big = generate_tables(SynthConfig(patients=35, seed=5))
    assert big["hosp/patients"].height == 35
    for table, df in small.items():
        if table in synth.DICTIONARY_TABLES:
            assert df.equals(big[table]), table
            continue
        subjects = df["subject_id"].unique().implode()
        assert big[table].filter(pl.col("subject_id").is_in(subjects)).equals(df), table


def test_modules_do_not_change_each_other(tmp_path):
    write_synthetic_mimic(tmp_path / "all", SynthConfig(patients=8, seed=2))
    write_synthetic_mimic(tmp_path / "hosp", SynthConfig(patients=8, seed=2, modules=("hosp",)))
    write_synthetic_mimic(tmp_path / "ed", SynthConfig(patients=8, seed=2, modules=("note", "ed")))
    everything = _files(tmp_path / "all")
    for part in ("hosp", "ed"):
        files = _files(tmp_path / part)
        assert files and all(everything[name] == data for name, data in files.items()), part
    assert {n.split("/")[0] for n in _files(tmp_path / "ed")} == {"ed", "note"}


def test_density_scales_events_not_people():
    low = generate_tables(SynthConfig(patients=40, seed=4, density=0.5, modules=("hosp", "icu")))
    high = generate_tables(SynthConfig(patients=40, seed=4, density=2.0, modules=("hosp", "icu")))
    assert low["hosp/admissions"].equals(high["hosp/admissions"])
    assert low["icu/icustays"].equals(high["icu/icustays"])
    for table in ("hosp/labevents", "hosp/prescriptions", "icu/chartevents"):
        assert high[table].height > 2.5 * low[table].height, table


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patients=0),
        dict(patients=synth.MAX_PATIENTS + 1),
        dict(density=0),
        dict(seed=-1),
        dict(modules=()),
        dict(modules=("hosp", "labs")),
    ],
)
def test_bad_config_is_a_user_error(kwargs):
    with pytest.raises(EhrR1Error):
        SynthConfig(**kwargs)


def test_modules_are_put_in_mimic_order():
    assert SynthConfig(modules=("note", "hosp")).modules == ("hosp", "note")


# --------------------------------------------------------------------------------------------------------------- CLI


def test_cli_writes_refuses_to_clobber_and_overwrites(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth-mimic", "--out", str(out), "--patients", "3", "--modules", "hosp,ed"]) == 0
    assert "3 patients" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["ed", "hosp", "index_mapping", synth.MANIFEST]
    assert main(["synth-mimic", "--out", str(out), "--patients", "3"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["synth-mimic", "--out", str(out), "--patients", "2", "--overwrite", "--compression", "none"]) == 0
    assert (out / "icu" / "chartevents.csv").exists() and not (out / "hosp" / "patients.csv.gz").exists()
    assert not list(tmp_path.glob(".synth.*"))  # no temporary folders left behind
    assert main(["synth-mimic", "--out", str(tmp_path / "x"), "--modules", "hosp,labs"]) == 2
    assert "modules must be" in capsys.readouterr().err


# -------------------------------------------------------------------------------- vocabulary vs the real dictionaries


def _strings(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(pl.all().cast(pl.String))


def test_vocabulary_matches_the_mimic_dictionaries(tables, mimic_demo):
    """Every code and label the generator writes exists, worded the same way, in the MIMIC-IV v2.2 dictionaries."""
    checks = [
        ("hosp/d_labitems", "hosp/d_labitems.csv.gz", ["itemid", "label", "fluid", "category"]),
        ("hosp/d_icd_diagnoses", "hosp/d_icd_diagnoses.csv.gz", ["icd_code", "icd_version", "long_title"]),
        ("hosp/d_icd_procedures", "hosp/d_icd_procedures.csv.gz", ["icd_code", "icd_version", "long_title"]),
        ("hosp/d_hcpcs", "hosp/d_hcpcs.csv.gz", ["code", "short_description"]),
        ("icu/d_items", "icu/d_items.csv.gz", list(TABLES["icu/d_items"])),
    ]
    for table, real, key in checks:
        ours = _strings(tables[table].select(key)).fill_null("")
        theirs = pl.read_csv(mimic_demo / real, infer_schema_length=0).select(key).fill_null("")
        missing = ours.join(theirs, on=key, how="anti")
        assert missing.height == 0, f"{table}: not in the MIMIC-IV dictionary:\n{missing}"
    micro = pl.read_csv(mimic_demo / "hosp/microbiologyevents.csv.gz", infer_schema_length=0)
    for key in (
        ["spec_itemid", "spec_type_desc", "test_itemid", "test_name"],
        ["org_itemid", "org_name"],
        ["ab_itemid", "ab_name"],
    ):
        ours = _strings(tables["hosp/microbiologyevents"].select(key).drop_nulls().unique())
        assert ours.join(micro.select(key), on=key, how="anti").height == 0, key


def test_drugs_resolve_to_atc_with_the_ethos_maps(tables, ethos_mappings):
    """prescriptions_atc / medrecon_atc (docs/tasks.md) need an ATC class for the written drugs."""
    gsn_map = pl.read_csv(ethos_mappings / "gsn_atc_ndc_mapping.csv.gz", infer_schema_length=0)
    assert tables["hosp/prescriptions"]["gsn"].is_in(gsn_map["gsn"].implode()).all()
    for table in ("ed/medrecon", "ed/pyxis"):
        assert tables[table]["gsn"].is_in(gsn_map["gsn"].implode()).all(), table
    pairs = tables["ed/medrecon"].select("gsn", "ndc").unique()
    assert pairs.join(gsn_map, on=["gsn", "ndc"], how="anti").height == 0


def test_atc_index_maps_every_prescribed_and_home_medication(folder):
    import polars as pl

    atc = pl.read_csv(folder / "index_mapping" / "d_atc_prescriptions.csv", infer_schema=False)
    assert atc["ndc_code"].str.len_chars().unique().to_list() == [11] and atc["atc_name"].null_count() == 0
    prescribed = pl.read_csv(folder / "hosp" / "prescriptions.csv.gz", infer_schema=False)["ndc"].drop_nulls()
    home = pl.read_csv(folder / "ed" / "medrecon.csv.gz", infer_schema=False)["ndc"].drop_nulls()
    assert set(prescribed) | set(home) <= set(atc["ndc_code"])

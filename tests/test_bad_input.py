# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Bad input: one-line error naming the file (and column), exit status 2, no partial output."""

import gzip
from pathlib import Path

import pytest
from mimic_factory import mini_mimic, write_table

from ehr_r1.cli import main


def _run(tmp_path: Path, mimic: Path, capsys) -> tuple[int, str, Path]:
    out = tmp_path / "ins"  # build-ins: the mini MIMIC-IV's only patient falls in the train split (seed 42)
    code = main(["build-ins", "--mimic-dir", str(mimic), "--output", str(out), "--max-per-task", "5"])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else "", out


def _assert_clean_failure(code: int, line: str, out: Path, *fragments: str) -> None:
    assert code == 2
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))  # no temporary folder left behind


def test_not_a_mimic_folder(tmp_path, capsys):
    (tmp_path / "random").mkdir()
    code, line, out = _run(tmp_path, tmp_path / "random", capsys)
    _assert_clean_failure(code, line, out, "not a MIMIC-IV folder")


def test_missing_required_table(tmp_path, capsys):
    mimic = mini_mimic(tmp_path / "mimic")
    (mimic / "hosp" / "admissions.csv.gz").unlink()
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "admissions.csv.gz", "required")


def test_missing_column(tmp_path, capsys):
    mimic = mini_mimic(tmp_path / "mimic")
    columns = [
        "subject_id",
        "hadm_id",
        "charttime",
        "valuenum",
        "valueuom",
        "ref_range_lower",
        "ref_range_upper",
        "flag",
        "comments",
    ]
    write_table(mimic, "hosp", "labevents", [dict.fromkeys(columns, "1") | {"charttime": "2150-01-01 09:00:00"}])
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "labevents.csv.gz", "column 'itemid'")


def test_unparseable_timestamp(tmp_path, capsys):
    mimic = mini_mimic(tmp_path / "mimic")
    write_table(
        mimic,
        "hosp",
        "services",
        [
            {
                "subject_id": 1,
                "hadm_id": 10,
                "transfertime": "yesterday at noon",
                "prev_service": "",
                "curr_service": "MED",
            },
        ],
    )
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "services.csv.gz", "column 'transfertime'")


def test_truncated_gzip(tmp_path, capsys, mimic_demo):
    mimic = mini_mimic(tmp_path / "mimic")
    data = (mimic_demo / "hosp" / "labevents.csv.gz").read_bytes()
    (mimic / "hosp" / "labevents.csv.gz").write_bytes(data[: len(data) // 2])
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "labevents.csv.gz")


@pytest.mark.parametrize("content", [b"", b"subject_id,hadm_id,transfertime,prev_service,curr_service\n"])
def test_empty_table(tmp_path, capsys, content):
    mimic = mini_mimic(tmp_path / "mimic")
    (mimic / "hosp" / "services.csv.gz").write_bytes(gzip.compress(content))
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "services.csv.gz", "empty table")


def test_existing_output_survives_a_failed_build(tmp_path, capsys):
    mimic = mini_mimic(tmp_path / "mimic")
    out = tmp_path / "bench"
    out.mkdir()
    (out / "keep.txt").write_text("previous build")
    (mimic / "hosp" / "patients.csv.gz").unlink()
    assert main(["build-bench", "--mimic-dir", str(mimic), "--output", str(out)]) == 2
    assert (out / "keep.txt").read_text() == "previous build"


def test_ed_tables_without_edstays(tmp_path, capsys):
    mimic = mini_mimic(tmp_path / "mimic")
    (mimic / "ed" / "edstays.csv.gz").unlink()
    code, line, out = _run(tmp_path, mimic, capsys)
    _assert_clean_failure(code, line, out, "edstays.csv.gz", "need edstays")

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""The contracts in docs/ match the code: generated task tables, event types, the worked example, prompt strings."""

import importlib.util
import re

import polars as pl
import pytest
from conftest import REPO_ROOT
from mimic_factory import mini_mimic

from ehr_r1 import prompting
from ehr_r1.events import CODE, EVENT_TYPES, FLOAT
from ehr_r1.render import SEPARATOR, event_texts, render_input
from ehr_r1.sources.mimic import MimicSource
from ehr_r1.sources.tables import MODULES, TABLE_BY_NAME
from ehr_r1.tasks.catalogue import ALL_TASKS, INSTRUCTION_PREFIX
from ehr_r1.tasks.index import IndexConfig
from ehr_r1.timeline import build_timelines


DOCS = REPO_ROOT / "docs"
STALE = "docs/tasks.md is out of date: run `python scripts/gen_task_docs.py` and commit the result"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_task_docs", REPO_ROOT / "scripts" / "gen_task_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _flat(text: str) -> str:
    """Text with every run of whitespace as one space (docs wrap long lines)."""
    return " ".join(text.split())


def test_tasks_doc_is_up_to_date():
    current = _read("tasks.md")
    assert _generator().render(current) == current, STALE


def test_generator_keeps_the_intro_and_lists_every_task(tmp_path):
    gen = _generator()
    doc = tmp_path / "tasks.md"
    doc.write_text(f"# My intro\n\nHand-written text.\n\n{gen.MARKER}\n\nstale generated text\n", encoding="utf-8")
    assert gen.main(["--check", "--output", str(doc)]) == 1
    assert gen.main(["--output", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# My intro\n\nHand-written text.\n\n" + gen.MARKER) and "stale" not in text
    assert gen.main(["--check", "--output", str(doc)]) == 0
    generated = text.split(gen.MARKER, 1)[1]
    for name, task in ALL_TASKS.items():
        row = next(line for line in generated.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.endswith(f"| `{task.instruction}` |"), name
    assert gen.UNDESCRIBED not in generated, "a risk rule or anchor has no description in the script"
    doc.write_text("# no marker\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="marker line not found"):
        gen.main(["--output", str(doc)])


def _event_rows() -> dict[str, list[str]]:
    """Rows of the event-type table of ehr-text-format.md, by event type id."""
    rows = {}
    for line in _read("ehr-text-format.md").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`\w+`", cells[0]) and cells[1] in MODULES:
            rows[cells[0].strip("`")] = cells
    return rows


def test_event_type_table_matches_the_contract():
    rows = _event_rows()
    assert list(rows) == [e.name for e in EVENT_TYPES], "event types missing, extra or out of rank order"
    for event in EVENT_TYPES:
        _, module, header, keys, time = rows[event.name]
        spec = TABLE_BY_NAME[event.name]
        assert module == spec.module, event.name
        assert header == (event.display_name or "*(renders nothing)*"), event.name
        marks = {FLOAT: " *(float)*", CODE: " *(code)*"}
        assert keys == (", ".join(f"`{k.name}`{marks.get(k.kind, '')}" for k in event.keys) or "—"), event.name
        if spec.time is None:
            assert time.startswith("none"), event.name
        else:
            assert f"`{spec.time}`" in time and (spec.time in spec.date_columns) == ("*(date)*" in time), event.name
            assert (f"+ {spec.time_offset_s} s" in time) == bool(spec.time_offset_s), event.name


def test_worked_example_is_what_the_renderer_prints(tmp_path):
    timeline = pl.read_parquet(build_timelines(MimicSource(mini_mimic(tmp_path / "mimic")), tmp_path / "tl", 1)[0])
    frame = event_texts(timeline)
    texts, tables = frame["text"].to_list(), frame["table"].to_list()
    expected = render_input(texts, tables, 6, 14, admissions_id=5, last_discharge_id=None, hide=("discharge",))
    doc = _read("ehr-text-format.md")
    block = doc.split("<!-- worked-example", 1)[1].split("```text\n", 1)[1].split("\n```", 1)[0]
    assert block == expected, (
        "the worked example in docs/ehr-text-format.md no longer matches the renderer on mimic_factory.mini_mimic"
    )
    listed = re.findall(r"(\d+) `(\w+)`", doc.split("Its timeline has", 1)[1].split("\n\n", 1)[0])
    assert listed == [(str(i), t) for i, t in enumerate(tables)]


def test_docs_quote_the_code():
    fmt, tasks, prompt = (_flat(_read(n)) for n in ("ehr-text-format.md", "tasks.md", "prompt-and-scoring.md"))
    assert f"| {SEPARATOR} | {SEPARATOR} | … |" in fmt
    assert f"`{INSTRUCTION_PREFIX}`" in tasks
    cfg = IndexConfig()
    assert f"less than {cfg.window_hours:g} hours" in tasks
    assert f"{cfg.min_context_events} < end − begin < {cfg.max_context_events}" in tasks
    assert f"`{prompting.SYSTEM_PROMPT}`" in prompt
    for think in (True, False):
        assert f"`{prompting.think_suffix(think)}`".replace("\n", "\\n") in prompt
    assert _flat(prompting.OFFICIAL_CANDIDATE_PROMPT.split("[")[0].split("{")[0]) in prompt
    for name in ("OFFICIAL_CANDIDATE_PROMPT", "OFFICIAL_FORMAT_PROMPTS"):
        assert name in prompt
    from ehr_r1.evaluation.backends import YES_NO_VARIANTS
    from ehr_r1.evaluation.chat import EMPTY_THINK, MAX_MODEL_LEN
    from ehr_r1.evaluation.scoring import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES

    assert f"`{EMPTY_THINK}`".replace("\n", "\\n") in prompt
    assert all(f"`{v}`" in prompt for v in YES_NO_VARIANTS if v.strip().lower() == "yes")
    assert f"min({MAX_MODEL_LEN}," in prompt
    assert f"{DEFAULT_RESAMPLES} resamples, {DEFAULT_CONFIDENCE:.0%}".replace("%", " %") in prompt


def test_docs_index_links_every_page_and_links_resolve():
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    index = _read("README.md")
    assert pages and all(f"]({p})" in index for p in pages)
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
        assert "../shared" not in text and "spec §" not in text, f"{page.name} cites notes outside the repository"

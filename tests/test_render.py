# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Golden-format tests of the EHR text renderer (docs/ehr-text-format.md) and of event-aware truncation."""

import polars as pl
import pytest
from mimic_factory import mini_mimic

from ehr_r1.render import event_texts, input_blocks, join_blocks, render_input
from ehr_r1.sources.mimic import MimicSource
from ehr_r1.timeline import build_timelines
from ehr_r1.truncation import BlockedInput, blocks_of_text, fit_blocks, fit_text


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> tuple[list[str], list[str]]:
    tmp = tmp_path_factory.mktemp("render")
    timeline = pl.read_parquet(build_timelines(MimicSource(mini_mimic(tmp / "mimic")), tmp / "tl", 1)[0])
    frame = event_texts(timeline)
    return frame["text"].to_list(), frame["table"].to_list()


def test_single_row_event_is_bullets(texts):
    text, tables = texts
    assert text[0] == "## Patient Demographics [None]\n- Anchor_Age: 60\n- Gender: F"
    assert text[tables.index("triage")] == (
        "## Triage [2150-01-01 05:00:01]\n- Temperature: 98.6\n- Heartrate: 90.0\n- Resprate: 18.0\n- O2Sat: 97.0\n"
        "- Sbp: 130.0\n- Dbp: 80.0\n- Pain: 3\n- Acuity: 2.0\n- Chiefcomplaint: Dyspnea"
    )


def test_multi_row_event_is_a_table_with_six_dash_separators(texts):
    text, tables = texts
    assert text[tables.index("labevents")] == (
        "## Labotary Test Events [2150-01-01 09:00:00]\n"
        "| Item_Name | Valuenum | Valueuom | Ref_Range_Lower | Ref_Range_Upper | Flag | Comments |\n"
        "| ------ | ------ | ------ | ------ | ------ | ------ | ------ |\n"
        "| Creatinine | 1.0 | mg/dL | 0.4 | 1.1 | nan | nan |\n"
        "| Potassium | 4.2 | mEq/L | 3.3 | 5.1 | nan | nan |"
    )
    assert text[tables.index("diagnoses_icd")].startswith(
        "## Diagnoses on International Classification of Diseases [None]\n| Diagnoses | Ccs Type |\n| ------ | ------ |\n"
    )


def test_quirks(texts):
    text, tables = texts
    assert text[tables.index("icustays")] == "## ICUstays [2150-01-01 10:00:00]\n"
    assert text[tables.index("drgcodes")] == ""
    assert (
        text[tables.index("discharge")]
        == "## Discharge [2150-01-05 11:00:00]\n- Note_Type: DS\n- Text: Discharge summary\nStable."
    )


def test_input_assembly_keeps_empty_parts(texts):
    text, tables = texts
    # context = events 6..14 of admission 10; no previous discharge; the admission block comes from event 5
    out = render_input(text, tables, 6, 14, admissions_id=5, last_discharge_id=None, hide=("discharge",))
    assert out.startswith(text[0] + "\n\n\n\n" + text[5] + "\n\n" + text[6])
    assert "## Discharge" not in out  # a bid event is hidden
    assert out.endswith(text[12] + "\n\n")  # drgcodes renders "" but keeps its slot
    second = render_input(text, tables, 14, 15, admissions_id=None, last_discharge_id=11, with_admission=False)
    # admissions events never appear among the context events (only as the header block)
    assert second == "\n\n".join([text[0], text[11], ""])


class CharCounter:
    """A ``TokenCounter`` whose tokens are characters (the engine's arithmetic, without a tokenizer)."""

    def count_texts(self, texts):
        return [len(t) for t in texts]

    def count_chats(self, chats):
        return [sum(len(m["content"]) for m in chat) for chat in chats]


def _chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_truncation_drops_whole_oldest_events_and_keeps_header(texts):
    text, tables = texts
    header, events = input_blocks(text, tables, 6, 14, admissions_id=5, last_discharge_id=None)
    full = join_blocks(header, events)
    limit = len(full) - len(text[6]) // 2

    ((truncated, dropped),) = fit_blocks([BlockedInput(header, events, _chat)], CharCounter(), limit)
    assert dropped == 1  # the 2-row lab panel is the oldest event; dropping it alone is enough
    assert truncated.startswith(text[0])
    assert text[5] in truncated and text[6] not in truncated and text[7] in truncated
    assert len(truncated) <= limit
    assert fit_text(full, _chat, CharCounter(), limit) == (truncated, dropped)  # text inputs: same engine, same cut

    tight = len(text[0]) + len(text[5]) + 8
    ((everything, dropped_all),) = fit_blocks([BlockedInput(header, events, _chat)], CharCounter(), tight)
    assert dropped_all == sum(1 for e in events if e)  # nothing fits but the header: every event goes
    assert everything.startswith(text[0]) and text[5] in everything and "## Services" not in everything
    assert fit_text(full, _chat, CharCounter(), tight) == (everything, dropped_all)


def test_empty_event_blocks_leave_with_the_event_before_them():
    header = ["## Patient Demographics [None]\n- Gender: F", "", ""]
    item = BlockedInput(header, ["", "## A [x]\n", "", "## B [y]\n"], _chat)
    head, units = item.units()
    assert head == [*header, ""] and units == [("## A [x]\n", 1), ("## B [y]\n", 0)]
    whole = "\n\n".join(item.header + item.events)
    assert "\n\n".join([*head, "## A [x]\n", "", "## B [y]\n"]) == whole
    assert blocks_of_text(whole)[1] == ["## A [x]\n\n\n", "## B [y]\n"]  # the text splitter cuts the same units
    ((dropped_one, n),) = fit_blocks([item], CharCounter(), len(whole) - 5)
    assert n == 1 and dropped_one == "\n\n".join([*head, "## B [y]\n"])


def test_token_estimates_from_block_counts_match_the_tokenizer(mimic_demo, tmp_path, tiny_model_dir):
    """Fitting counts each event block once and adds the counts up; the result must still fit, checked exactly."""
    from ehr_r1.builder import BuildConfig, build_dataset
    from ehr_r1.rows import training_chat
    from ehr_r1.truncation import ChatTokenCounter

    out = tmp_path / "ins"
    cfg = BuildConfig(
        str(mimic_demo), str(out), "ehr-ins", max_per_task=30, max_length=2048, tokenizer=str(tiny_model_dir)
    )
    manifest = build_dataset(cfg)
    assert manifest["truncation"]["samples_truncated"] > 50
    rows = pl.read_parquet(out / "data" / "*" / "*" / "*.parquet")
    counter = ChatTokenCounter(str(tiny_model_dir))
    chats = [training_chat(r["input"], r["instruction"], r["output"]) for r in rows.iter_rows(named=True)]
    counts = counter.count_chats(chats)
    assert max(counts) <= 2048
    near = sum(n > 2048 * 0.9 for n in counts)
    assert near > 20  # truncated samples end near the budget: estimates do not waste it

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Sample index: which (patient, target event, context slice, labels) each task yields (docs/tasks.md).

All of it is vectorised per timeline shard with as-of joins on a sortable key ``seconds * 10^6 + event_idx``
(event start times are non-decreasing along a trajectory, so "smallest index whose time qualifies" is "smallest key").
Index columns (``INDEX_SCHEMA``): subject_id, hadm_id, task, target_idx, begin, end (context = events [begin, end)),
admissions_id, last_discharge_id, labels.
"""

from dataclasses import dataclass, field

import polars as pl

from ehr_r1.errors import EhrR1Error
from ehr_r1.events import EVENT_TYPE, value
from ehr_r1.prompting import NO, YES
from ehr_r1.tasks.catalogue import ALL_TASKS, DecisionTask, RiskTask
from ehr_r1.tasks.labels import LabelTask
from ehr_r1.tasks.risk_rules import AFTER_ANCHOR, ANCHOR_WINDOWS, BEFORE_ANCHOR, RISK_RULES, UNTIL_AUX_TIME
from ehr_r1.timeline import events_of


DAY_S = 86_400
KEY_SCALE = 1_000_000  # event_idx < 10^6 per patient
INDEX_SCHEMA = {
    "subject_id": pl.Int64,
    "hadm_id": pl.Int64,
    "task": pl.String,
    "target_idx": pl.Int32,
    "begin": pl.Int32,
    "end": pl.Int32,
    "admissions_id": pl.Int32,
    "last_discharge_id": pl.Int32,
    "labels": pl.List(pl.String),
}


@dataclass(frozen=True)
class IndexConfig:
    """Context filters of the sample index."""

    window_hours: float = field(
        default=24.0, metadata={"help": "Context window before a decision target, or after a risk anchor (hours)."}
    )
    min_context_events: int = field(
        default=10, metadata={"help": "Keep contexts with more events than this (reference: 10)."}
    )
    max_context_events: int = field(
        default=100, metadata={"help": "Keep contexts with fewer events than this (reference: 100)."}
    )
    min_patient_events: int = field(
        default=1, metadata={"help": "Keep patients whose timeline has at least this many events (reference: 1)."}
    )
    max_patient_events: int = field(
        default=1200, metadata={"help": "Keep patients whose timeline has at most this many events (reference: 1200)."}
    )
    ed_context: str = field(
        default="until_admission",
        metadata={
            "help": "ED risk contexts end at ED out time (reference) or at the admission the stay leads to, if "
            "earlier (until_admission: the admission's own events would give the outcome away).",
            "choices": ["until_admission", "reference"],
        },
    )

    def __post_init__(self):
        if self.window_hours <= 0:
            raise EhrR1Error(f"--window-hours must be > 0, got {self.window_hours}")
        if not 0 <= self.min_context_events < self.max_context_events:
            raise EhrR1Error("--min-context-events must be >= 0 and below --max-context-events")
        if not 1 <= self.min_patient_events <= self.max_patient_events:
            raise EhrR1Error("--min-patient-events must be >= 1 and at most --max-patient-events")


def _key(seconds: pl.Expr, idx: pl.Expr) -> pl.Expr:
    return seconds * KEY_SCALE + idx.cast(pl.Int64)


def event_frame(timeline: pl.DataFrame) -> pl.DataFrame:
    """Events with ``t`` (start, untimed events borrow the previous start), ``sec`` and the as-of ``key``."""
    events = events_of(timeline).sort("subject_id", "event_idx")
    eff = pl.col("start").forward_fill().over("subject_id")
    sec = eff.dt.epoch("s")
    return events.with_columns(
        t=eff, sec=sec, key=_key(sec, pl.col("event_idx")), hadm_key=pl.col("hadm_id").fill_null(-1)
    )


def _asof(left: pl.DataFrame, right: pl.DataFrame, by: list[str], strategy: str, out: str) -> pl.DataFrame:
    """As-of join of ``left.probe`` onto ``right.key``, returning ``right.event_idx`` as ``out``."""
    right = right.select(*by, key="key", **{out: "event_idx"}).sort("key")
    return (
        left.sort("probe")
        .join_asof(right, left_on="probe", right_on="key", by=by, strategy=strategy, check_sortedness=False)
        .drop("key")
    )


def _timed(events: pl.DataFrame) -> pl.DataFrame:
    """Events that can bound a window: untimed ones (discharge diagnoses, DRG codes) never do, their time gap to
    anything counts as infinite as in the reference (they borrow a time only as decision targets)."""
    return events.filter(pl.col("event_idx") > 0, pl.col("start").is_not_null())


def window_begin(targets: pl.DataFrame, events: pl.DataFrame, hours: float) -> pl.DataFrame:
    """First event of the target's admission (hadm-less events: of hadm-less events) less than ``hours`` before."""
    probe = _key(pl.col("sec") - int(hours * 3600) + 1, pl.lit(0))
    return _asof(targets.with_columns(probe=probe), _timed(events), ["subject_id", "hadm_key"], "forward", "begin")


def window_last(anchors: pl.DataFrame, events: pl.DataFrame, limit_sec: pl.Expr, by: list[str]) -> pl.DataFrame:
    """Last event (of the same ``by`` group) starting at or before ``limit_sec``; its index + 1 is ``end``."""
    probe = _key(limit_sec, pl.lit(KEY_SCALE - 1))
    joined = _asof(anchors.with_columns(probe=probe), _timed(events), ["subject_id", *by], "backward", "last")
    return joined.with_columns(end=pl.col("last") + 1).drop("last")


def _latest(samples: pl.DataFrame, events: pl.DataFrame, table: str, as_of: pl.Expr, out: str) -> pl.DataFrame:
    """The latest ``table`` event at or before event index ``as_of`` (``out``) and its admission (``out_hadm``)."""
    right = (
        events.filter(pl.col("table") == table)
        .select(
            "subject_id", key=_key(pl.lit(0), pl.col("event_idx")), **{out: "event_idx", f"{out}_hadm": "hadm_key"}
        )
        .sort("key")
    )
    left = samples.with_columns(probe=_key(pl.lit(0), as_of)).sort("probe")
    joined = left.join_asof(
        right, left_on="probe", right_on="key", by="subject_id", strategy="backward", check_sortedness=False
    )
    return joined.drop("probe", "key")


def add_admission_and_history(samples: pl.DataFrame, events: pl.DataFrame, as_of: pl.Expr) -> pl.DataFrame:
    """``admissions_id`` and ``last_discharge_id`` as the reference sets them (docs/tasks.md): of the events up to index
    ``as_of``, the latest admission if it is the sample's own, and the latest discharge note if it belongs to another
    admission (hadm-less samples and notes count as one admission)."""
    samples = _latest(samples, events, "admissions", as_of, "adm")
    samples = _latest(samples, events, "discharge", as_of, "dc")
    return samples.with_columns(
        admissions_id=pl.when(pl.col("adm_hadm") == pl.col("hadm_key")).then("adm"),
        last_discharge_id=pl.when(pl.col("dc_hadm") != pl.col("hadm_key")).then("dc"),
    ).drop("adm", "adm_hadm", "dc", "dc_hadm")


# ------------------------------------------------------------------------------------------------ decision-making
def _labels_expr(task: DecisionTask) -> pl.Expr:
    if task.target_key == "table":
        return pl.col("table")
    if task.target_key == "multi":
        return pl.col("multi")
    event_type = EVENT_TYPE[task.table]
    if task.target_key == "careunit|eventtype":
        careunit, eventtype = value(event_type.position("careunit")), value(event_type.position("eventtype"))
        return pl.when(careunit.is_null()).then(eventtype).otherwise(careunit)
    return value(event_type.position(task.target_key))


def target_labels(rows: pl.DataFrame, task: DecisionTask) -> pl.DataFrame:
    """(subject_id, target_idx, labels): the sorted distinct non-missing, non-blank labels of each target event.

    ``rows`` are the timeline rows of the task's table (for ``next_event``: one row per event, with ``table``).
    """
    rows = rows.select("subject_id", target_idx="event_idx", label=_labels_expr(task))
    if task.target_key == "multi":
        rows = rows.explode("label")
    rows = rows.with_columns(pl.col("label").str.strip_chars())  # labels stripped, then deduplicated
    rows = rows.filter(pl.col("label").is_not_null(), pl.col("label") != "")
    return rows.group_by("subject_id", "target_idx").agg(labels=pl.col("label").unique().sort())


def event_contexts(events: pl.DataFrame, cfg: IndexConfig) -> pl.DataFrame:
    """For every event as a decision target: its context ``[begin, end)``, admission and history events.

    Computed once per shard and shared by every decision-making task (they differ only in labels).
    """
    targets = events.filter(pl.col("event_idx") > 0).with_columns(target_idx="event_idx", end="event_idx")
    targets = window_begin(targets, events, cfg.window_hours)
    n = pl.col("end") - pl.col("begin")
    targets = targets.filter(pl.col("begin").is_not_null(), n > cfg.min_context_events, n < cfg.max_context_events)
    # as of the event before the target: a target admission never heads its own sample (next_event)
    targets = add_admission_and_history(targets, events, pl.col("target_idx") - 1)
    return targets.select("subject_id", "hadm_id", "target_idx", "begin", "end", "admissions_id", "last_discharge_id")


def decision_index(timeline: pl.DataFrame, events: pl.DataFrame, tasks, cfg: IndexConfig) -> pl.DataFrame:
    """Decision-making samples of ``tasks`` (DecisionTask) in one shard."""
    if not tasks:
        return pl.DataFrame(schema=INDEX_SCHEMA)
    contexts = event_contexts(events, cfg)
    by_table = timeline.partition_by("table", as_dict=True)
    frames = []
    for task in tasks:
        if task.table == "*":  # next_event: any timed event type (untimed rows have no "next" position)
            rows = events.filter(pl.col("event_idx") > 0, pl.col("start").is_not_null())
        else:
            rows = by_table.get((task.table,), timeline.clear())
        labels = target_labels(rows, task)
        if task.max_labels:
            labels = labels.filter(pl.col("labels").list.len() <= task.max_labels)
        frames.append(contexts.join(labels, on=["subject_id", "target_idx"]).with_columns(task=pl.lit(task.name)))
    return _finish(frames, cfg)


def _finish(frames: list[pl.DataFrame], cfg: IndexConfig) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=INDEX_SCHEMA)
    out = pl.concat([f.select(list(INDEX_SCHEMA)).cast(INDEX_SCHEMA) for f in frames])
    n = pl.col("end") - pl.col("begin")
    out = out.filter(n > cfg.min_context_events, n < cfg.max_context_events)
    in_window = [t.name for t in ALL_TASKS.values() if getattr(t, "admission_in_window", False)]
    admission_rule = pl.col("task").is_in(in_window)
    keep = ~admission_rule | pl.col("admissions_id").is_null() | (pl.col("admissions_id") > pl.col("begin"))
    return out.filter(keep).sort("subject_id", "target_idx", "task")


# ------------------------------------------------------------------------------------------------------------ risk
def _first_after(anchors: pl.DataFrame, events: pl.DataFrame, table: str, by: list[str], name: str) -> pl.DataFrame:
    """Start (``name``) of the first ``table`` event after the anchor index (same ``by`` group)."""
    later = events.filter(pl.col("table") == table).select(*by, "event_idx", **{name: "t"}).sort("event_idx")
    joined = (
        anchors.with_columns(probe=pl.col("target_idx") + 1)
        .sort("probe")
        .join_asof(
            later.rename({"event_idx": "k"}),
            left_on="probe",
            right_on="k",
            by=by,
            strategy="forward",
            check_sortedness=False,
        )
    )
    return joined.drop("probe", "k")


def _admission_cut(anchors: pl.DataFrame, events: pl.DataFrame) -> pl.Series:
    """Per anchor: the earlier of its aux time (ED out time) and the start of its own admission (if any)."""
    admits = (
        events.filter(pl.col("table") == "admissions").group_by("subject_id", "hadm_key").agg(_adm=pl.col("t").min())
    )
    joined = anchors.join(admits, on=["subject_id", "hadm_key"], how="left", maintain_order="left")
    return joined.select(pl.min_horizontal("aux_time", "_adm")).to_series()


def _anchor_windows(events: pl.DataFrame, cfg: IndexConfig) -> dict[str, pl.DataFrame]:
    """Per anchor type: anchor events with their context ``begin`` / ``end`` (``risk_rules.ANCHOR_WINDOWS``)."""
    w = int(cfg.window_hours * 3600)
    out = {}
    for anchor, window in ANCHOR_WINDOWS.items():
        a = events.filter(pl.col("table") == anchor).with_columns(target_idx="event_idx")
        if window == AFTER_ANCHOR:
            out[anchor] = window_last(a.with_columns(begin="event_idx"), events, pl.col("sec") + w - 1, ["hadm_key"])
        elif window == UNTIL_AUX_TIME:
            until = _admission_cut(a, events) if cfg.ed_context == "until_admission" else a["aux_time"]
            a = a.with_columns(begin="event_idx", _until=until)
            out[anchor] = window_last(a, events, pl.col("_until").dt.epoch("s") - 1, []).drop("_until")
        elif window == BEFORE_ANCHOR:
            out[anchor] = window_begin(a.with_columns(end=pl.col("event_idx") + 1), events, cfg.window_hours)
        else:
            raise ValueError(f"anchor {anchor!r}: unknown window {window!r}")
    return out


def risk_anchor_frames(events: pl.DataFrame, cfg: IndexConfig) -> dict[str, pl.DataFrame]:
    """Per anchor type: anchors with context ``begin``/``end`` and the facts every risk rule reads."""
    dod = events.filter(pl.col("event_idx") == 0).select("subject_id", dod="aux_time")
    last_of_hadm = events.group_by("subject_id", "hadm_key").agg(hadm_last=pl.col("t").max())
    ctx_last = events.select("subject_id", last_idx="event_idx", ctx_last_t="t")
    out = {}
    for anchor, frame in _anchor_windows(events, cfg).items():
        frame = frame.filter(pl.col("end").is_not_null(), pl.col("begin").is_not_null())
        frame = frame.with_columns(last_idx=pl.col("end") - 1).join(
            ctx_last, on=["subject_id", "last_idx"], how="left"
        )
        frame = frame.join(dod, on="subject_id", how="left").join(
            last_of_hadm, on=["subject_id", "hadm_key"], how="left"
        )
        out[anchor] = frame
    out["icustays"] = _first_after(out["icustays"], events, "icustays", ["subject_id", "hadm_key"], "next_icu")
    ed = _first_after(out["edstays"], events, "admissions", ["subject_id", "hadm_key"], "admit_t")
    ed = _first_after(ed, events, "icustays", ["subject_id", "hadm_key"], "icu_t")
    out["edstays"] = _first_after(ed, events, "edstays", ["subject_id"], "next_ed")
    out["discharge"] = _first_after(out["discharge"], events, "admissions", ["subject_id"], "next_admit")
    return out


def risk_index(events: pl.DataFrame, tasks, cfg: IndexConfig) -> pl.DataFrame:
    """Risk samples of ``tasks`` (RiskTask) in one shard; labels are ``["yes"]`` or ``["no"]``."""
    if not tasks:
        return pl.DataFrame(schema=INDEX_SCHEMA)
    # as of the anchor: an ED stay is never headed by the admission it leads to (label leakage, docs/tasks.md)
    frames = risk_anchor_frames(events, cfg)
    anchors = {a: add_admission_and_history(f, events, pl.col("target_idx")) for a, f in frames.items()}
    frames = []
    for task in tasks:
        label, keep = RISK_RULES[task.rule].expressions(task.hours)
        frame = (
            anchors[task.anchor]
            .filter(keep)
            .with_columns(
                task=pl.lit(task.name),
                labels=pl.concat_list(pl.when(label).then(pl.lit(YES)).otherwise(pl.lit(NO))),
            )
        )
        frames.append(frame)
    return _finish(frames, cfg)


# ----------------------------------------------------------------------------------------------------- label files
def label_index(events: pl.DataFrame, tasks, cfg: IndexConfig) -> pl.DataFrame:
    """Samples of label-file tasks (``LabelTask``): per label, the context is the events that end at or before its
    ``prediction_time`` and start less than ``window_hours`` before it (an event running past the prediction time
    is left out whole); the target is the last context event. Labels with the same context keep the first."""
    if not tasks:
        return pl.DataFrame(schema=INDEX_SCHEMA)
    timed = _timed(events)
    # an event's end rounds up to the second, so one ending a fraction of a second after prediction_time stays out
    end_s = (pl.col("end").dt.epoch("us") + 999_999) // 1_000_000
    ends = timed.with_columns(key=_key(end_s, pl.col("event_idx")))
    subjects = events.select("subject_id").unique()
    frames = []
    for task in tasks:
        labels = task.labels.join(subjects, on="subject_id", how="semi")
        sec = pl.col("prediction_time").dt.epoch("s")
        frame = labels.with_columns(probe=_key(sec, pl.lit(KEY_SCALE - 1)))
        frame = _asof(frame, ends, ["subject_id"], "backward", "last")
        frame = _asof(frame.with_columns(probe=_key(sec - int(cfg.window_hours * 3600) + 1, pl.lit(0))), timed,
                      ["subject_id"], "forward", "begin")  # fmt: skip
        frame = frame.filter(
            pl.col("last").is_not_null(), pl.col("begin").is_not_null(), pl.col("begin") <= pl.col("last")
        )
        frame = frame.sort("subject_id", "prediction_time").unique(
            ["subject_id", "last"], keep="first", maintain_order=True
        )
        frame = frame.with_columns(target_idx=pl.col("last"), end=pl.col("last") + 1).join(
            events.select("subject_id", target_idx="event_idx", hadm_id="hadm_id", hadm_key="hadm_key"),
            on=["subject_id", "target_idx"],
            how="left",
        )
        frame = add_admission_and_history(frame, events, pl.col("target_idx"))
        answer = pl.when(pl.col("boolean_value")).then(pl.lit(YES)).otherwise(pl.lit(NO))
        frames.append(frame.with_columns(task=pl.lit(task.name), labels=pl.concat_list(answer)))
    return _finish(frames, cfg)


def patients_in_range(timeline: pl.DataFrame, cfg: IndexConfig) -> pl.DataFrame:
    """Rows of the patients whose timeline length (events) is within the reference's filter (docs/ehr-text-format.md#ordering-and-grouping)."""
    n_events = pl.col("event_idx").max().over("subject_id") + 1
    return timeline.filter(n_events.is_between(cfg.min_patient_events, cfg.max_patient_events))


def build_index(timeline: pl.DataFrame, cfg: IndexConfig = IndexConfig(), tasks=None) -> pl.DataFrame:
    """The full sample index of one timeline shard, for ``tasks`` (default: every task)."""
    tasks = tasks or tuple(ALL_TASKS.values())
    timeline = patients_in_range(timeline, cfg)
    events = event_frame(timeline)
    dm = decision_index(timeline, events, [t for t in tasks if isinstance(t, DecisionTask)], cfg)
    risk = risk_index(events, [t for t in tasks if isinstance(t, RiskTask)], cfg)
    labelled = label_index(events, [t for t in tasks if isinstance(t, LabelTask)], cfg)
    return pl.concat([dm, risk, labelled])

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""``build-reasoning`` end to end: EHR-Ins folder → thinking graphs → teacher → filter → dataset folder."""

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ehr_r1 import layout, prompting
from ehr_r1.errors import EhrR1Error, InputError
from ehr_r1.reasoning import concepts as C
from ehr_r1.reasoning.config import EXCLUDED_TASKS, ReasoningConfig, SelectionConfig
from ehr_r1.reasoning.cooccurrence import ConceptIds, sample_pairs, select_pairs, task_statistics
from ehr_r1.reasoning.filter import judge
from ehr_r1.reasoning.graph import KnowledgeGraph


logger = logging.getLogger(__name__)
SAMPLE_COLUMNS = ("idx", "task", "task_type", "instruction", "input", "output")
BATCH_ROWS = 32_768  # samples read and parsed at a time: memory is bounded by a batch, not by the task


# ---------------------------------------------------------------------------------------- reading the EHR-Ins folder
@dataclass
class InsFolder:
    """A built EHR-Ins folder: its decision-making sample files by task, card front matter and manifest."""

    root: Path
    tasks: dict[str, list[Path]]
    card: dict
    manifest: dict

    @property
    def files(self) -> list[Path]:
        return sorted(f for files in self.tasks.values() for f in files)


def _file_task(path: Path) -> tuple[str, str] | None:
    """``(task_type, task)`` of a samples file, from its first row; checks the columns (one-line errors)."""
    try:
        reader = pq.ParquetFile(path)
        names = reader.schema_arrow.names
        missing = next((c for c in SAMPLE_COLUMNS if c not in names), None)
        if missing:
            raise InputError(path, "missing column", column=missing)
        if reader.metadata.num_rows == 0:
            return None
        first = next(reader.iter_batches(batch_size=1, columns=["task_type", "task"]))
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a bad file
        raise InputError(path, f"unreadable parquet ({type(err).__name__})") from None
    return first.column("task_type")[0].as_py(), first.column("task")[0].as_py()


def read_ins(folder: str | Path) -> InsFolder:
    """A built EHR-Ins folder, read through `ehr_r1.layout` (bad or missing parts: one-line errors)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "EHR-Ins folder not found")
    manifest = layout.read_manifest(root)
    dataset = manifest.get("dataset", "ehr-ins")
    if dataset != "ehr-ins":
        raise InputError(root / layout.MANIFEST, f"a built {dataset}, not EHR-Ins: chains are made from training data")
    card = layout.read_card_metadata(root)
    tasks: dict[str, list[Path]] = {}
    for path in layout.sample_files(root):
        kind = _file_task(path)
        if kind is not None and kind[0] == prompting.DECISION_MAKING:
            tasks.setdefault(kind[1], []).append(path)
    if not tasks:
        raise InputError(root, "no decision-making samples: not a built EHR-Ins (make one with `ehr-r1 build-ins`)")
    return InsFolder(root, dict(sorted(tasks.items())), card, manifest)


def read_task(
    files: list[Path], columns: Iterable[str] = SAMPLE_COLUMNS, batch_rows: int = BATCH_ROWS
) -> Iterator[pl.DataFrame]:
    """One task's samples in batches of at most ``batch_rows``, with ``row`` numbering them across the batches."""
    offset = 0
    for path in files:
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=list(columns)):
                frame = pl.from_arrow(batch).with_row_index("row", offset=offset)
                offset += frame.height
                yield frame
        except Exception as err:  # noqa: BLE001 - a file that breaks mid-read
            raise InputError(path, f"unreadable parquet ({type(err).__name__})") from None


def read_rows(files: list[Path], idx: pl.Series, columns: Iterable[str] = SAMPLE_COLUMNS) -> pl.DataFrame:
    """The samples of ``files`` whose ``idx`` is in ``idx``, read batch by batch."""
    wanted = idx.implode()
    parts = [batch.filter(pl.col("idx").is_in(wanted)).drop("row") for batch in read_task(files, columns)]
    return pl.concat(parts) if parts else pl.DataFrame(schema=dict.fromkeys(columns, pl.String))


def text_vocabulary(ins: InsFolder, tasks: Iterable[str], kg: KnowledgeGraph) -> pl.DataFrame:
    """Free-text vocabulary: the knowledge-graph names plus every label of the folder's decision-making tasks."""
    labels = [
        C.target_concepts(batch)["value"].unique()
        for task in tasks
        for batch in read_task(ins.tasks[task], ("output",))
    ]
    return C.text_vocabulary(pl.concat([kg.nodes["name"], *labels]).unique())


# ----------------------------------------------------------------------------------------------------- statistics
@dataclass
class TaskConcepts:
    """Concepts of one task's samples: ``samples`` (``row, idx``), ``targets`` / ``history`` (``row, id``), the
    concept ``ids`` and display ``names`` (``concept, name``)."""

    task: str
    samples: pl.DataFrame
    targets: pl.DataFrame
    history: pl.DataFrame
    ids: ConceptIds
    names: pl.DataFrame

    def statistics(self) -> pl.DataFrame:
        """Co-occurrence statistics of every (target, history) pair of the task (`task_statistics`)."""
        return task_statistics(self.task, self.samples.height, self.targets, self.history, self.ids)


def task_concepts(task: str, batches: Iterable[pl.DataFrame], vocabulary: pl.DataFrame) -> TaskConcepts:
    """Concepts of one task, from its samples in batches (``row, idx, input, output``)."""
    ids = ConceptIds()
    samples, targets, history, names = [], [], [], []
    for batch in batches:
        blocks = C.split_blocks(batch.select("row", "input"))
        concepts = C.block_concepts(blocks, vocabulary)
        gold = C.target_concepts(batch.select("row", "output"))
        samples.append(batch.select("row", "idx"))
        targets.append(ids.encode(gold))
        history.append(ids.encode(C.history_concepts(blocks, concepts)))
        names.append(C.display_names(gold, concepts))
    names_frame = pl.concat(names).group_by("concept").agg(pl.col("name").min())
    return TaskConcepts(task, pl.concat(samples), pl.concat(targets), pl.concat(history), ids, names_frame)


# ------------------------------------------------------------------------------------------------- thinking graphs
@dataclass
class ThinkingGraphs:
    """Per-task concepts, the selected pairs, their relation paths and the samples that have a thinking graph
    (``candidates``: ``idx, task, pairs``)."""

    per_task: dict[str, TaskConcepts]
    selected: pl.DataFrame
    paths: pl.DataFrame
    candidates: pl.DataFrame
    vocabulary: pl.DataFrame


def sample_graphs(tc: TaskConcepts, task: str, selected: pl.DataFrame, paths: pl.DataFrame, k: int) -> pl.DataFrame:
    """``idx, task, pairs`` (best ``k`` paths by Lift) for each sample of one task that has a thinking graph."""
    pairs = sample_pairs(selected, tc.targets, tc.history, tc.ids, task)
    pairs = pairs.join(paths.select("target", "history", "rendered", "path_source"), on=["target", "history"])
    pairs = pairs.sort(["row", "lift", "target", "history"], descending=[False, True, False, False])
    pairs = pairs.group_by("row", maintain_order=True).head(k)
    graphs = pairs.group_by("row", maintain_order=True).agg(
        pairs=pl.struct("target", "history", "lift", "rendered", "path_source")
    )
    return tc.samples.join(graphs, on="row", how="inner").select("idx", task=pl.lit(task), pairs="pairs")


def thinking_graphs(ins: InsFolder, tasks: list[str], kg: KnowledgeGraph, cfg: SelectionConfig) -> ThinkingGraphs:
    """Concepts → co-occurrence → selected pairs → relation paths → each sample's thinking graph."""
    vocabulary = text_vocabulary(ins, tasks, kg)
    per_task = {task: task_concepts(task, read_task(ins.tasks[task]), vocabulary) for task in tasks}
    selected = pl.concat(
        [select_pairs(tc.statistics(), cfg) for tc in per_task.values()]
    )  # one task's pairs at a time
    lifts = selected.group_by("target", "history").agg(pl.col("lift").max())
    names = pl.concat([tc.names for tc in per_task.values()]).group_by("concept").agg(pl.col("name").min())
    paths = kg.paths(lifts, cfg.max_path_length, cfg.max_paths, names)
    candidates = pl.concat(
        [sample_graphs(tc, task, selected, paths, cfg.max_paths_per_sample) for task, tc in per_task.items()]
    )
    return ThinkingGraphs(per_task, selected, paths, candidates, vocabulary)


def choose(candidates: pl.DataFrame, max_samples: int | None, seed: int) -> pl.DataFrame:
    """Balanced over tasks: a seeded order within each task, then round-robin across tasks."""
    ranked = candidates.with_columns(_h=pl.col("idx").hash(seed)).with_columns(
        _rank=pl.col("_h").rank("ordinal").over("task")
    )
    ranked = ranked.sort("_rank", "task").drop("_h", "_rank")
    return ranked if max_samples is None else ranked.head(max_samples)


def context_events(chosen: pl.DataFrame, vocabulary: pl.DataFrame) -> pl.DataFrame:
    """``idx, events`` (``name, time, values``): the last context event holding each selected history concept."""
    blocks = C.split_blocks(chosen.select("row", "input"))
    concepts = C.block_concepts(blocks, vocabulary)
    wanted = (
        chosen.select("row", pair=pl.col("pairs"))
        .explode("pair")
        .select("row", concept=pl.col("pair").struct.field("history"))
    )
    hits = (
        blocks.select("row", "pos", "hash", "name", "time")
        .join(concepts, on="hash")
        .join(wanted.unique(), on=["row", "concept"], how="semi")
    )
    last = hits.sort("row", "pos").group_by("row", "concept").agg(pl.col("pos", "name", "time", "value").last())
    events = last.group_by("row", "pos", "name", "time").agg(values=pl.col("value").unique().sort()).sort("row", "pos")
    events = events.group_by("row", maintain_order=True).agg(events=pl.struct("name", "time", "values"))
    return chosen.select("row", "idx").join(events, on="row", how="left").select("idx", "events")


# ------------------------------------------------------------------------------------------------------- pipeline
@dataclass
class Result:
    """What the writer needs."""

    rows: pl.DataFrame
    selected: pl.DataFrame
    paths: pl.DataFrame
    counts: dict
    teacher_stats: dict
    timings: dict


def select_tasks(ins: InsFolder, wanted: tuple[str, ...] | None) -> list[str]:
    """The decision-making tasks to reason about: ``wanted`` (all by default) less `EXCLUDED_TASKS`."""
    unknown = sorted(set(wanted or ()) - set(ins.tasks))
    if unknown:
        raise EhrR1Error(f"{ins.root}: no decision-making task {unknown[0]!r} (have: {', '.join(ins.tasks)})")
    tasks = [t for t in ins.tasks if t not in EXCLUDED_TASKS and (not wanted or t in wanted)]
    if not tasks:
        raise EhrR1Error(f"{ins.root}: no decision-making task left after excluding {', '.join(EXCLUDED_TASKS)}")
    return tasks


def _counts(per_task: dict[str, TaskConcepts], candidates: pl.DataFrame, chosen: pl.DataFrame) -> dict:
    with_graph = dict(candidates.group_by("task").len().iter_rows())
    selected = dict(chosen.group_by("task").len().iter_rows())
    return {
        task: {"samples": tc.samples.height, "with_graph": with_graph.get(task, 0), "selected": selected.get(task, 0)}
        for task, tc in per_task.items()
    }


def run(
    cfg: ReasoningConfig, ins: InsFolder, graph_edges: pl.DataFrame, inverse: dict[str, str] | None = None
) -> Result:
    """Compute the thinking graphs and chains of ``ins``; ``graph_edges`` is the knowledge edge list (open and/or
    UMLS), ``inverse`` maps a relation to its inverse (UMLS)."""
    timings: dict[str, float] = {}
    start = time.perf_counter()

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - start - sum(timings.values()), 3)

    tasks = select_tasks(ins, cfg.tasks)
    kg = KnowledgeGraph(graph_edges, inverse)
    lap("load")
    graphs = thinking_graphs(ins, tasks, kg, cfg.selection)
    lap("concepts_cooccurrence_paths")
    chosen = choose(graphs.candidates, cfg.max_samples, cfg.seed)
    counts = _counts(graphs.per_task, graphs.candidates, chosen)
    texts = read_rows(ins.files, chosen["idx"], ("idx", "task_type", "instruction", "input", "output"))
    chosen = chosen.join(texts, on="idx", how="left").with_row_index("row")
    chosen = chosen.join(context_events(chosen, graphs.vocabulary), on="idx", how="left")
    lap("graphs")
    completions, teacher_stats = _teach(cfg, chosen)
    lap("teacher")
    rows = _assemble(cfg, chosen, completions)
    for task, count in counts.items():
        part = rows.filter(pl.col("task") == task)
        reasons = dict(part.filter(~pl.col("kept")).group_by("drop_reason").len().iter_rows())
        count.update(kept=int(part["kept"].sum()), dropped=dict(sorted(reasons.items())))
        count["dropped"]["no_graph"] = count["samples"] - count["with_graph"]
    lap("filter")
    return Result(rows, graphs.selected, graphs.paths, counts, teacher_stats, timings)


def _gold(output: str) -> list[str]:
    return prompting.gold_items(output)


def _teach(cfg: ReasoningConfig, chosen: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """``idx, k, text`` for every completion (failed samples: none), and the teacher's counts."""
    from ehr_r1.reasoning import teacher as T

    records = chosen.select("idx", "instruction", "input", "output", "pairs", "events").to_dicts()
    schema = {"idx": pl.String, "k": pl.Int32, "text": pl.String}
    if cfg.teacher.offline:
        texts = [T.template_chain(r["events"] or [], r["pairs"], _gold(r["output"])) for r in records]
        frame = pl.DataFrame({"idx": chosen["idx"], "k": 0, "text": texts}, schema=schema)
        return frame, {"requests": len(records), "sent": 0, "failed": 0, "cached": 0}
    teacher = T.OpenAITeacher(cfg.teacher)
    requests = []
    for r in records:
        paths = [p["rendered"] for p in r["pairs"]]
        messages = T.teacher_prompt(cfg.teacher.variant, r["input"], r["instruction"], r["output"], paths)
        key = T.request_key(r["idx"], messages, cfg.teacher.model, cfg.teacher.decoding())
        requests.append(T.Request(key, r["idx"], messages))
    cache = T.TeacherCache(cfg.teacher_cache or default_teacher_cache(cfg.output))
    try:
        stats = teacher.complete(requests, cache)
    finally:
        cache.close()
    idx, ks, texts = [], [], []
    for req in requests:
        done = cache.done.get(req.key)
        for k, text in enumerate(done["completions"] if done else []):
            idx.append(req.idx)
            ks.append(k)
            texts.append(text)
    failed = sum(1 for r in requests if r.key not in cache.done)
    stats.update(requests=len(requests), failed=failed)
    return pl.DataFrame({"idx": idx, "k": ks, "text": texts}, schema=schema), stats


def _assemble(cfg: ReasoningConfig, chosen: pl.DataFrame, completions: pl.DataFrame) -> pl.DataFrame:
    """One row per chosen sample: graph, completions, verdicts, kept flag and (when kept) the chat messages."""
    gold = chosen.select("idx", gold=pl.col("output").str.split("\n").list.eval(
        pl.element().str.strip_chars()).list.filter(pl.element() != ""))  # fmt: skip
    judged = judge(completions.join(gold, on="idx").with_row_index("cid"), cfg.filter, cfg.teacher.variant).sort(
        "idx", "k"
    )
    per_sample = judged.group_by("idx", maintain_order=True).agg(
        completions=pl.col("text"),
        verdicts=pl.col("verdict"),
        recall=pl.col("recall"),
        reasoning=pl.col("text").filter(pl.col("verdict") == "pass").first(),
        passing=pl.col("text").filter(pl.col("verdict") == "pass"),
    )
    rows = chosen.join(per_sample, on="idx", how="left").with_columns(
        kept=pl.col("reasoning").is_not_null(),
        drop_reason=pl.when(pl.col("reasoning").is_not_null())
        .then(None)
        .when(pl.col("completions").is_null())
        .then(pl.lit("teacher_failed"))
        .otherwise(pl.col("verdicts").list.first()),
    )
    records = rows.select("input", "instruction", "output", "reasoning").to_dict(as_series=False)
    messages = [
        prompting.build_messages(i, ins, prompting.assistant_target(out, reason), think=True) if reason else None
        for i, ins, out, reason in zip(
            records["input"], records["instruction"], records["output"], records["reasoning"], strict=True
        )
    ]
    msg_type = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
    rows = rows.with_columns(messages=pl.Series(messages, dtype=msg_type))
    return rows.select(
        "idx", "task", "task_type", "instruction", "input", "output", "messages", "reasoning", "passing",
        graph_paths=pl.col("pairs").list.eval(pl.element().struct.field("rendered")),
        graph_pairs=pl.col("pairs"),
        completions="completions", verdicts="verdicts", recall="recall", kept="kept", drop_reason="drop_reason",
    ).sort("task", "idx")  # fmt: skip


def default_teacher_cache(output: str | Path) -> Path:
    """The request cache lives beside the output (it must survive a killed run): ``.<name>.teacher-cache.jsonl``."""
    out = Path(output).absolute()
    return out.parent / f".{out.name}.teacher-cache.jsonl"


def knowledge_edges(cfg: ReasoningConfig) -> tuple[pl.DataFrame, dict[str, str]]:
    """The open knowledge graph, plus UMLS when ``umls_dir`` is given."""
    from ehr_r1.reasoning.knowledge import open_knowledge

    edges = open_knowledge(cfg.atc_map, cfg.concept_maps, cfg.cache_dir)
    for flag, value, what in (
        ("--atc-map", cfg.atc_map, "drug -> ATC"),
        ("--concept-maps", cfg.concept_maps, "item -> LOINC"),
    ):
        if not value:
            logger.info("no %s: the knowledge graph has no %s edges", flag, what)
    if not cfg.umls_dir:
        logger.info("no --umls-dir: using the open knowledge graph only (%d edges)", edges.height)
        return edges, {}
    from ehr_r1.reasoning.umls import umls_edges

    extra, inverse = umls_edges(cfg.umls_dir)
    return pl.concat([edges, extra]), inverse


def build(cfg: ReasoningConfig) -> dict:
    """Check the inputs, the output and the teacher, run the pipeline and write ``cfg.output`` atomically; returns
    the manifest."""
    from ehr_r1.io import atomic_output_dir
    from ehr_r1.reasoning import writer
    from ehr_r1.reasoning.teacher import OpenAITeacher

    ins = read_ins(cfg.ins)  # bad input fails before the teacher is contacted
    select_tasks(ins, cfg.tasks)
    if cfg.umls_dir:
        from ehr_r1.reasoning.umls import umls_files

        umls_files(cfg.umls_dir)
    inputs = (cfg.ins, cfg.atc_map, cfg.concept_maps, cfg.umls_dir, cfg.cache_dir, cfg.teacher_cache)
    with atomic_output_dir(cfg.output, cfg.overwrite, inputs, writer.COMMAND) as tmp:
        if not cfg.teacher.offline:
            OpenAITeacher(cfg.teacher).check()
        edges, inverse = knowledge_edges(cfg)
        result = run(cfg, ins, edges, inverse)
        manifest = writer.write(tmp, cfg, result, edges, ins)
    logger.info("wrote %d of %d reasoning samples to %s", manifest["kept"], manifest["samples"], cfg.output)
    return manifest

# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Speed of ``build-reasoning`` (issue 9 targets). Prints two Markdown tables.

1. Concepts + co-occurrence + graph paths (``ehr_r1.reasoning.pipeline.thinking_graphs``) on a synthetic EHR-Ins
   folder written in the built layout (rendered event blocks whose values are real knowledge-graph names, labels
   partly tied to the last event so that pairs keep a high Lift at every size), at several sizes; each size is written by one process and measured in a fresh one (seconds, samples/s, peak RSS of the
   measuring process). Target: 1M samples in <= 2 min on 2 cores, peak RSS <= 4 GB.
2. The OpenAI teacher client against a minimal asyncio OpenAI-compatible endpoint (its own process) answering after a
   fixed latency: requests/s against the concurrency / latency bound, and the client's and the server's CPU use.
   Target: >= 80 % of the bound (>= 256 req/s at 64 in flight, 200 ms) with <= 1 core of client overhead.

    python benchmarks/reasoning_speed.py --samples 10000 100000 1000000 --requests 4000
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


TASKS = ("labevents", "diagnoses_icd", "prescriptions", "procedures_icd")
EVENTS = {
    "labevents": ("Labotary Test Events", "Item_Name"),
    "diagnoses_icd": ("Diagnoses on International Classification of Diseases", "Diagnoses"),
    "prescriptions": ("Prescriptions", "Drug"),
    "procedures_icd": ("Procedures on International Classification of Diseases", "Procedures"),
}
CHUNK = 100_000  # samples generated and written at a time


def _vocab(edges, n: int, seed: int) -> list[str]:
    names = sorted(set(edges["src"].to_list()))
    rng = np.random.default_rng(seed)
    return [names[i] for i in rng.choice(len(names), size=min(n, len(names)), replace=False)]


def _blocks(vocab: list[str], n_blocks: int, rng) -> tuple[np.ndarray, list[list[int]]]:
    """Rendered event blocks of 1-4 items (Zipf-distributed vocabulary indices) and the items of each."""
    kinds, blocks, items = list(EVENTS.values()), [], []
    for b in range(n_blocks):
        name, key = kinds[b % len(kinds)]
        ids = [int(rng.zipf(1.3)) % len(vocab) for _ in range(1 + b % 4)]
        items.append(ids)
        if len(ids) == 1:
            blocks.append(f"## {name} [2150-01-01 00:{b % 60:02d}:00]\n- {key}: {vocab[ids[0]]}")
        else:
            rows = "\n".join(f"| {vocab[i]} |" for i in ids)
            blocks.append(f"## {name} [2150-01-01 00:{b % 60:02d}:00]\n| {key} |\n| ------ |\n{rows}")
    return np.array(blocks, dtype=object), items


def _gold(vocab: list[str], items: list[int], rng) -> str:
    """Three labels: the "partners" of two items of the last context event (a fixed map into the 300 most frequent
    names, so that some (target, history) pairs keep a high Lift at every size) and one Zipf draw."""
    partners = [vocab[(i * 7919 + 13) % 300] for i in items[:2]]
    return "\n".join(dict.fromkeys([*partners, vocab[int(rng.zipf(1.5)) % 300]]))


def write_folder(root: Path, n: int, cache: str, seed: int = 0) -> None:
    """``n`` samples over four tasks in the EHR-Ins layout: 12 context events of 1-4 items each, up to 3 gold labels;
    about 40 patients' worth of distinct blocks per 1k samples (events recur across samples of a patient)."""
    import polars as pl
    import pyarrow.parquet as pq

    from ehr_r1 import layout
    from ehr_r1.reasoning.knowledge import open_knowledge

    rng = np.random.default_rng(seed)
    vocab = _vocab(open_knowledge(cache_dir=cache), 3000, seed)
    n_blocks = max(500, n // 4)
    blocks, items = _blocks(vocab, n_blocks, rng)
    demo = "## Patient Demographics [None]\n- Anchor_Age: 60\n- Gender: F"
    per_task = {task: n // len(TASKS) + (i < n % len(TASKS)) for i, task in enumerate(TASKS)}
    for task, size in per_task.items():
        path = root / layout.task_file("decision_making", task, "train")
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = None
        for start in range(0, size, CHUNK):
            m = min(CHUNK, size - start)
            starts = rng.integers(0, n_blocks - 12, size=m)
            frame = pl.DataFrame(
                {
                    "idx": [f"{task}-{start + i}" for i in range(m)],
                    "task": task,
                    "task_type": "decision_making",
                    "instruction": "Given the sequence of events ..., please give the next items.",
                    "input": [demo + "\n\n" + "\n\n".join(blocks[s : s + 12]) for s in starts],
                    "output": [_gold(vocab, items[s + 11], rng) for s in starts],
                }
            ).to_arrow()
            writer = writer or pq.ParquetWriter(path, frame.schema, compression="zstd")
            writer.write_table(frame, row_group_size=1024)
        writer.close()
    (root / layout.MANIFEST).write_text(json.dumps({"dataset": "ehr-ins", "counts": per_task}))
    (root / layout.CARD).write_text(layout.card_text({"license": "other"}, "# synthetic EHR-Ins (benchmark)\n"))


def graph_stage(folder: str, cache: str, queue) -> None:
    from ehr_r1.reasoning.config import SelectionConfig
    from ehr_r1.reasoning.graph import KnowledgeGraph
    from ehr_r1.reasoning.knowledge import open_knowledge
    from ehr_r1.reasoning.pipeline import read_ins, select_tasks, thinking_graphs

    edges = open_knowledge(cache_dir=cache)
    start = time.perf_counter()
    ins = read_ins(folder)
    kg = KnowledgeGraph(edges)
    graphs = thinking_graphs(ins, select_tasks(ins, None), kg, SelectionConfig())
    total = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    samples = sum(tc.samples.height for tc in graphs.per_task.values())
    knowledge = int((graphs.paths["path_source"] == "knowledge").sum())
    queue.put({"n": samples, "total_s": total, "pairs": graphs.selected.height, "knowledge": knowledge,
               "with_graph": graphs.candidates.height, "rss_gb": rss})  # fmt: skip


# ------------------------------------------------------------------------------------------------------ teacher
CANNED = json.dumps({
    "id": "c", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "## Extraction\n## Reasoning\n## Final Results\nA"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}).encode()  # fmt: skip


async def _handle(reader, writer, latency: float) -> None:
    """HTTP/1.1 keep-alive: read one request (headers + Content-Length body), answer CANNED after ``latency``."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0)  # fmt: skip
            await reader.readexactly(length)
            await asyncio.sleep(latency)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(CANNED), CANNED))  # fmt: skip
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def serve(port_queue, latency: float) -> None:
    """A minimal asyncio OpenAI-compatible endpoint (one canned chat completion), standing in for a vLLM server.

    The test server (``tests/openai_server.py``, one thread per connection) costs about a core at 250 req/s on this
    2-core machine, which a real teacher on its own GPU machine does not take from the client.
    """

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(r, w, latency), "127.0.0.1", 0, backlog=512)
        port_queue.put(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1")
        await server.serve_forever()

    asyncio.run(main())


def teacher_stage(requests: int, concurrency: int, latency: float) -> dict:
    import psutil

    from ehr_r1.reasoning.config import TeacherConfig
    from ehr_r1.reasoning.teacher import OpenAITeacher, Request, TeacherCache

    ctx = mp.get_context("spawn")
    urls = ctx.Queue()
    server = ctx.Process(target=serve, args=(urls, latency), daemon=True)
    server.start()
    cfg = TeacherConfig(url=urls.get(timeout=120), model="m", n=1, concurrency=concurrency, timeout=30)
    msgs = [{"role": "user", "content": "x" * 2000}]
    reqs = [Request(f"k{i}", f"i{i}", msgs) for i in range(requests)]
    with tempfile.TemporaryDirectory() as tmp:
        cache = TeacherCache(Path(tmp) / "cache.jsonl")
        served = psutil.Process(server.pid)
        server0, cpu0, t0 = sum(served.cpu_times()[:2]), time.process_time(), time.perf_counter()
        stats = asyncio.run(OpenAITeacher(cfg)._run(reqs, cache))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server_cpu = sum(served.cpu_times()[:2]) - server0
        cache.close()
    server.terminate()
    bound = concurrency / latency
    return {"requests": requests, "concurrency": concurrency, "latency_ms": latency * 1000, "rate": requests / wall,
            "bound": bound, "share": requests / wall / bound, "client_cores": cpu / wall, "server_cores": server_cpu / wall, "failed": stats["failed"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, nargs="*", default=[10_000, 100_000], help="Sizes (none: skip).")
    parser.add_argument("--requests", type=int, default=3000, help="Teacher requests (0: skip).")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="reasoning-speed-") as tmp:
        cache = str(Path(tmp) / "kg")
        if args.samples:
            print("| samples | concepts + co-occurrence + paths s | samples/s | with a graph | selected pairs | "
                  "knowledge paths | peak RSS GB |")  # fmt: skip
            print("|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.samples:
            folder = Path(tmp) / f"ins-{n}"
            writer = ctx.Process(target=write_folder, args=(folder, n, cache))
            writer.start()
            writer.join()
            queue = ctx.Queue()
            proc = ctx.Process(target=graph_stage, args=(str(folder), cache, queue))
            proc.start()
            r = queue.get()
            proc.join()
            print(f"| {r['n']:,} | {r['total_s']:.1f} | {r['n'] / r['total_s']:,.0f} | {r['with_graph']:,} | "
                  f"{r['pairs']:,} | {r['knowledge']:,} | {r['rss_gb']:.2f} |", flush=True)  # fmt: skip
    if not args.requests:
        return
    r = teacher_stage(args.requests, args.concurrency, args.latency)
    print()
    print(
        "| requests | in flight | latency ms | req/s | bound req/s | share of bound | client CPU cores | server CPU cores | failed |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r['requests']:,} | {r['concurrency']} | {r['latency_ms']:.0f} | {r['rate']:.0f} | {r['bound']:.0f} | "
          f"{r['share']:.0%} | {r['client_cores']:.2f} | {r['server_cores']:.2f} | {r['failed']} |")  # fmt: skip


if __name__ == "__main__":
    main()

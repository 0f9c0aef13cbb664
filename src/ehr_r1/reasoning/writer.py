# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Write the ``build-reasoning`` folder: parquet configs, ``reasoning.jsonl``, card and manifest.

One derived config per table, at `ehr_r1.layout.config_file` paths (``data/<config>/train-*.parquet``):

| config | rows |
|---|---|
| ``reasoning`` (default) | kept samples: stage-2 chat ``messages`` plus graph, completions, verdicts |
| ``samples`` | every sample sent to the teacher, kept or dropped, with the reason |
| ``cooccurrence`` | selected (task, target, history) pairs with N, n(t), n(h), n(t,h), Lift |
| ``knowledge_edges`` | the edge list used (``src, rel, dst, source``), with the ``co_occurs_with`` edges |

plus ``reasoning.jsonl`` (``idx, reasoning``: the first kept chain of each sample, what ``build-ins
--reasoning-file`` reads), the card (``README.md``) and ``manifest.json``.
"""

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ehr_r1 import __version__, layout
from ehr_r1.manifest import fingerprint_outputs, quick_fingerprint
from ehr_r1.reasoning.config import ReasoningConfig, redact_url
from ehr_r1.reasoning.knowledge import source_summary


COMMAND, SPLIT = "build-reasoning", "train"
REASONING_JSONL = "reasoning.jsonl"
GATE_KEYS = ("license", "license_name", "license_link", "gated")
CONFIGS = ("reasoning", "samples", "cooccurrence", "knowledge_edges")


def _write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(frame.to_arrow(), path, compression="zstd", row_group_size=1024, write_statistics=False)


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < bound:
            return name
    return "1M<n<10M"


def front_matter(ins_card: dict, n: int) -> dict:
    """Card metadata; the licence and gate are copied from the EHR-Ins card (MIMIC-derived data stays gated)."""
    tags = list(dict.fromkeys([*ins_card.get("tags", ["medical", "ehr"]), "reasoning", "thinking-graph"]))
    meta = {
        "pretty_name": "EHR-Ins reasoning",
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": tags,
        "size_categories": [_size_category(n)],
    }
    meta.update({k: ins_card[k] for k in GATE_KEYS if k in ins_card})
    meta.update({k: v for k, v in ins_card.items() if k.startswith("extra_gated")})
    meta.setdefault("license", "other")
    meta["configs"] = [
        layout.config_entry(name, SPLIT) | ({"default": True} if name == "reasoning" else {}) for name in CONFIGS
    ]
    return meta


def _body(meta: dict, manifest: dict) -> str:
    teacher = manifest["teacher"]
    gated = bool(meta.get("gated"))
    if not gated:
        notice = "> Built from synthetic data: no real patient is described."
    elif "mimic-iv" in meta.get("tags", []):
        notice = ("> **Credentialed data.** Derived from MIMIC-IV: keep it behind a PhysioNet-credentialed gate; never "
                  "send it to online services that retain data.")  # fmt: skip
    else:  # another hospital's data (a MEDS build): its EHR-Ins card's gate is copied
        notice = ("> **Restricted data.** Derived from real patient records: keep it behind the data owner's access "
                  "gate; never send it to online services that retain data.")  # fmt: skip
    summary = (
        "Reasoning chains for stage-2 SFT of EHR-R1, made by `ehr-r1 build-reasoning` (docs/reasoning.md of the "
        "EHR-R1 release toolkit) from a built EHR-Ins folder: per-event concepts, task-wise co-occurrence (Lift), "
        "knowledge-graph relation paths, a teacher, and a quality filter."
    )
    lines = [
        "",
        "# EHR-Ins reasoning",
        "",
        summary,
        "",
        notice,
        "",
        "## Teacher",
        "",
    ]
    if teacher["kind"] == "template":
        lines.append(
            "- `template`: the offline **knowledge-path baseline**, not an LLM: Extraction cites the events holding "
            "the selected history concepts, Reasoning states the relation paths, Final Results lists the gold items "
            "those paths reach."
        )
    else:
        lines.append(
            f"- model: `{teacher['model']}` at `{teacher['url']}`; prompt variant `{teacher['variant']}`; "
            f"n={teacher['n']}, temperature={teacher['temperature']}"
        )
    lines += ["", "## Knowledge sources", "", "| source | relations | edges | licence |", "|---|---|---:|---|"]
    lines += [f"| {s['source']} | {s['relations']} | {s['edges']} | {s['licence']} |" for s in manifest["knowledge"]]
    lines += ["", "## Counts per task", "", "| task | samples | with graph | sent | kept | dropped (why) |",
              "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for task, c in manifest["counts"].items():
        why = ", ".join(f"{k}: {v}" for k, v in c["dropped"].items() if v) or "-"
        lines.append(f"| `{task}` | {c['samples']} | {c['with_graph']} | {c['selected']} | {c['kept']} | {why} |")
    lines += [
        "",
        "## Usage",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'ds = load_dataset("<this folder>", "reasoning", split="train")  # messages: system, user (/think), assistant',
        "```",
        "",
        f"Or mix into EHR-Ins: `ehr-r1 build-ins ... --reasoning-file <this folder>/{REASONING_JSONL}`.",
        "",
    ]
    return "\n".join(lines)


def _manifest(cfg: ReasoningConfig, result, all_edges: pl.DataFrame, ins) -> dict:
    teacher = {"kind": "template" if cfg.teacher.offline else "openai", "url": redact_url(cfg.teacher.url),
               "model": cfg.teacher.name, "variant": cfg.teacher.variant}  # fmt: skip
    if not cfg.teacher.offline:
        teacher.update(cfg.teacher.decoding())
    settings = cfg.to_dict()
    for private in ("ins", "output", "teacher_cache", "overwrite"):  # local paths and flags
        settings.pop(private, None)
    return {
        "command": COMMAND,
        "dataset": "ehr-ins-reasoning",
        "package_version": __version__,
        "input": {
            "folder": Path(ins.root).name,
            "manifest_sha256_16": quick_fingerprint(Path(ins.root) / layout.MANIFEST)[:16],
            "fingerprints": {str(p.relative_to(ins.root)): quick_fingerprint(p) for p in ins.files},
        },
        "teacher": teacher | result.teacher_stats,
        "knowledge": source_summary(all_edges),
        "umls": bool(cfg.umls_dir),
        "settings": settings,
        "samples": result.rows.height,
        "kept": int(result.rows["kept"].sum()),
        "paths": dict(result.paths.group_by("path_source").len().sort("path_source").iter_rows()),
        "counts": result.counts,
        "timings_s": result.timings,
    }


def write(folder: Path, cfg: ReasoningConfig, result, edges: pl.DataFrame, ins) -> dict:
    """Write everything into ``folder`` (a temporary folder the caller renames); returns the manifest."""
    rows = result.rows
    kept = rows.filter(pl.col("kept"))
    co = result.selected.select(
        src="history", rel=pl.lit("co_occurs_with"), dst="target", source=pl.lit("co-occurrence")
    ).unique(maintain_order=True)
    all_edges = pl.concat([edges.select("src", "rel", "dst", "source"), co])
    tables = {
        "reasoning": kept.drop("kept", "drop_reason"),
        "samples": rows.drop("messages"),
        "cooccurrence": result.selected,
        "knowledge_edges": all_edges,
    }
    for name in CONFIGS:
        _write(tables[name], folder / layout.config_file(name, SPLIT))
    with (folder / REASONING_JSONL).open("w", encoding="utf-8") as f:
        for idx, reasoning in kept.select("idx", "reasoning").iter_rows():
            f.write(json.dumps({"idx": idx, "reasoning": reasoning}, ensure_ascii=False) + "\n")
    manifest = _manifest(cfg, result, all_edges, ins)
    manifest["output_fingerprints"] = fingerprint_outputs(folder)
    (folder / layout.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    meta = front_matter(ins.card, kept.height)
    (folder / layout.CARD).write_text(layout.card_text(meta, _body(meta, manifest)))
    return manifest

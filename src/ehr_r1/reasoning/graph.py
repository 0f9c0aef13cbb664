# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Relation paths between (target, history) concept pairs on the knowledge graph (``docs/reasoning.md`` §1.5).

- Computed once per distinct concept pair (not per sample) with ``scipy.sparse.csgraph`` breadth-first search
  (``dijkstra`` with unit hops, ``limit = max_length``) from each distinct target, in batches; paths are read back
  from the predecessor matrix with vectorised numpy steps.
- The search runs on the part of the graph that can hold such paths: the concepts of the pairs and everything above
  them (``is_a``, ``grouped_in``, ``maps_to`` … point from specific to general; ``equivalent`` both ways), plus, for
  UMLS edges, which have no direction, the ball of ``ceil(max_length / 2)`` hops around them (exact for paths up to
  ``max_length``). Paths in the open graph therefore explain a pair through shared generalisations.
- The reference drops paths that take a relation and then its inverse (UMLS ``isa`` then ``inverse_isa``); the same
  rule applies here to the relation pairs in ``inverse`` (UMLS only: the open graph stores each edge once and walks it
  both ways). A dropped shortest path is replaced by the next of up to ``max_paths`` shortest simple paths.
- A pair without a knowledge path keeps its data-driven ``co_occurs_with`` edge (with its Lift).

A path is rendered node–relation–node from the history concept to the target concept, e.g.
``Essential (primary) hypertension --is_a--> Hypertensive diseases (I10-I1A) <--is_a-- Hypertensive heart disease``.
"""

import itertools
import logging
import math

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse import csgraph


logger = logging.getLogger(__name__)
UNDIRECTED_CLOSURE_SOURCES = ("umls",)
SYMMETRIC_RELATIONS = ("equivalent",)
CROSS_SYSTEM_RELATIONS = ("equivalent", "grouped_in", "synonym")
CROSS_SYSTEM_PENALTY = 1e-3
PATH_SCHEMA = {
    "target": pl.String,
    "history": pl.String,
    "path": pl.List(pl.String),
    "rendered": pl.String,
    "path_source": pl.String,
    "hops": pl.Int32,
}


class KnowledgeGraph:
    """An edge list (``src, rel, dst, source``) indexed for path search.

    Args:
        edges: knowledge edges; node identity is the case-folded name.
        inverse: relation → its inverse relation, for the reference's relation-then-inverse rule.
    """

    def __init__(self, edges: pl.DataFrame, inverse: dict[str, str] | None = None):
        edges = edges.with_columns(a=pl.col("src").str.to_lowercase(), b=pl.col("dst").str.to_lowercase())
        names = pl.concat([edges.select(key="a", name="src"), edges.select(key="b", name="dst")])
        self.nodes = names.group_by("key").agg(pl.col("name").min()).sort("key").with_row_index("id")
        ids = self.nodes.select("key", "id")
        edges = edges.join(ids.rename({"key": "a", "id": "u"}), on="a").join(
            ids.rename({"key": "b", "id": "v"}), on="b"
        )
        self.edges = edges.select("u", "v", "rel", "source").sort("u", "v", "rel", "source")
        self.inverse = inverse or {}
        self.n = self.nodes.height

    def ids(self, concepts: pl.Series) -> pl.DataFrame:
        """``concept, id`` for the concepts that are graph nodes."""
        frame = concepts.unique().to_frame("key")
        return frame.join(self.nodes.select("key", "id"), on="key").rename({"key": "concept"})

    # ---------------------------------------------------------------------------------------------------- subgraph
    def _closure(self, seeds: np.ndarray, max_length: int) -> np.ndarray:
        """Node ids that can lie on a path between seeds (see the module docstring)."""
        e = self.edges
        undirected = e["source"].is_in(UNDIRECTED_CLOSURE_SOURCES) | e["rel"].is_in(SYMMETRIC_RELATIONS)
        u, v, both = e["u"].to_numpy(), e["v"].to_numpy(), undirected.to_numpy()
        rows = np.concatenate([u, v[both]])
        cols = np.concatenate([v, u[both]])
        up = sp.csr_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(self.n, self.n))
        reached = np.zeros(self.n, dtype=bool)
        reached[seeds] = True
        frontier = reached.copy()
        for _ in range(64):  # hierarchy depth bound; stops when nothing new is reached
            nxt = (up.T @ frontier.astype(np.int8)) > 0
            nxt &= ~reached
            if not nxt.any():
                break
            reached |= nxt
            frontier = nxt
        if both.any():  # UMLS: undirected ball around the seeds
            sym = sp.csr_matrix((np.ones(both.sum(), np.int8), (u[both], v[both])), shape=(self.n, self.n))
            sym = sym + sym.T
            frontier = np.zeros(self.n, dtype=bool)
            frontier[seeds] = True
            for _ in range(math.ceil(max_length / 2)):
                nxt = ((sym @ frontier.astype(np.int8)) > 0) & ~reached
                reached |= nxt
                frontier = nxt
        return np.flatnonzero(reached)

    def _subgraph(self, keep: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        """Symmetric weighted adjacency of ``keep``: 1 per hop, a little more across code systems (ties prefer
        staying inside one hierarchy), the smallest weight where two nodes share several relations."""
        local = np.full(self.n, -1, dtype=np.int64)
        local[keep] = np.arange(len(keep))
        e = self.edges.with_columns(
            lu=pl.Series(local[self.edges["u"].to_numpy()]), lv=pl.Series(local[self.edges["v"].to_numpy()])
        ).filter((pl.col("lu") >= 0) & (pl.col("lv") >= 0))
        weight = pl.when(pl.col("rel").is_in(CROSS_SYSTEM_RELATIONS)).then(1.0 + CROSS_SYSTEM_PENALTY).otherwise(1.0)
        e = e.select(a=pl.min_horizontal("lu", "lv"), b=pl.max_horizontal("lu", "lv"), w=weight)
        e = e.group_by("a", "b").agg(pl.col("w").min())
        a, b, w = e["a"].to_numpy(), e["b"].to_numpy(), e["w"].to_numpy()
        rows, cols = np.concatenate([a, b]), np.concatenate([b, a])
        adj = sp.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(len(keep), len(keep)))
        return adj, local

    # -------------------------------------------------------------------------------------------------------- paths
    def shortest_paths(self, pairs: pl.DataFrame, max_length: int = 10, batch: int = 256) -> pl.DataFrame:
        """``target, history, nodes`` (global ids, history → target) for the pairs connected within ``max_length``."""
        empty = pl.DataFrame(schema={"target": pl.String, "history": pl.String, "nodes": pl.List(pl.UInt32)})
        t_ids = self.ids(pairs["target"]).rename({"concept": "target", "id": "t"})
        h_ids = self.ids(pairs["history"]).rename({"concept": "history", "id": "h"})
        known = pairs.select("target", "history").unique().join(t_ids, on="target").join(h_ids, on="history")
        if known.is_empty():
            return empty
        seeds = np.unique(np.concatenate([known["t"].to_numpy(), known["h"].to_numpy()]))
        keep = self._closure(seeds, max_length)
        adj, local = self._subgraph(keep)
        known = known.with_columns(
            lt=pl.Series(local[known["t"].to_numpy()]), lh=pl.Series(local[known["h"].to_numpy()])
        ).sort("lt", "lh")
        sources = np.unique(known["lt"].to_numpy())
        logger.debug("path search: %d pairs, %d targets, subgraph %d nodes", known.height, len(sources), len(keep))
        out = []
        for start in range(0, len(sources), batch):
            chunk = sources[start : start + batch]
            _, pred = csgraph.dijkstra(
                adj, directed=False, indices=chunk, limit=max_length + 0.5, return_predecessors=True
            )
            todo = known.filter(pl.col("lt").is_in(chunk))
            row = np.searchsorted(chunk, todo["lt"].to_numpy())
            out.append(_walk(pred, row, todo, keep, max_length))
        result = pl.concat(out) if out else empty
        return result.filter(pl.col("nodes").list.len() > 1)

    def relations(self, paths: pl.DataFrame) -> pl.DataFrame:
        """Add ``steps`` (list of struct rel, forward) to ``paths`` with ``nodes``: the relation of each hop."""
        steps = paths.select(
            "target", "history", a=pl.col("nodes").list.slice(0, pl.col("nodes").list.len() - 1),
            b=pl.col("nodes").list.slice(1),
        ).with_columns(step=pl.int_ranges(pl.col("a").list.len())).explode("a", "b", "step")  # fmt: skip
        first = self.edges.unique(["u", "v"], keep="first", maintain_order=True).select("u", "v", "rel")
        fwd = steps.join(first.rename({"u": "a", "v": "b"}), on=["a", "b"], how="left")
        back = first.rename({"u": "b", "v": "a", "rel": "rel_back"})
        both = fwd.join(back, on=["a", "b"], how="left")
        both = both.select(
            "target", "history", "step",
            rel=pl.coalesce("rel", "rel_back"), forward=pl.col("rel").is_not_null(),
        ).sort("target", "history", "step")  # fmt: skip
        rels = both.group_by("target", "history", maintain_order=True).agg(pl.struct("rel", "forward").alias("steps"))
        return paths.join(rels, on=["target", "history"], how="left")

    def paths(
        self, pairs: pl.DataFrame, max_length: int = 10, max_paths: int = 10, names: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Rendered paths for the distinct pairs of ``pairs`` (``target, history, lift``); see the module docstring.

        ``names`` (``concept, name``) spells the endpoints of ``co_occurs_with`` fallbacks as the data does.
        """
        distinct = pairs.select("target", "history", "lift").unique(["target", "history"]).sort("target", "history")
        found = self.relations(self.shortest_paths(distinct, max_length))
        if self.inverse and not found.is_empty():
            found = self._replace_inverse(found, max_length, max_paths)
        node_names = self.nodes.select(pl.col("id").cast(pl.UInt32), "name")
        rendered = _render(found, node_names) if not found.is_empty() else pl.DataFrame(schema=PATH_SCHEMA)
        missing = distinct.join(rendered, on=["target", "history"], how="anti")
        if names is not None:
            spell = names.select("concept", "name").unique("concept")
            missing = missing.join(spell.rename({"concept": "target", "name": "t_name"}), on="target", how="left")
            missing = missing.join(spell.rename({"concept": "history", "name": "h_name"}), on="history", how="left")
        t_name = pl.col("t_name").fill_null(pl.col("target")) if names is not None else pl.col("target")
        h_name = pl.col("h_name").fill_null(pl.col("history")) if names is not None else pl.col("history")
        fallback = missing.select(
            "target",
            "history",
            path=pl.concat_list(h_name, pl.lit("co_occurs_with"), t_name),
            rendered=pl.format("{} --co_occurs_with--> {} (lift {})", h_name, t_name, pl.col("lift").round(1)),
            path_source=pl.lit("co-occurrence"),
            hops=pl.lit(1, pl.Int32),
        )
        return pl.concat([rendered.select(PATH_SCHEMA.keys()), fallback]).sort("target", "history")

    def _bad(self, steps: list[dict]) -> bool:
        """Relation-then-inverse (``isa`` then ``inverse_isa``) anywhere on the path."""
        return any(self.inverse.get(a["rel"]) == b["rel"] for a, b in itertools.pairwise(steps))

    def _replace_inverse(self, found: pl.DataFrame, max_length: int, max_paths: int) -> pl.DataFrame:
        """Replace paths broken by the inverse rule with the next surviving shortest simple path (networkx)."""
        import networkx as nx

        bad = [i for i, steps in enumerate(found["steps"].to_list()) if self._bad(steps)]
        if not bad:
            return found
        graph = nx.Graph()
        graph.add_edges_from(zip(self.edges["u"].to_list(), self.edges["v"].to_list(), strict=True))
        nodes = found["nodes"].to_list()
        replaced = {}
        for i in bad:
            for cand in itertools.islice(nx.shortest_simple_paths(graph, nodes[i][0], nodes[i][-1]), max_paths):
                if len(cand) - 1 > max_length:
                    break
                probe = self.relations(found[i].with_columns(nodes=pl.Series([cand], dtype=pl.List(pl.UInt32))))
                if not self._bad(probe["steps"][0]):
                    replaced[i] = probe
                    break
        keep = found.with_row_index("_i").filter(~pl.col("_i").is_in(bad)).drop("_i")
        return pl.concat([keep, *replaced.values()]) if replaced else keep


def _walk(pred: np.ndarray, row: np.ndarray, todo: pl.DataFrame, keep: np.ndarray, max_length: int) -> pl.DataFrame:
    """Follow predecessors from each history node back to its target (vectorised over pairs)."""
    cur = todo["lh"].to_numpy().astype(np.int64)
    target = todo["lt"].to_numpy()
    chain = [cur.copy()]
    for _ in range(max_length):
        nxt = np.where(cur >= 0, pred[row, np.maximum(cur, 0)], -9999)
        nxt = np.where(cur == target, -9999, nxt)
        chain.append(nxt)
        cur = nxt
    steps = np.stack(chain, axis=1)
    ok = (steps == target[:, None]).any(axis=1)
    valid = steps >= 0
    globals_ = np.where(valid, keep[np.maximum(steps, 0)], -1)
    flat = globals_[ok][valid[ok]].astype(np.uint32)  # row-major: each path's nodes, history first
    lengths = valid[ok].sum(axis=1)
    nodes = pl.Series(flat).to_frame("n").with_columns(pair=pl.Series(np.repeat(np.arange(len(lengths)), lengths)))
    lists = nodes.group_by("pair", maintain_order=True).agg("n")["n"]
    return pl.DataFrame(
        {
            "target": todo["target"].filter(pl.Series(ok)),
            "history": todo["history"].filter(pl.Series(ok)),
            "nodes": lists.cast(pl.List(pl.UInt32)) if len(lists) else pl.Series([], dtype=pl.List(pl.UInt32)),
        }
    )


def _render(found: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """``path`` ([node, rel, node, …], with ``^rel`` for a relation walked backwards) and ``rendered`` text."""
    hops = found.select("target", "history", "nodes", "steps").with_columns(
        pos=pl.int_ranges(pl.col("nodes").list.len())
    )
    flat = hops.explode("nodes", "pos").join(names, left_on="nodes", right_on="id", how="left")
    flat = flat.with_columns(
        rel=pl.col("steps").list.get(pl.col("pos"), null_on_oob=True).struct.field("rel"),
        forward=pl.col("steps").list.get(pl.col("pos"), null_on_oob=True).struct.field("forward"),
    )
    arrow = pl.when(pl.col("forward")).then(pl.format(" --{}--> ", "rel")).otherwise(pl.format(" <--{}-- ", "rel"))
    token = pl.when(pl.col("forward")).then(pl.col("rel")).otherwise(pl.lit("^") + pl.col("rel"))
    flat = flat.sort("target", "history", "pos").with_columns(
        text=pl.col("name") + arrow.fill_null(""),
        pair=pl.concat_list(pl.col("name"), token).list.drop_nulls(),
    )
    return flat.group_by("target", "history", maintain_order=True).agg(
        path=pl.col("pair").list.explode(keep_nulls=False, empty_as_null=False),
        rendered=pl.col("text").str.join(""),
        path_source=pl.lit("knowledge"),
        hops=(pl.len() - 1).cast(pl.Int32),
    )

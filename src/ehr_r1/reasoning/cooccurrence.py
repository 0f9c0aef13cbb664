# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Task-wise co-occurrence statistics and Lift selection (``docs/reasoning.md`` §1.2).

Over the training samples of one decision-making task:

- ``N`` samples; ``n(c)`` samples whose target ∪ history concepts contain ``c``;
- ``n(t,h)`` samples with target concept ``t`` and history concept ``h``;
- ``Lift = n(t,h) · N / (n(t) · n(h))``; keep ``h`` when ``n(h) >= min_support`` and ``Lift > threshold``, then the
  ``top_k`` history concepts per target by Lift (ties: larger ``n(t,h)``, then name).

``n(t,h)`` for all pairs at once is one sparse product ``Tᵀ·H`` of the binary sample × concept matrices (concepts as
integer ids, `ConceptIds`); ``n(c)`` is one ``bincount``; thresholds and ranking are polars.
"""

import numpy as np
import polars as pl
import scipy.sparse as sp

from ehr_r1.reasoning.config import SelectionConfig


STATS_SCHEMA = {
    "task": pl.String,
    "target": pl.String,
    "history": pl.String,
    "n_th": pl.Int64,
    "n_t": pl.Int64,
    "n_h": pl.Int64,
    "N": pl.Int64,
    "lift": pl.Float64,
}


class ConceptIds:
    """Concept → ``UInt32`` id of one task, grown batch by batch: pairs are stored as two integers, not strings."""

    def __init__(self):
        self.frame = pl.DataFrame(schema={"concept": pl.String, "id": pl.UInt32})

    def encode(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """``row, id`` for ``pairs`` (``row, concept``), adding unseen concepts."""
        new = pairs.select("concept").unique().join(self.frame, on="concept", how="anti").sort("concept")
        if new.height:
            self.frame = pl.concat(
                [self.frame, new.with_row_index("id", offset=self.frame.height).select(self.frame.columns)]
            )
        return pairs.join(self.frame, on="concept").select("row", "id")

    def lookup(self, concepts: pl.DataFrame, column: str) -> pl.DataFrame:
        """``concepts`` with the id of ``column`` as ``<column>_id`` (concepts this task never saw are dropped)."""
        return concepts.join(self.frame.rename({"concept": column, "id": f"{column}_id"}), on=column)


def _matrix(pairs: pl.DataFrame, n_rows: int, n_cols: int) -> sp.csr_matrix:
    rows, cols = pairs["row"].to_numpy(), pairs["id"].to_numpy()
    data = np.ones(len(rows), dtype=np.int32)
    return sp.csr_matrix((data, (rows, cols)), shape=(n_rows, n_cols))


def task_statistics(
    task: str, n_samples: int, targets: pl.DataFrame, history: pl.DataFrame, ids: ConceptIds
) -> pl.DataFrame:
    """All (target, history) pairs of one task with ``n_th, n_t, n_h, N, lift`` (``h != t``).

    Args:
        task: task name (a column of the result).
        n_samples: ``N``; rows are numbered ``0 .. N-1``.
        targets, history: distinct ``row, id`` pairs (ids of ``ids``).
    """
    if targets.is_empty() or history.is_empty():
        return pl.DataFrame(schema=STATS_SCHEMA)
    size = ids.frame.height
    t_mat, h_mat = _matrix(targets, n_samples, size), _matrix(history, n_samples, size)
    n_c = np.asarray((t_mat + h_mat - t_mat.multiply(h_mat)).sum(axis=0)).ravel().astype(np.int64)  # |T ∪ H| per id
    t_ids = np.unique(targets["id"].to_numpy())
    counts = (t_mat.tocsc()[:, t_ids].T.tocsr() @ h_mat).tocoo()
    t, h = t_ids[counts.row], counts.col
    keep = t != h
    t, h, n_th = t[keep], h[keep], counts.data[keep].astype(np.int64)
    names = ids.frame.sort("id")["concept"]
    lift = n_th * float(n_samples) / (n_c[t] * n_c[h]).astype(np.float64)
    return pl.DataFrame(
        {
            "task": pl.Series([task], dtype=pl.String).new_from_index(0, len(t)),
            "target": names.gather(t),
            "history": names.gather(h),
            "n_th": n_th,
            "n_t": n_c[t],
            "n_h": n_c[h],
            "N": np.full(len(t), n_samples, dtype=np.int64),
            "lift": lift,
        },
        schema=STATS_SCHEMA,
    )


def select_pairs(stats: pl.DataFrame, cfg: SelectionConfig) -> pl.DataFrame:
    """Pairs kept by support, Lift threshold and top-k per (task, target), with their ``rank`` (1 = best)."""
    kept = stats.filter((pl.col("n_h") >= cfg.min_support) & (pl.col("lift") > cfg.lift_threshold))
    kept = kept.sort(["task", "target", "lift", "n_th", "history"], descending=[False, False, True, True, False])
    kept = kept.with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("task", "target"))
    return kept.filter(pl.col("rank") <= cfg.top_k)


def sample_pairs(
    selected: pl.DataFrame, targets: pl.DataFrame, history: pl.DataFrame, ids: ConceptIds, task: str | None = None
) -> pl.DataFrame:
    """``row, target, history, lift, rank`` for the selected pairs present in each sample (its thinking graph)."""
    sel = selected if task is None else selected.filter(pl.col("task") == task)
    sel = ids.lookup(ids.lookup(sel.select("target", "history", "lift", "rank"), "target"), "history")
    joined = targets.select("row", target_id="id").join(sel, on="target_id", how="inner")
    joined = joined.join(history.select("row", history_id="id"), on=["row", "history_id"], how="semi")
    return joined.select("row", "target", "history", "lift", "rank")

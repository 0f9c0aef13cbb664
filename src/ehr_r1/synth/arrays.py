# Copyright 2026 The EHR-R1 release toolkit contributors. Licensed under the Apache License, Version 2.0.
"""Vectorised helpers shared by the synthetic tables: segment / event / grid sampling over time windows, and
numpy → polars column builders (datetimes, nulls, picks from a vocabulary, MIMIC's text values)."""

import numpy as np
import polars as pl

from ehr_r1.synth.config import DAY, MINUTE


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts[i]`` children of parent ``i``: each child's parent index and its index within the parent."""
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(counts.size), counts)
    within = np.arange(parent.size) - (np.cumsum(counts) - counts)[parent]
    return parent, within


def _weights(w) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w / w.sum()


def _zipf(n: int, offset: float = 4.0) -> np.ndarray:
    """Rank-based weights: the first entries of a vocabulary list are the common ones."""
    return _weights(1.0 / (np.arange(n) + offset))


def _sample_sets(rng: np.random.Generator, weights: np.ndarray, counts: np.ndarray):
    """Weighted sampling without replacement, one set per row (Gumbel top-k).

    Returns ``(row, choice, rank)`` for every drawn element, rows in order and ranks 0..k-1 within a row.
    """
    w = np.asarray(weights, dtype=np.float64)
    counts = np.minimum(np.asarray(counts, dtype=np.int64), int((w > 0).sum()))
    with np.errstate(divide="ignore"):
        keys = np.log(w)[None, :] + rng.gumbel(size=(counts.size, w.size))
    order = np.argsort(-keys, axis=1, kind="stable")
    row, rank = np.nonzero(np.arange(w.size)[None, :] < counts[:, None])
    return row, order[row, rank], rank


def _events(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, per_day) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson process on each window [start, end): the window index and time of every event."""
    span = np.maximum(end - start, 0)
    n = rng.poisson(np.asarray(per_day, dtype=np.float64) * span / DAY)
    parent, _ = _segments(n)
    t = start[parent] + (rng.random(parent.size) * span[parent]).astype(np.int64)
    return parent, t


def _grid(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, every_s: float, jitter_s: int = 10 * MINUTE):
    """Regular charting times every ``every_s`` seconds inside each window, jittered; returns (window, time)."""
    every = max(int(every_s), MINUTE)
    n = np.maximum((end - start) // every, 0) + 1
    parent, k = _segments(n)
    t = start[parent] + k * every + rng.integers(0, jitter_s + 1, parent.size)
    keep = t < end[parent]
    return parent[keep], t[keep]


def _minute(t: np.ndarray) -> np.ndarray:
    return t - t % MINUTE


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _dt(t: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Epoch seconds → a polars Datetime column (null where ``valid`` is False)."""
    s = pl.Series((np.asarray(t, dtype=np.int64) * 1_000_000).view("datetime64[us]"))
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _date(t: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    return _dt(t, valid).dt.date()


def _day(t: np.ndarray) -> np.ndarray:
    """Midnight of the day of ``t`` (MIMIC writes date-only times as 00:00:00)."""
    return t - t % DAY


def _null_where(s: pl.Series, null: np.ndarray) -> pl.Series:
    if not null.any():
        return s
    return s.zip_with(pl.Series(~null), pl.repeat(None, s.len(), dtype=s.dtype, eager=True))


def _col(values, valid: np.ndarray | None = None, dtype=None) -> pl.Series:
    s = pl.Series(values, dtype=dtype)
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _pick(options, idx: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """``options[idx]`` as a polars column; ``options`` is a sequence or a polars Series."""
    src = options if isinstance(options, pl.Series) else pl.Series(list(options))
    s = src.gather(np.asarray(idx, dtype=np.int64))
    return s if valid is None else _null_where(s, ~np.asarray(valid, dtype=bool))


def _num_text(values: np.ndarray, decimals: np.ndarray) -> pl.Series:
    """A numeric value as MIMIC's text ``value`` column writes it: ``140``, ``4.2``, ``7.41``."""
    v = pl.Series(values, dtype=pl.Float64)
    as_int = v.round(0).cast(pl.Int64).cast(pl.String)
    return as_int.zip_with(pl.Series(np.asarray(decimals) == 0), v.cast(pl.String))


def _round(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    scale = 10.0 ** np.asarray(decimals, dtype=np.float64)
    return np.round(values * scale) / scale

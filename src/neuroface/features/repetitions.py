"""Repetitions cut from a recording's 3D landmark track, with short gaps filled and long ones refused.

A frame is missing when any landmark the features read (:data:`neuroface.features.USED_LANDMARKS`)
has no valid 3D position (tracking lost, or no depth). Interior gaps of at most ``max_gap`` frames
are interpolated linearly in time; gaps of at most ``max_gap`` frames at either end are trimmed
off. A repetition with a longer gap, or with more than ``max_missing`` of its frames missing, is
dropped with the reason, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroface.features import registry as ft
from neuroface.tracks import V_COLUMNS, points3d


class RepetitionDropped(ValueError):
    """A repetition too incomplete to measure; the message says why."""


@dataclass(frozen=True)
class GapPolicy:
    """Longest gap filled (frames) and the largest share of missing frames accepted."""

    max_gap: int = 3
    max_missing: float = 0.2


def missing_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of consecutive False values of ``valid`` ``(T,)``."""
    edges = np.flatnonzero(np.diff(np.r_[0, (~np.asarray(valid, bool)).astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def fill_gaps(
    points: np.ndarray, valid: np.ndarray, times: np.ndarray, policy: GapPolicy
) -> tuple[np.ndarray, np.ndarray, int]:
    """Points ``(T, 68, 3)`` with short gaps interpolated in time and short end gaps trimmed.

    ``valid`` ``(T,)`` marks complete frames, ``times`` ``(T,)`` any unit. Returns the points,
    their times and the number of interpolated frames; raises :class:`RepetitionDropped`.
    """
    valid = np.asarray(valid, bool)
    n = len(valid)
    n_missing = int(n - valid.sum())
    # the share itself, not n_missing > max_missing * n: 0.29 * 100 is 28.999999999999996 in floating point
    if n and n_missing / n > policy.max_missing:
        raise RepetitionDropped(f"{n_missing} of {n} frames missing (> {policy.max_missing:.0%})")
    runs = missing_runs(valid)
    longest = max((stop - start for start, stop in runs), default=0)
    if longest > policy.max_gap:
        raise RepetitionDropped(f"a gap of {longest} frames (> {policy.max_gap})")
    if not valid.any():  # with max_missing 1 and a repetition of at most max_gap frames, or no frames at all
        raise RepetitionDropped("no complete frame")
    first, last = (int(i) for i in np.flatnonzero(valid)[[0, -1]])
    points, valid, times = points[first : last + 1].copy(), valid[first : last + 1], times[first : last + 1]
    if not valid.all():
        flat = points.reshape(len(points), -1)
        for k in range(flat.shape[1]):
            flat[~valid, k] = np.interp(times[~valid], times[valid], flat[valid, k])
        points = flat.reshape(points.shape)
    return points, times, int((~valid).sum())


def complete_frames(points: np.ndarray) -> np.ndarray:
    """``(T,)`` True where every used landmark of ``(T, 68, 3)`` is finite."""
    return np.isfinite(points[:, ft.USED_LANDMARKS]).all(axis=(1, 2))


def track_from_table(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions ``(T,)``, timestamps ``(T,)`` ms, points ``(T, 68, 3)`` mm with NaN where invalid)
    from a reconstruction table (:func:`neuroface.reconstruct.reconstruct`)."""
    pts = points3d(table)
    pts[~table[V_COLUMNS].to_numpy(bool)] = np.nan
    return table["position"].to_numpy(np.int64), table["timestamp_ms"].to_numpy(np.float64), pts


def track_from_truth(truth: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same from a synthetic recording's ground truth (``landmarks_3d`` mm, every frame valid)."""
    pts = np.asarray(truth["landmarks_3d"], np.float64)
    return np.arange(1, len(pts) + 1), np.asarray(truth["timestamp_ms"], np.float64), pts


def recording_features(
    positions: np.ndarray,
    timestamps_ms: np.ndarray,
    points: np.ndarray,
    segments: pd.DataFrame,
    names: list[str],
    policy: GapPolicy,
) -> tuple[list[dict], list[dict]]:
    """Features of each repetition of one recording.

    ``segments``: the recording's rows of the segmentation (repetition, start, end: 1-based
    positions, inclusive). Returns (feature rows: repetition, frames, interpolated, features...;
    dropped rows: repetition, frames, reason).
    """
    ft.check_names(names)
    rows, dropped = [], []
    for seg in segments.itertuples():
        inside = (positions >= seg.start) & (positions <= seg.end)
        n = int(inside.sum())
        try:
            if n == 0:
                raise RepetitionDropped("no frames of the repetition in the track")
            pts, times, filled = fill_gaps(
                points[inside], complete_frames(points[inside]), timestamps_ms[inside], policy
            )
            values = ft.compute(ft.Repetition.from_camera(pts, times), names)
        except ValueError as why:  # RepetitionDropped, or too few frames for velocities
            dropped.append({"repetition": seg.repetition, "frames": n, "reason": str(why)})
            continue
        rows.append({"repetition": seg.repetition, "frames": n, "interpolated": filled, **values})
    return rows, dropped

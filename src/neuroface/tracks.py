"""Landmark track tables: one row per colour frame, the columns a tracker writes.

Columns: ``position`` (1-based), ``frame_number``, ``timestamp_ms``, ``status`` (detected,
tracked, lost), ``x0..x67`` / ``y0..y67`` (colour pixels, NaN when lost), ``c0..c67``
(per-landmark confidence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from neuroface import landmarks as lm

DETECTED, TRACKED, LOST = "detected", "tracked", "lost"
X_COLUMNS = [f"x{i}" for i in range(lm.N_LANDMARKS)]
Y_COLUMNS = [f"y{i}" for i in range(lm.N_LANDMARKS)]
C_COLUMNS = [f"c{i}" for i in range(lm.N_LANDMARKS)]
#: 3D landmark tables (neuroface.tracking.reconstruct): X0..X67, Y0..Y67, Z0..Z67 in mm, v0..v67 valid depth
P_COLUMNS = [f"{a}{i}" for a in "XYZ" for i in range(lm.N_LANDMARKS)]
V_COLUMNS = [f"v{i}" for i in range(lm.N_LANDMARKS)]


def median_smooth(track: pd.DataFrame, window: int = 5) -> pd.DataFrame:
    """Each landmark coordinate median-filtered over ``window`` consecutive frames.

    Lost frames stay NaN and split the track: the filter runs on each run of consecutive tracked
    frames (a dropped frame, a gap in frame numbers, does not split it), with the window clipped
    at the run's ends (nearest-value padding).
    """
    out = track.copy()
    values = track[X_COLUMNS + Y_COLUMNS].to_numpy(np.float64)
    valid = np.isfinite(values).all(axis=1)
    edges = np.flatnonzero(np.diff(np.r_[0, valid.astype(int), 0]))
    smoothed = np.full_like(values, np.nan)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        smoothed[start:stop] = median_filter(values[start:stop], size=(window, 1), mode="nearest")
    out[X_COLUMNS + Y_COLUMNS] = smoothed
    return out


def points(track: pd.DataFrame) -> np.ndarray:
    """``(T, 68, 2)`` landmarks of a track table."""
    return np.stack([track[X_COLUMNS].to_numpy(np.float64), track[Y_COLUMNS].to_numpy(np.float64)], axis=-1)


def track_table(
    frame_numbers: np.ndarray,
    timestamps_ms: np.ndarray,
    pts: np.ndarray,
    status: str = TRACKED,
    confidence: np.ndarray | None = None,
) -> pd.DataFrame:
    """A track table from arrays: ``pts`` ``(T, 68, 2)``, confidence ``(T, 68)`` (default 1)."""
    n = len(frame_numbers)
    conf = np.ones((n, lm.N_LANDMARKS)) if confidence is None else confidence
    data = {
        "position": np.arange(1, n + 1),
        "frame_number": np.asarray(frame_numbers),
        "timestamp_ms": np.asarray(timestamps_ms, dtype=np.float64),
        "status": [status] * n,
    }
    coords = np.concatenate([pts[..., 0], pts[..., 1], conf], axis=1)
    return pd.concat([pd.DataFrame(data), pd.DataFrame(coords, columns=X_COLUMNS + Y_COLUMNS + C_COLUMNS)], axis=1)


def points3d(table: pd.DataFrame) -> np.ndarray:
    """``(T, 68, 3)`` mm from a 3D landmark table."""
    return np.stack([table[[f"{a}{i}" for i in range(lm.N_LANDMARKS)]].to_numpy(np.float64) for a in "XYZ"], axis=-1)

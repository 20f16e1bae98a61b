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


def window_frames(window_s: float, fps: float) -> int:
    """The odd number of frames nearest to ``window_s`` seconds at ``fps`` (ties upward), at least 1.

    ``2 * floor(window_s * fps / 2) + 1``: the study's 5 frames at ~50 fps for 0.1 s, 3 at 30 fps,
    1 (no filtering) below 20 fps, where one frame already spans more than half the window.
    """
    if window_s < 0 or fps <= 0:
        raise ValueError(f"window must be >= 0 s and fps > 0, got {window_s} s at {fps} fps")
    return 2 * int(np.floor(window_s * fps / 2.0 + 1e-9)) + 1


def frame_rate(track: pd.DataFrame) -> float:
    """Frames per second of a track: the median timestamp step per frame-number step (dropped
    frames leave gaps in frame numbers and do not bias it). NaN with fewer than two frames."""
    numbers = track["frame_number"].to_numpy(np.float64)
    stamps = track["timestamp_ms"].to_numpy(np.float64)
    steps = np.diff(numbers)
    ok = steps > 0
    if not ok.any():
        return float("nan")
    return float(1000.0 / np.median(np.diff(stamps)[ok] / steps[ok]))


def median_smooth(track: pd.DataFrame, window_s: float = 0.1) -> pd.DataFrame:
    """Each landmark coordinate median-filtered over a window of ``window_s`` seconds.

    The window is a time (the study's 5 frames at ~50 fps = 0.1 s), turned into an odd frame
    count from the track's own frame rate (:func:`window_frames`, :func:`frame_rate`), so a
    recording at 5 fps is not filtered over a whole second. Lost frames stay NaN and split the
    track: the filter runs on each run of consecutive tracked frames (a dropped frame, a gap in
    frame numbers, does not split it), with the window clipped at the run's ends (nearest-value
    padding).
    """
    out = track.copy()
    fps = frame_rate(track)
    window = window_frames(window_s, fps) if np.isfinite(fps) else 1
    if window == 1:
        return out
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

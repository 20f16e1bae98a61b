"""Landmark track tables: one row per colour frame, the columns a tracker writes.

Columns: ``position`` (1-based), ``frame_number``, ``timestamp_ms``, ``status`` (detected,
tracked, lost), ``x0..x67`` / ``y0..y67`` (colour pixels, NaN when lost), ``c0..c67``
(per-landmark confidence).

Tracking and 3D reconstruction run one job per participant, so their files hold all of a participant's
recordings: each recording's rows under a leading ``recording_id`` column (:func:`stack_recordings`,
:func:`read_recordings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.errors import InputError

DETECTED, TRACKED, LOST = "detected", "tracked", "lost"
X_COLUMNS = [f"x{i}" for i in range(lm.N_LANDMARKS)]
Y_COLUMNS = [f"y{i}" for i in range(lm.N_LANDMARKS)]
C_COLUMNS = [f"c{i}" for i in range(lm.N_LANDMARKS)]
#: 3D landmark tables (neuroface.tracking.reconstruct): X0..X67, Y0..Y67, Z0..Z67 in mm, v0..v67 valid depth
P_COLUMNS = [f"{a}{i}" for a in "XYZ" for i in range(lm.N_LANDMARKS)]
V_COLUMNS = [f"v{i}" for i in range(lm.N_LANDMARKS)]
#: the column naming each row's recording in a participant's file
RECORDING = "recording_id"


def window_frames(window_s: float, fps: float) -> int:
    """The odd number of frames nearest to ``window_s`` seconds at ``fps`` (ties upward), at least 1.

    ``2 * floor(window_s * fps / 2) + 1``: the study's 5 frames at ~50 fps for 0.1 s, 3 at 20-30 fps,
    1 (no filtering) below 20 fps, where one frame already spans more than half the window. A tie
    (0.1 s at 20, 40 or 60 fps) is one whatever the timestamps' jitter: ``fps`` is measured
    (:func:`frame_rate`), and 20 fps comes out as 19.9993 or 20.0007 from one recording to the next,
    so a rate up to 0.5 % below a tie counts as the tie (the floor of ``1.005 * window_s * fps / 2``);
    without it about half the 20-fps recordings were filtered over 3 frames and the others not at all.
    """
    if window_s < 0 or fps <= 0:
        raise ValueError(f"window must be >= 0 s and fps > 0, got {window_s} s at {fps} fps")
    return 2 * int(np.floor(1.005 * window_s * fps / 2.0)) + 1


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
    frame numbers, does not split it), with the run's end values repeated to fill the window
    (nearest-value padding: a movement running into a run's end keeps its course, and a run's first
    and last values pass unfiltered).
    """
    from scipy.ndimage import median_filter  # here: most jobs read tracks without filtering (0.4 s of imports)

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


def stack_recordings(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One participant's per-recording tables as one: each table's rows, in the mapping's order, under a
    leading ``recording_id`` column (the inverse of :func:`split_recordings`)."""
    if not tables:
        raise ValueError("no recordings to stack")
    return pd.concat(
        [table.assign(**{RECORDING: recording})[[RECORDING, *table.columns]] for recording, table in tables.items()],
        ignore_index=True,
    )


def split_recordings(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Recording id -> its rows (index from 0, without ``recording_id``), in the order of the file."""
    return {
        recording: rows.drop(columns=RECORDING).reset_index(drop=True)
        for recording, rows in table.groupby(RECORDING, sort=False)
    }


def read_recordings(
    path: str | Path, recordings: Iterable[str] | None = None, columns: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Recording id -> table, from a participant's file; with ``recordings``, exactly those (an
    :class:`InputError` naming the file when one is missing), in that order."""
    table = pd.read_parquet(path, columns=None if columns is None else [RECORDING, *columns])
    if RECORDING not in table.columns:
        raise InputError(path, f"no {RECORDING} column: not a participant's track or 3D landmark file")
    tables = split_recordings(table)
    if recordings is None:
        return tables
    wanted = list(recordings)
    if missing := [r for r in wanted if r not in tables]:
        raise InputError(path, f"no rows of recording(s) {', '.join(missing)}; it holds {', '.join(tables) or 'none'}")
    return {r: tables[r] for r in wanted}

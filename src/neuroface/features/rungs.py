"""The signal ladder's landmark sources that involve no CNN (synthetic cohort only).

* R0 (:func:`motion_track`): the true 3D landmarks from the motion model sampled at
  :data:`R0_FPS` (the study's ~50 fps), with the true repetition boundaries: what the movements
  hold before any sampling.
* R1: the true 3D at the recording's frame rate (``truth/<recording>.npz``; read by
  :func:`neuroface.features.repetitions.track_from_truth`): what the demo's sampling keeps.
* R2 (:func:`true2d_track`): the true 2D landmarks pushed through exactly the models' path, the
  median filter in time (:func:`neuroface.tracks.median_smooth`, :func:`true2d_smoothed`), the
  depth lookup and the deprojection (:func:`neuroface.tracking.reconstruct.reconstruct_tracks`,
  in the same ``reconstruct_3d`` job and pass over the depth stream as the models' tracks): the
  fair ceiling of the models, what measurement costs without any landmark-detection error.

R3 and R4 (fine-tuned and pre-trained FAN) are the ``features`` rule's model sources.
The same motion is simulated for R0 as for the recording (the same seeded generator; the
motion model draws its keyframes in continuous time, so the frame rate changes only where the
movement is sampled).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuroface.realsense.bag import open_bag
from neuroface.synthetic.cohort import CohortPlan
from neuroface.synthetic.generate import recording_motion
from neuroface.tracking.reconstruct import reconstruct_tracks
from neuroface.tracks import median_smooth, track_table

__all__ = ["R0_FPS", "error_split", "motion_segments", "motion_track", "true2d_smoothed", "true2d_track"]

#: R0's frame rate: Toronto NeuroFace's ~50 fps.
R0_FPS = 50.0


def motion_track(
    plan: CohortPlan, recording_id: str, fps: float = R0_FPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(positions ``(T,)``, timestamps ``(T,)`` ms, true 3D ``(T, 68, 3)`` mm, segments) of one
    recording's motion sampled at ``fps``; segments: repetition, start, end (1-based, inclusive,
    the true boundaries)."""
    traj = recording_motion(plan, recording_id, fps=fps)
    n = len(traj.times_s)
    segments = pd.DataFrame(
        [(k, s + 1, e + 1) for k, (s, e) in enumerate(traj.repetitions, start=1)],
        columns=["repetition", "start", "end"],
    ).assign(recording_id=recording_id)
    return np.arange(1, n + 1), traj.times_s * 1000.0, np.asarray(traj.camera, np.float64), segments


def motion_segments(plan: CohortPlan, recording_ids: list[str], fps: float = R0_FPS) -> pd.DataFrame:
    """True repetition boundaries of ``recording_ids`` at ``fps`` (columns of a segmentation table)."""
    return pd.concat([motion_track(plan, r, fps)[3] for r in recording_ids], ignore_index=True)


def true2d_smoothed(truth: dict[str, np.ndarray], window_s: float) -> pd.DataFrame:
    """R2's 2D: a track table of the true 2D landmarks of a recording, median-filtered in time as
    the models' tracks are (the workflow reconstructs it in 3D in the models' own
    ``reconstruct_3d`` jobs, beside them)."""
    table = track_table(truth["frame_number"], truth["timestamp_ms"], np.asarray(truth["landmarks_2d"], np.float64))
    return median_smooth(table, window_s)


def true2d_track(
    bag: str | Path,
    truth: dict[str, np.ndarray],
    window_s: float,
    radius: int,
    tolerance_ms: float | None = None,
    backend: str = "rosbags",
    deprojection: str = "aligned",
) -> pd.DataFrame:
    """R2: the 3D landmark table (:func:`neuroface.tracking.reconstruct.reconstruct`'s columns)
    of the true 2D landmarks of a recording, median-filtered in time and read from its depth
    stream exactly as the models' tracks are (``deprojection`` as ``tracking.deprojection``)."""
    smoothed = true2d_smoothed(truth, window_s)
    return reconstruct_tracks(open_bag(bag, backend), {"true2d": smoothed}, radius, tolerance_ms, deprojection)[
        "true2d"
    ]


def error_split(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(bias, jitter) of one recording's landmark errors ``estimate - truth`` ``(T, L, D)``.

    Per landmark, the error's mean over frames is the recording's bias (a fixed offset, e.g. an
    annotation convention or a depth read on the wrong surface), and the RMS of what is left is
    the frame-to-frame jitter. Returned as the landmarks' mean bias length and the RMS jitter
    (same unit as the inputs); frames with any non-finite value are left out. NaN when none.
    """
    err = np.asarray(estimate, np.float64) - np.asarray(truth, np.float64)
    ok = np.isfinite(err).all(axis=(1, 2))
    if not ok.any():
        return float("nan"), float("nan")
    err = err[ok]
    mean = err.mean(axis=0)  # (L, D)
    bias = float(np.linalg.norm(mean, axis=1).mean())
    jitter = float(np.sqrt(np.mean(np.sum((err - mean) ** 2, axis=2))))
    return bias, jitter

"""Video-stage accuracy against the synthetic ground truth (the ``tracking_accuracy`` rule).

Per tracked recording: frames lost, the mean per-frame 2D NRMSE (:func:`neuroface.fan.accuracy.nrmse`)
over tracked frames, and the 3D point error of the reconstructed landmarks; then a summary per
model and group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuroface.fan.accuracy import Canthi, nrmse

__all__ = ["accuracy_summary", "track_errors"]


def track_errors(
    pred2d: np.ndarray, truth2d: np.ndarray, pred3d: np.ndarray, truth3d: np.ndarray, canthi: Canthi = "outer"
) -> dict[str, float]:
    """A tracked recording against ground truth: 2D ``(T, 68, 2)`` px, 3D ``(T, 68, 3)`` mm.

    Returns frames, share of frames lost (no landmarks), mean per-frame NRMSE (%) over tracked
    frames, median and 90th percentile of the 3D point error (mm) over landmarks with depth, and
    the share of tracked landmarks without valid depth.
    """
    tracked = np.isfinite(pred2d).all(axis=(1, 2))
    err3d = np.linalg.norm(pred3d[tracked] - truth3d[tracked], axis=-1)
    has_depth = np.isfinite(err3d)
    return {
        "frames": int(len(pred2d)),
        "lost_share": float(1.0 - tracked.mean()) if len(pred2d) else float("nan"),
        "nrmse_mean": float(nrmse(pred2d[tracked], truth2d[tracked], canthi).mean()) if tracked.any() else float("nan"),
        "error3d_median_mm": float(np.median(err3d[has_depth])) if has_depth.any() else float("nan"),
        "error3d_p90_mm": float(np.percentile(err3d[has_depth], 90)) if has_depth.any() else float("nan"),
        "no_depth_share": float(1.0 - has_depth.mean()) if has_depth.size else float("nan"),
    }


def accuracy_summary(per_recording: pd.DataFrame) -> pd.DataFrame:
    """Per model and group: recordings, frames, frame-weighted share lost, mean NRMSE, and the
    median over recordings of the 3D error's median and 90th percentile."""
    weighted = per_recording.assign(lost=per_recording["lost_share"] * per_recording["frames"])
    summary = (
        weighted.groupby(["model", "group"])
        .agg(
            recordings=("recording_id", "size"),
            frames=("frames", "sum"),
            lost=("lost", "sum"),
            nrmse_mean=("nrmse_mean", "mean"),
            error3d_median_mm=("error3d_median_mm", "median"),
            error3d_p90_mm=("error3d_p90_mm", "median"),
            no_depth_share=("no_depth_share", "mean"),
        )
        .reset_index()
    )
    summary["lost_share"] = summary.pop("lost") / summary["frames"]
    return summary

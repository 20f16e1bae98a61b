"""3D landmark trajectories: depth aligned to colour, read robustly at each landmark, deprojected.

For every colour frame with landmarks, the paired depth frame is aligned to the colour image as
librealsense's ``rs.align`` does (only around the face, which gives the same pixels there), the
depth at each landmark is the median of the valid pixels in a ``(2r + 1)^2`` window (invalid when
there are none), and the pixel is deprojected with the colour intrinsics (millimetres, colour
camera frame: x right, y down, z forward). :data:`DEPROJECTIONS`: ``aligned`` (the study's, METHOD
section 5) takes the aligned value, which is the depth camera's z, as the colour camera's z, ``exact``
converts it through the extrinsics first (:func:`~neuroface.realsense.geometry.deproject_aligned`).

Lip landmarks sit on an occluding edge: the inner lip contour (60-67) is the border between the
lip's front surface and the open mouth cavity 20-30 mm behind it, and the outer contour borders
the skin. A window centred on such a landmark holds pixels of both surfaces, and a plain median
takes the cavity's depth whenever more than half the window sees into the mouth. The landmark
belongs to the lip, the nearest surface at that edge, so for the mouth's landmarks
(:data:`FOREGROUND_LANDMARKS`) the depth is the median of the window's foreground: the valid
pixels within :data:`FOREGROUND_MM` of the window's 10th-percentile depth (a robust nearest
surface; the percentile keeps one noisy near pixel from defining it). On a smooth surface the
window's depth spread is well under that tolerance (a 5x5 window spans ~4 mm of face at 50 cm),
so the rule changes nothing away from edges.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.realsense import geometry
from neuroface.realsense.bag import BagReader, framesets
from neuroface.tracks import P_COLUMNS, V_COLUMNS, points, points3d

__all__ = [
    "DEPROJECTIONS",
    "FOREGROUND_LANDMARKS",
    "FOREGROUND_MM",
    "P_COLUMNS",
    "V_COLUMNS",
    "depth_at",
    "points3d",
    "reconstruct",
    "reconstruct_tracks",
]

#: How an aligned depth value becomes a point: as the colour camera's z (the study's ``rs.align`` and
#: ``rs2_deproject_pixel_to_point``), or converted from the depth camera's z through the extrinsics.
DEPROJECTIONS = ("aligned", "exact")
#: Landmarks read from the nearest surface in their window: the lips (outer and inner contours).
FOREGROUND_LANDMARKS = lm.MOUTH
#: Depth band (mm) behind the window's near surface that still counts as that surface.
FOREGROUND_MM = 6.0


def depth_at(
    aligned: np.ndarray,
    pixels: np.ndarray,
    radius: int = 2,
    foreground: np.ndarray | None = None,
    tolerance: float = 0.0,
) -> np.ndarray:
    """Median of the non-zero raw depth values in a window around each pixel ``(N, 2)``;
    NaN where the window has none or the pixel is outside the image. Returns ``(N,)`` float.

    ``foreground`` ``(N,)`` bool: for those pixels only the window's near surface counts, the
    valid values at most ``tolerance`` (raw units) beyond the window's 10th percentile.

    All windows at once: the windows (clipped to the image) are gathered into one array, and the
    medians and percentiles are numpy's own, taken over the windows with the same number of valid
    values together, so each equals ``np.median`` / ``np.percentile`` of that window alone.
    """
    h, w = aligned.shape
    out = np.full(len(pixels), np.nan)
    near = np.zeros(len(pixels), bool) if foreground is None else np.asarray(foreground, bool)
    with np.errstate(invalid="ignore"):  # NaN pixels: no window
        centre = np.round(np.asarray(pixels, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    inside = np.flatnonzero((centre[:, 0] >= 0) & (centre[:, 0] < w) & (centre[:, 1] >= 0) & (centre[:, 1] < h))
    if not len(inside):
        return out
    offsets = np.arange(-radius, radius + 1)
    ys = centre[inside, 1][:, None, None] + offsets[None, :, None]
    xs = centre[inside, 0][:, None, None] + offsets[None, None, :]
    in_image = ((ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)).reshape(len(inside), -1)
    values = aligned[np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)].reshape(len(inside), -1)
    valid = in_image & (values > 0)
    near_rows = near[inside]
    if near_rows.any():
        floor = _per_window(values[near_rows], valid[near_rows], lambda v: np.percentile(v, 10, axis=1))
        valid[near_rows] &= values[near_rows] <= (floor + tolerance)[:, None]
    out[inside] = _per_window(values, valid, lambda v: np.median(v, axis=1))
    return out


def _per_window(values: np.ndarray, valid: np.ndarray, statistic) -> np.ndarray:
    """``statistic`` (rows -> one value each) of each row's valid values; NaN for rows with none.
    Rows with the same number of valid values go through ``statistic`` together."""
    counts = valid.sum(axis=1)
    top = np.iinfo(values.dtype).max if values.dtype.kind in "ui" else np.inf
    ordered = np.sort(np.where(valid, values, top), axis=1)  # each row's valid values first
    result = np.full(len(values), np.nan)
    for k in np.unique(counts[counts > 0]):
        rows = counts == k
        result[rows] = statistic(ordered[rows, :k])
    return result


def reconstruct(
    reader: BagReader,
    track: pd.DataFrame,
    radius: int = 2,
    tolerance_ms: float | None = None,
    deprojection: str = "aligned",
) -> pd.DataFrame:
    """3D landmarks for a (median-filtered) 2D track of the same recording.

    Returns position, frame_number, timestamp_ms, X0..X67, Y0..Y67, Z0..Z67 (mm) and v0..v67
    (True where the landmark has valid depth).
    """
    return reconstruct_tracks(reader, {"track": track}, radius, tolerance_ms, deprojection)["track"]


def reconstruct_tracks(
    reader: BagReader,
    tracks: Mapping[str, pd.DataFrame],
    radius: int = 2,
    tolerance_ms: float | None = None,
    deprojection: str = "aligned",
) -> dict[str, pd.DataFrame]:
    """:func:`reconstruct` for several tracks of one recording (e.g. one per model), decoding it once."""
    if deprojection not in DEPROJECTIONS:
        raise ValueError(f"deprojection must be one of {DEPROJECTIONS}, got {deprojection!r}")
    rec = reader.recording
    by_position = {name: track.set_index("position") for name, track in tracks.items()}
    pts2d = {name: points(track) for name, track in tracks.items()}
    rows: dict[str, list] = {name: [] for name in tracks}
    foreground = np.isin(np.arange(lm.N_LANDMARKS), FOREGROUND_LANDMARKS)
    names = list(tracks)
    for position, color, depth in framesets(reader, tolerance_ms):
        xyz = dict.fromkeys(names, np.full((lm.N_LANDMARKS, 3), np.nan))
        found = []
        for name in names:
            if by_position[name].at[position, "frame_number"] != color.frame_number:
                raise ValueError(f"{rec.path}: track {name} and recording disagree at position {position}")
            if depth is not None and np.isfinite(pts2d[name][position - 1]).all():
                found.append(name)
        if found:  # one alignment around every model's face, one depth lookup and deprojection for all
            p = np.concatenate([pts2d[name][position - 1] for name in found])
            box = np.concatenate([p.min(axis=0), p.max(axis=0)]) + np.array([-1, -1, 1, 1]) * (radius + 2)
            roi = geometry.depth_roi_for(box, rec.depth.intrinsics, rec.depth_to_color, rec.color.intrinsics)
            aligned = geometry.align_depth_to_color(
                depth.data, rec.depth_scale, rec.depth.intrinsics, rec.depth_to_color, rec.color.intrinsics, roi
            )
            near = np.tile(foreground, len(found))
            raw = depth_at(aligned, p, radius, near, FOREGROUND_MM / (rec.depth_scale * 1000.0))
            z_mm = raw * rec.depth_scale * 1000.0
            if deprojection == "exact":
                deprojected = geometry.deproject_aligned(p, z_mm, rec.color.intrinsics, rec.depth_to_color)
            else:
                deprojected = geometry.deproject(p, z_mm, rec.color.intrinsics).astype(np.float64)
            xyz.update(zip(found, deprojected.reshape(len(found), lm.N_LANDMARKS, 3), strict=True))
        for name in names:
            rows[name].append(
                (
                    position,
                    color.frame_number,
                    color.timestamp_ms,
                    *xyz[name].T.ravel(),
                    *np.isfinite(xyz[name]).all(axis=1),
                )
            )
    columns = ["position", "frame_number", "timestamp_ms", *P_COLUMNS, *V_COLUMNS]
    return {name: pd.DataFrame(r, columns=columns) for name, r in rows.items()}

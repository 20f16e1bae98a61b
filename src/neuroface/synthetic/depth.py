"""Depth images of a synthetic face: a triangulated head surface seen by the depth camera.

The surface is the 68 landmarks plus a ring of head points (forehead, temples, cheeks, neck)
placed in the face's own frame, so the landmarks lie exactly on it; the open mouth is a cavity
behind the lips; the background is a wall. Noise grows with distance squared as in stereo
depth sensors, and a few pixels are holes (0).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from scipy.spatial import Delaunay

from neuroface import landmarks as lm
from neuroface.realsense import geometry
from neuroface.realsense.camera import Extrinsics, Intrinsics

#: Head points beyond the landmarks, in units of the outer eye-corner distance, in the face
#: frame (x along 36->45, y down the face, z away from the camera; origin between 39 and 42).
_HEAD_RING = np.array(
    [
        [-1.05, -1.05, 0.75],
        [-0.6, -1.35, 0.45],
        [0.0, -1.45, 0.35],
        [0.6, -1.35, 0.45],
        [1.05, -1.05, 0.75],
        [-1.2, -0.35, 0.9],
        [1.2, -0.35, 0.9],
        [-1.15, 0.5, 0.95],
        [1.15, 0.5, 0.95],
        [-0.8, 1.6, 0.8],
        [0.0, 1.75, 0.6],
        [0.8, 1.6, 0.8],
        [-0.45, 2.2, 0.7],
        [0.45, 2.2, 0.7],
    ]
)
_CAVITY_DEPTH = 0.3  # mouth cavity this many eye-distances behind the inner lips


@dataclass(frozen=True)
class DepthScene:
    """Depth sensor and scene constants for one recording."""

    intrinsics: Intrinsics
    color_to_depth: Extrinsics
    depth_scale: float = 0.001  # metres per unit
    wall_mm: float = 1400.0
    noise_at_500mm: float = 0.8  # mm, standard deviation; grows with (z / 500 mm)^2
    hole_fraction: float = 0.01


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Origin ``(3,)``, rotation ``(3, 3)`` (columns = face axes) and outer eye distance (mm)."""
    origin = 0.5 * (points[lm.INNER_EYE_R] + points[lm.INNER_EYE_L])
    x = points[lm.OUTER_EYE_L] - points[lm.OUTER_EYE_R]
    iod = float(np.linalg.norm(x))
    x = x / iod
    down = points[lm.CHIN] - origin
    y = down - x * (down @ x)
    y /= np.linalg.norm(y)
    return origin, np.stack([x, y, np.cross(x, y)], axis=1), iod


def head_points(points: np.ndarray) -> np.ndarray:
    """Landmarks ``(68, 3)`` mm followed by the head ring, in the same frame."""
    origin, axes, iod = face_frame(points)
    return np.vstack([points, origin + (_HEAD_RING * iod) @ axes.T])


@cache
def _triangles(template_key: bytes) -> np.ndarray:
    template = np.frombuffer(template_key).reshape(-1, 3)
    tri = Delaunay(template[:, :2]).simplices
    inner = set(lm.INNER_LIPS)
    return tri[~np.all(np.isin(tri, list(inner)), axis=1)]  # the mouth opening is not skin


def triangles(neutral: np.ndarray) -> np.ndarray:
    """Triangles ``(F, 3)`` over :func:`head_points` of a neutral face (computed once per face)."""
    origin, axes, _ = face_frame(neutral)
    local = (head_points(neutral) - origin) @ axes
    return _triangles(np.ascontiguousarray(local).tobytes())


def render_depth(
    points_color_mm: np.ndarray, tris: np.ndarray, scene: DepthScene, rng: np.random.Generator
) -> np.ndarray:
    """Depth frame ``(H, W) uint16`` (raw units) of a face whose landmarks are ``points_color_mm``
    ``(68, 3)`` in the colour camera frame."""
    intr = scene.intrinsics
    pts = head_points(points_color_mm)
    cav_origin, axes, iod = face_frame(points_color_mm)
    inner = points_color_mm[list(lm.INNER_LIPS)]
    cavity = inner.mean(axis=0) + axes[:, 2] * _CAVITY_DEPTH * iod
    verts = np.vstack([pts, cavity])
    n = len(pts)
    cavity_tris = np.array([[lm.INNER_LIPS[i], lm.INNER_LIPS[(i + 1) % 8], n] for i in range(8)])
    all_tris = np.vstack([tris, cavity_tris])
    verts_d = geometry.transform(verts / 1000.0, scene.color_to_depth).astype(np.float64) * 1000.0
    pix = geometry.project(verts_d, intr).astype(np.float64)
    rows = np.arange(intr.height, dtype=np.float32)[:, None]
    wall = scene.wall_mm + np.float32(0.15) * (rows - intr.height / 2)  # a slightly tilted wall, one value per row
    z = np.broadcast_to(wall, (intr.height, intr.width)).copy()
    _rasterise(z, pix, verts_d[:, 2], all_tris)
    z += (
        rng.standard_normal(z.shape, dtype=np.float32) * np.float32(scene.noise_at_500mm) * (z / np.float32(500.0)) ** 2
    )
    raw = np.round(z / np.float32(scene.depth_scale * 1000.0))
    raw[rng.random(raw.shape, dtype=np.float32) < scene.hole_fraction] = 0
    return np.clip(raw, 0, 65535).astype(np.uint16)


def _rasterise(zbuf: np.ndarray, pix: np.ndarray, depth: np.ndarray, tris: np.ndarray) -> None:
    """Draw triangles into ``zbuf`` (mm, float32), depth interpolated linearly in the image.

    Painter's algorithm: triangles are filled far to near into an id map (OpenCV's polygon
    fill), then each covered pixel takes its triangle's depth plane.
    """
    h, w = zbuf.shape
    corners = pix[tris]  # (F, 3, 2)
    ones = np.ones((len(tris), 3, 1))
    system = np.concatenate([corners, ones], axis=2)  # rows (x, y, 1) per corner
    ok = np.abs(np.linalg.det(system)) > 1e-6
    planes = np.zeros((len(tris) + 1, 3))
    planes[1:][ok] = np.linalg.solve(system[ok], depth[tris][ok][..., None])[..., 0]  # z = a x + b y + c
    ids = np.zeros((h, w), dtype=np.int32)
    order = np.argsort(-depth[tris].mean(axis=1))
    fixed = np.round(corners * 16).astype(np.int32)  # 4 fractional bits
    for t in order[ok[order]]:
        cv2.fillConvexPoly(ids, fixed[t], int(t) + 1, lineType=cv2.LINE_8, shift=4)
    ys, xs = np.nonzero(ids)
    p = planes[ids[ys, xs]]
    zbuf[ys, xs] = (p[:, 0] * xs + p[:, 1] * ys + p[:, 2]).astype(np.float32)

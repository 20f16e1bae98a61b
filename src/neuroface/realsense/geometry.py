"""Vectorised librealsense geometry (``rsutil.h`` and the CPU ``align`` block), float32 like the SDK.

Conventions: pixels ``(..., 2)`` as (x, y) with integer pixel centres; points ``(..., 3)`` in the
stream's camera frame (x right, y down, z forward), in the unit of the depth passed in.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics

_F32 = np.float32
_EPS = np.finfo(np.float32).eps


def project(points: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """``rs2_project_point_to_pixel``: ``(..., 3)`` points -> ``(..., 2)`` float32 pixels."""
    p = np.asarray(points, dtype=_F32)
    return np.stack(_project_xyz(p[..., 0], p[..., 1], p[..., 2], intr), axis=-1)


def _project_xyz(px: np.ndarray, py: np.ndarray, pz: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project` on the points' float32 coordinates apart: pixel x and pixel y."""
    c = np.asarray(intr.coeffs, dtype=_F32)
    x = px / pz
    y = py / pz
    model = Distortion(intr.model)
    if model in (Distortion.MODIFIED_BROWN_CONRADY, Distortion.INVERSE_BROWN_CONRADY):
        r2 = x * x + y * y
        f = 1 + c[0] * r2 + c[1] * r2 * r2 + c[4] * r2 * r2 * r2
        x = x * f
        y = y * f
        x, y = (x + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x), y + 2 * c[3] * x * y + c[2] * (r2 + 2 * y * y))
    elif model == Distortion.BROWN_CONRADY:
        x, y = _brown_conrady(x, y, c)
    elif model == Distortion.FTHETA:
        r = np.maximum(np.sqrt(x * x + y * y), _EPS)
        rd = (1.0 / c[0] * np.arctan(2 * r * np.tan(c[0] / _F32(2)))).astype(_F32)
        x, y = x * rd / r, y * rd / r
    elif model == Distortion.KANNALA_BRANDT4:
        r = np.maximum(np.sqrt(x * x + y * y), _EPS)
        theta = np.arctan(r)
        t2 = theta * theta
        rd = theta * (1 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3]))))
        x, y = x * rd / r, y * rd / r
    return x * _F32(intr.fx) + _F32(intr.ppx), y * _F32(intr.fy) + _F32(intr.ppy)


def _brown_conrady(x: np.ndarray, y: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Brown-Conrady polynomial on normalised float32 coordinates: radial ``1 + k1 r^2 + k2 r^4 + k3 r^6``
    and tangential terms of the same ``x``, ``y`` (``c`` = k1, k2, p1, p2, k3), in librealsense's order of
    operations."""
    r2 = x * x + y * y
    f = 1 + c[0] * r2 + c[1] * r2 * r2 + c[4] * r2 * r2 * r2
    return x * f + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x), y * f + 2 * c[3] * x * y + c[2] * (r2 + 2 * y * y)


def deproject(pixels: np.ndarray, depth: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """``rs2_deproject_pixel_to_point``: pixels ``(..., 2)`` and depth ``(...)`` -> points ``(..., 3)``.

    The result is in the unit of ``depth`` (pass metres or millimetres), float32.
    Forward-distorted (Modified Brown-Conrady) streams cannot be deprojected, as in librealsense.
    """
    model = Distortion(intr.model)
    if model == Distortion.MODIFIED_BROWN_CONRADY:
        raise ValueError("cannot deproject from a forward-distorted (Modified Brown-Conrady) image")
    px = np.asarray(pixels, dtype=_F32)
    d = np.asarray(depth, dtype=_F32)
    c = np.asarray(intr.coeffs, dtype=_F32)
    x = (px[..., 0] - _F32(intr.ppx)) / _F32(intr.fx)
    y = (px[..., 1] - _F32(intr.ppy)) / _F32(intr.fy)
    if model in (Distortion.INVERSE_BROWN_CONRADY, Distortion.BROWN_CONRADY):
        x0, y0 = x, y
        for _ in range(10):  # librealsense's fixed iteration count
            r2 = x * x + y * y
            icdist = _F32(1) / (1 + ((c[4] * r2 + c[1]) * r2 + c[0]) * r2)
            if model == Distortion.INVERSE_BROWN_CONRADY:
                xq, yq = x / icdist, y / icdist
            else:
                xq, yq = x, y
            dx = 2 * c[2] * xq * yq + c[3] * (r2 + 2 * xq * xq)
            dy = 2 * c[3] * xq * yq + c[2] * (r2 + 2 * yq * yq)
            x = (x0 - dx) * icdist
            y = (y0 - dy) * icdist
    elif model == Distortion.KANNALA_BRANDT4:
        rd = np.maximum(np.sqrt(x * x + y * y), _EPS)
        theta = rd.copy()
        for _ in range(4):
            t2 = theta * theta
            f = theta * (1 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3])))) - rd
            df = 1 + t2 * (3 * c[0] + t2 * (5 * c[1] + t2 * (7 * c[2] + 9 * t2 * c[3])))
            theta = np.where(np.abs(f) < _EPS, theta, theta - f / df)
        r = np.tan(theta)
        x, y = x * r / rd, y * r / rd
    elif model == Distortion.FTHETA:
        rd = np.maximum(np.sqrt(x * x + y * y), _EPS)
        r = (np.tan(c[0] * rd) / np.arctan(2 * np.tan(c[0] / _F32(2)))).astype(_F32)
        x, y = x * r / rd, y * r / rd
    return np.stack([d * x, d * y, d], axis=-1).astype(_F32)


def deproject_aligned(
    pixels: np.ndarray, depth_mm: np.ndarray, color_intr: Intrinsics, depth_to_color: Extrinsics
) -> np.ndarray:
    """Colour pixels ``(..., 2)`` and their *aligned* depth ``(...)`` (mm) -> the points ``(..., 3)`` (mm, colour
    camera frame) that the depth camera measured there.

    :func:`align_depth_to_color`, like librealsense's ``align`` block, stores at each colour pixel the depth
    camera's z of the point it saw, not the colour camera's. :func:`deproject` with the colour intrinsics takes that
    value as the colour camera's z, which puts the point ``t_z`` off along its ray when the depth-to-colour
    translation ``t`` has a z component (about 4 mm on an SR300). Here the point is the one on the pixel's colour ray
    ``P = s r`` (``r`` the ray at z = 1) whose depth-camera z is the stored ``d``: with ``P = R P_d + t`` (``R``,
    ``t`` of ``depth_to_color``), ``z_d = c . (P - t)`` for ``c = R[:, 2]``, so ``s = (d + c . t) / (c . r)``.
    NaN depth gives NaN points. Float64. For a Brown-Conrady or Inverse Brown-Conrady colour stream librealsense's
    ``align`` (and :func:`align_depth_to_color`) projects without the distortion, so with non-zero coefficients the
    aligned pixel is not exactly on the ray :func:`deproject` inverts, here as in the plain deprojection."""
    rays = deproject(pixels, np.ones(np.shape(depth_mm), dtype=_F32), color_intr).astype(np.float64)
    axis = np.asarray(depth_to_color.rotation, dtype=np.float64)[:, 2]  # the depth camera's z axis, colour frame
    offset = float(axis @ (np.asarray(depth_to_color.translation, dtype=np.float64) * 1000.0))
    scale = (np.asarray(depth_mm, dtype=np.float64) + offset) / (rays @ axis)
    return rays * scale[..., None]


def transform(points: np.ndarray, extr: Extrinsics) -> np.ndarray:
    """``rs2_transform_point_to_point`` on ``(..., 3)`` points (translation in metres: scale the
    points to metres first, or the extrinsics to the points' unit). Returns float32."""
    p = np.asarray(points, dtype=_F32)
    return np.stack(_transform_xyz(p[..., 0], p[..., 1], p[..., 2], extr), axis=-1)


def _transform_xyz(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, extr: Extrinsics
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`transform` on the points' float32 coordinates apart: the moved x, y and z."""
    rot = extr.rotation.astype(_F32)
    t = extr.translation.astype(_F32)
    return tuple(x * rot[k, 0] + y * rot[k, 1] + z * rot[k, 2] + t[k] for k in range(3))  # type: ignore[return-value]


def align_depth_to_color(
    depth: np.ndarray,
    depth_scale: float,
    depth_intr: Intrinsics,
    depth_to_color: Extrinsics,
    color_intr: Intrinsics,
    depth_roi: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Depth image re-sampled onto the colour image, pixel for pixel as ``rs.align(rs.stream.color)``.

    Each valid depth pixel's footprint (corners at -0.5 and +0.5 px) is deprojected with the
    depth intrinsics, moved by the extrinsics and projected into the colour image; the covered
    colour pixels (clipped to the image) receive its raw value, the nearest winning where several
    land on one pixel. As in librealsense's align (checked against pyrealsense2 2.59's x86 build,
    whose align block has its own SIMD geometry), the corners are truncated after adding 0.5 px; a
    Brown-Conrady or Inverse Brown-Conrady colour stream is projected without its distortion; a
    Brown-Conrady depth stream is deprojected without its distortion, and an Inverse Brown-Conrady one
    with one pass of the polynomial (:func:`_footprint_rays`), not :func:`deproject`'s ten iterations.
    With zero coefficients (D400 depth, most colour streams) all of these are the plain pinhole.
    ``depth`` ``(Hd, Wd)`` uint16 raw units, ``depth_scale`` metres per unit; returns
    ``(Hc, Wc)`` uint16 raw units, 0 = no data. ``depth_roi`` (x0, y0, x1, y1, exclusive end)
    restricts the work to those depth pixels; colour pixels fed only from inside it come out as
    in the full alignment (see :func:`depth_roi_for`).
    """
    raw = np.asarray(depth)
    if raw.dtype != np.uint16 or raw.shape != (depth_intr.height, depth_intr.width):
        raise ValueError(
            f"depth must be uint16 of shape {(depth_intr.height, depth_intr.width)}, got {raw.dtype} {raw.shape}"
        )
    target = color_intr
    if Distortion(color_intr.model) in (Distortion.INVERSE_BROWN_CONRADY, Distortion.BROWN_CONRADY):
        target = replace(color_intr, model=Distortion.NONE)
    left, top, right, bottom = (0, 0, raw.shape[1], raw.shape[0]) if depth_roi is None else depth_roi
    window = raw[top:bottom, left:right]
    valid = window != 0  # row-major order of the valid pixels, as np.nonzero
    values = window[valid].astype(np.int32)
    z = values.astype(_F32) * _F32(depth_scale)
    corners = []
    for offset in (-0.5, 0.5):
        rx, ry = _footprint_rays(depth_intr, offset)[:, top:bottom, left:right]  # deproject(pixel + offset, 1)
        moved = _transform_xyz(z * rx[valid], z * ry[valid], z, depth_to_color)  # deproject(pixel + offset, z)
        corners.append([np.trunc(v + _F32(0.5)).astype(np.int64) for v in _project_xyz(*moved, target)])
    (x0, y0), (x1, y1) = corners  # static_cast<int>(v + 0.5f) of each footprint corner
    width, height = color_intr.width, color_intr.height
    x0, y0 = np.maximum(x0, 0), np.maximum(y0, 0)  # each footprint clipped to the image
    x1, y1 = np.minimum(x1, width - 1), np.minimum(y1, height - 1)
    lands = (x0 <= x1) & (y0 <= y1)
    x0, y0, values = x0[lands], y0[lands], values[lands]
    span_x, span_y = x1[lands] - x0, y1[lands] - y0
    big = np.iinfo(np.int32).max
    out = np.full(width * height, big, dtype=np.int32)
    first = y0 * width + x0
    for dy in range(int(span_y.max(initial=-1)) + 1):
        for dx in range(int(span_x.max(initial=-1)) + 1):
            covers = (span_x >= dx) & (span_y >= dy)  # footprints that reach column x0 + dx, row y0 + dy
            np.minimum.at(out, first[covers] + (dy * width + dx), values[covers])  # the nearest wins
    out[out == big] = 0
    return out.astype(np.uint16).reshape(height, width)


@lru_cache(maxsize=8)
def _footprint_rays(intr: Intrinsics, offset: float) -> np.ndarray:
    """Every pixel's footprint corner ``(x + offset, y + offset)`` deprojected at depth 1 as librealsense's
    align block deprojects it: ``(2, H, W)`` float32 (x, y) of the ray, computed once per stream. Brown-Conrady
    depth streams without their distortion; Inverse Brown-Conrady ones with one pass of the polynomial
    (:func:`_brown_conrady` on the pinhole point), where ``rs2_deproject_pixel_to_point`` iterates; other models
    as :func:`deproject`. Rays are scaled by the depth last (``d * x``, ``d * y``), so ``z * ray`` is bit for bit
    the point at depth ``z``."""
    ys, xs = np.mgrid[0 : intr.height, 0 : intr.width].astype(_F32)
    model = Distortion(intr.model)
    if model == Distortion.INVERSE_BROWN_CONRADY:  # the polynomial applied once to the pinhole point
        x = (xs + _F32(offset) - _F32(intr.ppx)) / _F32(intr.fx)
        y = (ys + _F32(offset) - _F32(intr.ppy)) / _F32(intr.fy)
        ray = np.stack(_brown_conrady(x, y, np.asarray(intr.coeffs, dtype=_F32)))
    else:
        if model == Distortion.BROWN_CONRADY:
            intr = replace(intr, model=Distortion.NONE)
        pix = np.stack([xs + _F32(offset), ys + _F32(offset)], axis=-1)
        ray = np.moveaxis(deproject(pix, np.ones(ys.shape, _F32), intr)[..., :2], -1, 0)
    ray = np.ascontiguousarray(ray.astype(_F32))
    ray.flags.writeable = False
    return ray


def depth_roi_for(
    color_box: np.ndarray,
    depth_intr: Intrinsics,
    depth_to_color: Extrinsics,
    color_intr: Intrinsics,
    z_range_m: tuple[float, float] = (0.1, 3.0),
    margin: int = 3,
) -> tuple[int, int, int, int]:
    """Depth pixels that can land in a colour box (x0, y0, x1, y1) for depths in ``z_range_m``.

    The box's corners are deprojected at both depth limits, moved into the depth camera and
    projected; the bounding box of those points, grown by ``margin`` pixels and clipped to the
    image, is returned (x0, y0, x1, y1 with exclusive end).
    """
    x0, y0, x1, y1 = np.asarray(color_box, dtype=np.float64)
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64)
    color_model = (
        replace(color_intr, model=Distortion.NONE)
        if Distortion(color_intr.model)
        in (Distortion.MODIFIED_BROWN_CONRADY, Distortion.INVERSE_BROWN_CONRADY, Distortion.BROWN_CONRADY)
        else color_intr
    )
    pts = np.concatenate([deproject(corners, np.full(4, z), color_model) for z in z_range_m])
    pix = project(transform(pts, depth_to_color.inverse()), depth_intr)
    lo = np.floor(pix.min(axis=0)).astype(int) - margin
    hi = np.ceil(pix.max(axis=0)).astype(int) + margin + 1
    return (
        max(int(lo[0]), 0),
        max(int(lo[1]), 0),
        min(int(hi[0]), depth_intr.width),
        min(int(hi[1]), depth_intr.height),
    )

"""Vectorised librealsense geometry (``rsutil.h`` and the CPU ``align`` block), float32 like the SDK.

Conventions: pixels ``(..., 2)`` as (x, y) with integer pixel centres; points ``(..., 3)`` in the
stream's camera frame (x right, y down, z forward), in the unit of the depth passed in.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics

_F32 = np.float32
_EPS = np.finfo(np.float32).eps


def project(points: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """``rs2_project_point_to_pixel``: ``(..., 3)`` points -> ``(..., 2)`` float32 pixels."""
    p = np.asarray(points, dtype=_F32)
    c = np.asarray(intr.coeffs, dtype=_F32)
    x = p[..., 0] / p[..., 2]
    y = p[..., 1] / p[..., 2]
    model = Distortion(intr.model)
    if model in (Distortion.MODIFIED_BROWN_CONRADY, Distortion.INVERSE_BROWN_CONRADY):
        r2 = x * x + y * y
        f = 1 + c[0] * r2 + c[1] * r2 * r2 + c[4] * r2 * r2 * r2
        x = x * f
        y = y * f
        x, y = (x + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x), y + 2 * c[3] * x * y + c[2] * (r2 + 2 * y * y))
    elif model == Distortion.BROWN_CONRADY:
        r2 = x * x + y * y
        f = 1 + c[0] * r2 + c[1] * r2 * r2 + c[4] * r2 * r2 * r2
        x, y = (x * f + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x), y * f + 2 * c[3] * x * y + c[2] * (r2 + 2 * y * y))
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
    return np.stack([x * _F32(intr.fx) + _F32(intr.ppx), y * _F32(intr.fy) + _F32(intr.ppy)], axis=-1)


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


def transform(points: np.ndarray, extr: Extrinsics) -> np.ndarray:
    """``rs2_transform_point_to_point`` on ``(..., 3)`` points (translation in metres: scale the
    points to metres first, or the extrinsics to the points' unit). Returns float32."""
    p = np.asarray(points, dtype=_F32)
    rot = extr.rotation.astype(_F32)
    t = extr.translation.astype(_F32)
    return (p[..., 0:1] * rot[:, 0] + p[..., 1:2] * rot[:, 1] + p[..., 2:3] * rot[:, 2] + t).astype(_F32)


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
    land on one pixel. As in librealsense's align (checked against pyrealsense2 2.59), the corners
    are truncated after adding 0.5 px and an Inverse Brown-Conrady colour stream is projected
    without its distortion (those coefficients describe the inverse mapping).
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
    if Distortion(color_intr.model) == Distortion.INVERSE_BROWN_CONRADY:
        target = replace(color_intr, model=Distortion.NONE)
    if depth_roi is None:
        ys, xs = np.nonzero(raw)
    else:
        x0, y0, x1, y1 = depth_roi
        ys, xs = np.nonzero(raw[y0:y1, x0:x1])
        ys, xs = ys + y0, xs + x0
    values = raw[ys, xs].astype(np.int32)
    z = values.astype(_F32) * _F32(depth_scale)
    corners = []
    for offset in (-0.5, 0.5):
        pix = np.stack([xs.astype(_F32) + _F32(offset), ys.astype(_F32) + _F32(offset)], axis=-1)
        other = project(transform(deproject(pix, z, depth_intr), depth_to_color), target)
        corners.append(np.trunc(other + _F32(0.5)).astype(np.int64))  # static_cast<int>(v + 0.5f)
    (x0, y0), (x1, y1) = corners[0].T, corners[1].T
    width, height = color_intr.width, color_intr.height
    big = np.iinfo(np.int32).max
    out = np.full(width * height, big, dtype=np.int32)
    span_x = int(max(0, (x1 - x0).max(initial=-1) + 1))
    span_y = int(max(0, (y1 - y0).max(initial=-1) + 1))
    for dy in range(span_y):
        for dx in range(span_x):
            cx, cy = x0 + dx, y0 + dy
            inside = (cx <= x1) & (cy <= y1) & (cx >= 0) & (cy >= 0) & (cx < width) & (cy < height)
            np.minimum.at(out, cy[inside] * width + cx[inside], values[inside])
    out[out == big] = 0
    return out.astype(np.uint16).reshape(height, width)


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
        if Distortion(color_intr.model) in (Distortion.MODIFIED_BROWN_CONRADY, Distortion.INVERSE_BROWN_CONRADY)
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

"""The head-fixed frame (METHOD §6): facial movement without the head's rigid motion.

Per frame: origin at the midpoint of the inner eye corners 39 and 42; x along 36 -> 45 (outer eye
corners, towards the participant's left); y orthogonal to x in the plane of 36, 45 and the nose
tip 33, pointing down the face; z = x cross y (into the face for a camera-facing participant).
"""

from __future__ import annotations

import numpy as np

RIGHT_OUTER_EYE, LEFT_OUTER_EYE, RIGHT_INNER_EYE, LEFT_INNER_EYE, NOSE_TIP = 36, 45, 39, 42, 33


def head_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin ``(T, 3)`` and rotation ``(T, 3, 3)`` whose rows are the head's x, y, z axes,
    from landmarks ``(T, 68, 3)`` (any unit)."""
    p = np.asarray(points, dtype=np.float64)
    origin = (p[:, RIGHT_INNER_EYE] + p[:, LEFT_INNER_EYE]) / 2
    x = p[:, LEFT_OUTER_EYE] - p[:, RIGHT_OUTER_EYE]
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    down = p[:, NOSE_TIP] - origin
    y = down - np.sum(down * x, axis=-1, keepdims=True) * x
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    z = np.cross(x, y)
    return origin, np.stack([x, y, z], axis=1)


def to_head_frame(points: np.ndarray) -> np.ndarray:
    """Landmarks ``(T, 68, 3)`` expressed in each frame's head-fixed frame (same unit, float64)."""
    origin, axes = head_axes(points)
    return np.einsum("tij,tnj->tni", axes, np.asarray(points, np.float64) - origin[:, None, :])

"""Sub-pixel drawing with OpenCV: float pixel coordinates as the fixed-point integers that OpenCV's
drawing functions read when given ``shift=SHIFT``."""

from __future__ import annotations

import numpy as np

__all__ = ["ONE", "SHIFT", "fixed_point"]

SHIFT = 4  # fractional bits
ONE = 1 << SHIFT  # one pixel in fixed point


def fixed_point(xy: np.ndarray) -> np.ndarray:
    """Float pixel coordinates -> ``int32`` fixed point (rounded to 1/``ONE`` pixel) for ``shift=SHIFT``."""
    return np.round(np.asarray(xy, dtype=np.float64) * ONE).astype(np.int32)

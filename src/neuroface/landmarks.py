"""The 68-point iBUG / Multi-PIE landmark scheme (0-based indices).

Subject's right/left: the right eye (36-41) appears on the image's left in a frontal view.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 68

JAW = tuple(range(0, 17))
BROWS = tuple(range(17, 27))
NOSE = tuple(range(27, 36))
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
EYES = RIGHT_EYE + LEFT_EYE
OUTER_LIPS = tuple(range(48, 60))
INNER_LIPS = tuple(range(60, 68))
MOUTH = OUTER_LIPS + INNER_LIPS

#: Landmarks scored by NRMSE (jaw excluded), 17-67.
SCORED = tuple(range(17, 68))

#: Regions for per-region error reports.
REGIONS: dict[str, tuple[int, ...]] = {
    "jaw": JAW,
    "brows": BROWS,
    "nose": NOSE,
    "eyes": EYES,
    "mouth": MOUTH,
}

MOUTH_CORNER_R, MOUTH_CORNER_L = 48, 54
OUTER_UPPER_LIP, OUTER_LOWER_LIP = 51, 57
INNER_UPPER_LIP, INNER_LOWER_LIP = 62, 66
NOSE_TIP = 30
NOSE_BASE = 33
CHIN = 8
OUTER_EYE_R, OUTER_EYE_L = 36, 45
INNER_EYE_R, INNER_EYE_L = 39, 42

#: Index permutation that maps a landmark array onto its mirror image
#: (face-alignment's ``shuffle_lr`` order): ``flipped = points[MIRROR]``.
MIRROR: tuple[int, ...] = (
    16,
    15,
    14,
    13,
    12,
    11,
    10,
    9,
    8,
    7,
    6,
    5,
    4,
    3,
    2,
    1,
    0,
    26,
    25,
    24,
    23,
    22,
    21,
    20,
    19,
    18,
    17,
    27,
    28,
    29,
    30,
    35,
    34,
    33,
    32,
    31,
    45,
    44,
    43,
    42,
    47,
    46,
    39,
    38,
    37,
    36,
    41,
    40,
    54,
    53,
    52,
    51,
    50,
    49,
    48,
    59,
    58,
    57,
    56,
    55,
    64,
    63,
    62,
    61,
    60,
    67,
    66,
    65,
)


def flip_points(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror landmarks of an image ``width`` pixels wide; ``(..., 68, 2)`` -> same shape.

    x is mirrored about the image centre (pixel-centre convention, x' = width - 1 - x) and
    left/right landmarks are swapped so index i keeps its anatomical meaning.
    """
    out = np.asarray(points, dtype=np.float64)[..., list(MIRROR), :].copy()
    out[..., 0] = width - 1 - out[..., 0]
    return out


def landmark_box(points: np.ndarray) -> np.ndarray:
    """Tight box ``(4,)`` (x1, y1, x2, y2) around landmarks ``(68, 2)``."""
    return np.concatenate([points.min(axis=0), points.max(axis=0)])

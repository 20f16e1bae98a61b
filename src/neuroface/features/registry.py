"""Per-repetition orofacial features (METHOD §6), one registry of named definitions.

Every feature is a function of one :class:`Repetition`: its landmarks in the head-fixed frame
``(T, 68, 3)`` in millimetres and its frame times ``(T,)`` in seconds. Distances are in mm,
speeds in mm/s, areas in mm^2, symmetry ratios are min/max in [0, 1] (1 = symmetric). The PS
and ALS sets are lists of registry names in ``config.yaml`` (``features.sets``), so other
definitions can be registered and selected without touching the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from neuroface.features.headframe import to_head_frame

OUTER_LIP = list(range(48, 60))  # 48 right corner ... 54 left corner ... 57 lower lip centre
RIGHT_HEMI_MOUTH = [51, 50, 49, 48, 59, 58, 57]  # participant's right half, closed by the 57-51 line
LEFT_HEMI_MOUTH = [51, 52, 53, 54, 55, 56, 57]
RIGHT_EYE_APERTURE = [(37, 41), (38, 40)]
LEFT_EYE_APERTURE = [(43, 47), (44, 46)]
#: Landmarks the head frame and the registered features read: a frame missing any is missing.
USED_LANDMARKS = sorted({33, 36, 39, 42, 45, 62, 66, *OUTER_LIP, *range(36, 48)})


def symmetry(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """min/max of two non-negative quantities, elementwise; 1 where both are 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    hi = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > 0, np.minimum(a, b) / np.where(hi > 0, hi, 1), 1.0)


def polygon_area(xy: np.ndarray) -> np.ndarray:
    """Area of polygons ``(..., N, 2)`` (shoelace, absolute value)."""
    x, y = xy[..., 0], xy[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


def polygon_perimeter(xy: np.ndarray) -> np.ndarray:
    """Perimeter of closed polygons ``(..., N, 2)``."""
    return np.linalg.norm(xy - np.roll(xy, -1, axis=-2), axis=-1).sum(axis=-1)


@dataclass(frozen=True)
class Repetition:
    """One repetition: head-frame landmarks ``points`` ``(T, 68, 3)`` mm, ``times`` ``(T,)`` s."""

    points: np.ndarray
    times: np.ndarray

    @classmethod
    def from_camera(cls, points_mm: np.ndarray, timestamps_ms: np.ndarray) -> Repetition:
        """From camera-frame landmarks ``(T, 68, 3)`` mm and frame timestamps ``(T,)`` ms."""
        t = np.asarray(timestamps_ms, np.float64) / 1000.0
        if len(t) < 3 or np.any(np.diff(t) <= 0):
            raise ValueError("a repetition needs at least 3 frames with increasing timestamps")
        return cls(to_head_frame(points_mm), t)

    def landmark(self, i: int) -> np.ndarray:
        """``(T, 3)`` positions of landmark ``i``."""
        return self.points[:, i]

    def distance(self, i: int, j: int) -> np.ndarray:
        """``(T,)`` distance between landmarks ``i`` and ``j`` (mm)."""
        return np.linalg.norm(self.points[:, i] - self.points[:, j], axis=-1)

    def rate(self, signal: np.ndarray) -> np.ndarray:
        """Time derivative of a ``(T, ...)`` signal by central differences on the frame times."""
        return np.gradient(signal, self.times, axis=0)

    def speed(self, i: int) -> np.ndarray:
        """``(T,)`` speed of landmark ``i`` (mm/s)."""
        return np.linalg.norm(self.rate(self.landmark(i)), axis=-1)

    @cached_property
    def opening(self) -> np.ndarray:
        """O(t) = |p62 - p66|, mm."""
        return self.distance(62, 66)

    @cached_property
    def width(self) -> np.ndarray:
        """W(t) = |p48 - p54|, mm."""
        return self.distance(48, 54)

    def excursion(self, i: int) -> np.ndarray:
        """|p_i(t) - p_i(t0)|, mm, t0 the repetition's first frame."""
        return np.linalg.norm(self.landmark(i) - self.landmark(i)[0], axis=-1)

    @cached_property
    def hemi_mouth_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """(AR, AL): areas of the outer-lip polygon's right and left of the 51-57 line, mm^2."""
        return polygon_area(self.points[:, RIGHT_HEMI_MOUTH, :2]), polygon_area(self.points[:, LEFT_HEMI_MOUTH, :2])


Feature = Callable[[Repetition], float]
REGISTRY: dict[str, Feature] = {}
UNITS: dict[str, str] = {}


def feature(unit: str) -> Callable[[Feature], Feature]:
    """Register a feature under its function name."""

    def register(fn: Feature) -> Feature:
        REGISTRY[fn.__name__] = fn
        UNITS[fn.__name__] = unit
        return fn

    return register


def _rom(signal: np.ndarray) -> float:
    return float(np.max(signal) - np.min(signal))


@feature("mm")
def mouth_opening_rom(r: Repetition) -> float:
    """Range of motion of the mouth opening O."""
    return _rom(r.opening)


@feature("mm")
def mouth_width_rom(r: Repetition) -> float:
    """Range of motion of the mouth width W."""
    return _rom(r.width)


@feature("mm")
def lower_lip_vertical_rom(r: Repetition) -> float:
    """Range of the vertical (head y) position of the lower lip centre 57."""
    return _rom(r.landmark(57)[:, 1])


@feature("mm/s")
def opening_speed_max(r: Repetition) -> float:
    """max |dO/dt|."""
    return float(np.max(np.abs(r.rate(r.opening))))


@feature("mm/s")
def opening_speed_mean(r: Repetition) -> float:
    """mean |dO/dt|."""
    return float(np.mean(np.abs(r.rate(r.opening))))


@feature("mm/s")
def width_speed_max(r: Repetition) -> float:
    """max |dW/dt|."""
    return float(np.max(np.abs(r.rate(r.width))))


@feature("mm/s")
def width_speed_mean(r: Repetition) -> float:
    """mean |dW/dt|."""
    return float(np.mean(np.abs(r.rate(r.width))))


@feature("mm/s")
def lower_lip_speed_max(r: Repetition) -> float:
    """Peak speed of the lower lip centre 57."""
    return float(np.max(r.speed(57)))


@feature("ratio")
def corner_excursion_symmetry(r: Repetition) -> float:
    """Symmetry of the mouth corners' largest excursions (max eR vs max eL)."""
    return float(symmetry(np.max(r.excursion(48)), np.max(r.excursion(54))))


@feature("ratio")
def corner_speed_symmetry(r: Repetition) -> float:
    """Symmetry of the mouth corners' peak speeds (48 vs 54)."""
    return float(symmetry(np.max(r.speed(48)), np.max(r.speed(54))))


@feature("ratio")
def hemi_mouth_area_symmetry(r: Repetition) -> float:
    """Mean over frames of the symmetry of the hemi-mouth areas AR, AL."""
    return float(np.mean(symmetry(*r.hemi_mouth_areas)))


@feature("mm")
def corner_vertical_asymmetry(r: Repetition) -> float:
    """Mean vertical offset between the mouth corners |y48 - y54|."""
    return float(np.mean(np.abs(r.landmark(48)[:, 1] - r.landmark(54)[:, 1])))


@feature("mm")
def lower_lip_midline_deviation(r: Repetition) -> float:
    """Mean lateral deviation of the lower lip centre from the midline |x57|."""
    return float(np.mean(np.abs(r.landmark(57)[:, 0])))


@feature("ratio")
def eye_aperture_symmetry(r: Repetition) -> float:
    """Mean over frames of the symmetry of the eye apertures (|p37-p41| + |p38-p40| vs left)."""
    right = sum(r.distance(i, j) for i, j in RIGHT_EYE_APERTURE)
    left = sum(r.distance(i, j) for i, j in LEFT_EYE_APERTURE)
    return float(np.mean(symmetry(right, left)))


@feature("mm")
def lower_lip_path_length(r: Repetition) -> float:
    """Path length of the lower lip centre: sum of |p57(t+1) - p57(t)|."""
    return float(np.linalg.norm(np.diff(r.landmark(57), axis=0), axis=-1).sum())


@feature("mm")
def lower_lip_range(r: Repetition) -> float:
    """Largest distance of the lower lip centre from its mean position in the repetition."""
    p = r.landmark(57)
    return float(np.max(np.linalg.norm(p - p.mean(axis=0), axis=-1)))


@feature("ratio")
def lip_roundness_mean(r: Repetition) -> float:
    """Mean over frames of the outer lip's roundness 4 pi area / perimeter^2 (1 = circle)."""
    xy = r.points[:, OUTER_LIP, :2]
    return float(np.mean(4 * np.pi * polygon_area(xy) / polygon_perimeter(xy) ** 2))


def check_names(names: list[str]) -> None:
    """Raise ValueError naming any feature not in the registry."""
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; registered: {sorted(REGISTRY)}")


def compute(repetition: Repetition, names: list[str]) -> dict[str, float]:
    """The named features of one repetition."""
    check_names(names)
    return {name: REGISTRY[name](repetition) for name in names}

"""Ground-truth 3D landmark trajectories for the NeuroFace tasks, with disease effects and head pose.

Expressions are sums of smooth basis deformations of an :class:`~neuroface.synthetic.face3d.Identity`'s
neutral landmarks: a jaw rotation about the temporomandibular joint, and linear fields for lip
spreading, lip rounding (pucker), upper-lip raise and corner droop (one field per side, so
weakness can act on one side), lip pressing, eye blink and brow raise. Each task drives these
with minimum-jerk transitions between keyframes; repetitions vary in amplitude and duration.

Units: millimetres and seconds. Head frame as in :mod:`neuroface.synthetic.face3d` (origin at the
midpoint of 39 and 42, x to the subject's left, y down, z into the head). Camera frame:
RealSense colour camera (x right, y down, z forward); ``p_cam = R @ p_head + t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from neuroface.inputs.tables import GROUPS
from neuroface.landmarks import INNER_LOWER_LIP, INNER_UPPER_LIP, MIRROR, N_LANDMARKS
from neuroface.synthetic.face3d import Identity

TASKS_SIMULATED = ("BBP", "OPEN", "SPREAD", "REST")

#: Repetitions per recording in Toronto NeuroFace (REST is not segmented).
DEFAULT_REPETITIONS = {"BBP": 10, "OPEN": 5, "SPREAD": 5}


# ---------------------------------------------------------------------------------------------
# Disease parameters


@dataclass(frozen=True)
class DiseaseParams:
    """One participant's motor parameters (dimensionless unless stated).

    Disease effects (zero for HC):
    ``weakness`` in [0, 1]: PS; the affected side's spreading, rounding and upper-lip raise are
    scaled by ``1 - weakness``. ``droop_mm``: PS; the affected mouth corner sits this much lower.
    ``slowness`` >= 0: movement durations scaled by ``1 + slowness`` (ALS; mild in PS).
    ``range_reduction`` in [0, 1]: ALS; opening, spreading and lip-raise amplitudes scaled by
    ``1 - range_reduction``. ``rounding_reduction`` in [0, 1]: ALS; rounding scaled by
    ``1 - rounding_reduction``.

    Natural variation (all groups): ``rate`` multiplies movement durations, ``expressivity``
    multiplies movement amplitudes, ``natural_asymmetry`` (signed) weakens the subject's right
    side's active lip movements by that fraction when positive, the left side's when negative.
    """

    group: str = "HC"
    affected_side: str | None = None
    weakness: float = 0.0
    droop_mm: float = 0.0
    slowness: float = 0.0
    range_reduction: float = 0.0
    rounding_reduction: float = 0.0
    rate: float = 1.0
    expressivity: float = 1.0
    natural_asymmetry: float = 0.0

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")
        if self.affected_side not in (None, "right", "left"):
            raise ValueError(f"affected_side must be 'right', 'left' or None, got {self.affected_side!r}")
        if self.weakness > 0 and self.affected_side is None:
            raise ValueError("weakness needs an affected_side")
        for name in ("weakness", "range_reduction", "rounding_reduction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if self.slowness < 0 or self.rate <= 0 or self.expressivity <= 0:
            raise ValueError("slowness must be >= 0, rate and expressivity > 0")
        if abs(self.natural_asymmetry) >= 1:
            raise ValueError("natural_asymmetry must be in (-1, 1)")

    def side_factors(self) -> tuple[float, float]:
        """Gain of the subject's (right, left) active lip movements (spread, round, raise)."""
        right = 1.0 - max(self.natural_asymmetry, 0.0)
        left = 1.0 + min(self.natural_asymmetry, 0.0)
        if self.affected_side == "right":
            right *= 1.0 - self.weakness
        elif self.affected_side == "left":
            left *= 1.0 - self.weakness
        return right, left

    def movement_gains(self) -> dict[str, float]:
        """The knobs as the movements carry them, one number each: the left-right gain ``|log(right / left)|`` of
        the active lip movements (:meth:`side_factors`: PS weakness against the natural asymmetry), the amplitude
        gain ``expressivity (1 - range_reduction)`` (ALS) and the speed gain ``amplitude / (rate (1 + slowness))``
        (the ALS and the milder PS slowing). They leave out the PS corner droop at rest, the ALS rounding, the clinical
        signs and the faces' own asymmetry, so a feature can separate more, or less, than they do."""
        right, left = self.side_factors()
        amplitude = self.expressivity * (1.0 - self.range_reduction)
        return {
            "left-right gain": abs(float(np.log(right / left))),
            "amplitude gain": amplitude,
            "speed gain": amplitude / (self.rate * (1.0 + self.slowness)),
        }


def _beta(mean: float, concentration: float) -> stats.rv_continuous:
    return stats.beta(mean * concentration, (1.0 - mean) * concentration)


@dataclass(frozen=True)
class DiseaseModel:
    """Cohort-level distributions of :class:`DiseaseParams`; severity varies so groups overlap.

    Beta distributions are given by mean and concentration (a + b; smaller = wider), gamma
    distributions by mean and shape (smaller = wider, more mass near 0).
    """

    #: PS weakness ~ Beta(mean, concentration): default Beta(0.77, 2.73), ~35 % below 0.1.
    ps_weakness_mean: float = 0.22
    ps_weakness_concentration: float = 3.5
    #: PS corner droop (mm) = per_weakness * weakness + N(0, sd), clipped at 0.
    ps_droop_mm_per_weakness: float = 6.0
    ps_droop_sd_mm: float = 0.5
    #: PS mild slowing ~ Gamma(mean, shape).
    ps_slowness_mean: float = 0.08
    ps_slowness_shape: float = 1.5
    #: ALS slowness ~ Gamma(mean, shape): default ~30 % below 0.1, capped at slowness_max.
    als_slowness_mean: float = 0.25
    als_slowness_shape: float = 1.1
    slowness_max: float = 1.5
    #: ALS range reduction ~ Beta(mean, concentration): default Beta(0.72, 3.28).
    als_range_reduction_mean: float = 0.18
    als_range_reduction_concentration: float = 4.0
    #: ALS rounding reduction ~ Beta(mean, concentration).
    als_rounding_reduction_mean: float = 0.3
    als_rounding_reduction_concentration: float = 5.0
    #: Correlation of the three ALS knobs (Gaussian copula on one bulbar severity).
    als_severity_correlation: float = 0.6
    #: Natural variation, all groups: SD of log(rate), SD of expressivity, SD of asymmetry.
    rate_log_sd: float = 0.15
    expressivity_sd: float = 0.05
    natural_asymmetry_sd: float = 0.07

    def sample(self, group: str, rng: np.random.Generator) -> DiseaseParams:
        """Draw one participant's parameters for ``group`` ("HC", "PS" or "ALS")."""
        if group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
        natural = dict(
            rate=float(np.exp(self.rate_log_sd * rng.normal())),
            expressivity=float(np.clip(1.0 + self.expressivity_sd * rng.normal(), 0.85, 1.15)),
            natural_asymmetry=float(np.clip(self.natural_asymmetry_sd * rng.normal(), -0.2, 0.2)),
        )
        if group == "HC":
            return DiseaseParams("HC", **natural)
        if group == "PS":
            weakness = float(_beta(self.ps_weakness_mean, self.ps_weakness_concentration).rvs(random_state=rng))
            droop = self.ps_droop_mm_per_weakness * weakness + self.ps_droop_sd_mm * rng.normal()
            slowness = stats.gamma(self.ps_slowness_shape, scale=self.ps_slowness_mean / self.ps_slowness_shape)
            return DiseaseParams(
                "PS",
                affected_side="right" if rng.random() < 0.5 else "left",
                weakness=weakness,
                droop_mm=float(max(droop, 0.0)),
                slowness=float(min(slowness.rvs(random_state=rng), self.slowness_max)),
                **natural,
            )
        rho = self.als_severity_correlation
        z = np.sqrt(rho) * rng.normal() + np.sqrt(1.0 - rho) * rng.normal(size=3)
        u = stats.norm.cdf(z)
        slowness = stats.gamma(self.als_slowness_shape, scale=self.als_slowness_mean / self.als_slowness_shape)
        rr = _beta(self.als_range_reduction_mean, self.als_range_reduction_concentration)
        ro = _beta(self.als_rounding_reduction_mean, self.als_rounding_reduction_concentration)
        return DiseaseParams(
            "ALS",
            slowness=float(min(slowness.ppf(u[0]), self.slowness_max)),
            range_reduction=float(rr.ppf(u[1])),
            rounding_reduction=float(ro.ppf(u[2])),
            **natural,
        )


# ---------------------------------------------------------------------------------------------
# Basis deformations (mm per unit activation), subject's right side; left = mirror image.

#: Lip spreading, per 1 mm of lateral corner displacement: out, slightly up and back.
_SPREAD_R = {
    48: (-1.0, -0.25, 0.35),
    60: (-0.85, -0.22, 0.3),
    49: (-0.6, -0.12, 0.2),
    59: (-0.6, -0.15, 0.2),
    61: (-0.5, -0.05, 0.1),
    67: (-0.5, -0.05, 0.1),
    50: (-0.45, 0.03, 0.08),
    58: (-0.45, -0.05, 0.08),
    51: (-0.3, 0.04, 0.03),
    57: (-0.3, -0.04, 0.03),
    62: (-0.3, 0.0, 0.02),
    66: (-0.3, 0.0, 0.02),
    52: (-0.15, 0.0, 0.0),
    56: (-0.15, 0.0, 0.0),
    63: (-0.15, 0.0, 0.0),
    65: (-0.15, 0.0, 0.0),
    53: (-0.05, 0.0, 0.0),
    55: (-0.05, 0.0, 0.0),
    3: (-0.08, -0.05, 0.0),
    4: (-0.12, -0.08, 0.0),
    5: (-0.08, -0.05, 0.0),
    40: (0.0, -0.03, 0.0),
    41: (0.0, -0.04, 0.0),
    31: (-0.05, -0.03, 0.0),
}
#: Lip rounding / pucker, per 1 mm of medial corner displacement: in and forward, lips protrude.
_ROUND_R = {
    48: (1.0, 0.0, -0.7),
    60: (0.9, 0.0, -0.6),
    49: (0.6, -0.15, -0.9),
    59: (0.6, 0.15, -0.9),
    50: (0.3, -0.25, -1.0),
    58: (0.3, 0.25, -1.0),
    61: (0.4, 0.0, -0.8),
    67: (0.4, 0.0, -0.8),
    51: (0.0, -0.15, -0.55),
    57: (0.0, 0.15, -0.55),
    62: (0.0, 0.0, -0.45),
    66: (0.0, 0.0, -0.45),
}
#: Upper-lip raise, per 1 mm of elevation of the upper lip above the canine (50, 61).
_RAISE_R = {
    50: (0.0, -1.0, -0.1),
    49: (0.0, -0.8, 0.0),
    61: (0.0, -0.8, 0.0),
    51: (0.0, -0.5, 0.0),
    62: (0.0, -0.5, 0.0),
    60: (0.0, -0.4, 0.0),
    48: (0.0, -0.3, 0.0),
    52: (0.0, -0.15, 0.0),
    63: (0.0, -0.15, 0.0),
    31: (0.0, -0.2, 0.0),
    32: (0.0, -0.1, 0.0),
}
#: Corner droop, per 1 mm of corner lowering.
_DROOP_R = {
    48: (0.0, 1.0, 0.0),
    60: (0.0, 0.9, 0.0),
    49: (0.0, 0.5, 0.0),
    59: (0.0, 0.6, 0.0),
    61: (0.0, 0.3, 0.0),
    67: (0.0, 0.35, 0.0),
    50: (0.0, 0.2, 0.0),
    58: (0.0, 0.25, 0.0),
    51: (0.0, 0.05, 0.0),
    57: (0.0, 0.05, 0.0),
    62: (0.0, 0.05, 0.0),
    66: (0.0, 0.05, 0.0),
}
#: Weight of each landmark in the rigid jaw motion (lower lip, chin, lower jaw contour).
_JAW_WEIGHT = {
    2: 0.15,
    3: 0.45,
    4: 0.75,
    5: 0.92,
    6: 1.0,
    7: 1.0,
    8: 1.0,
    48: 0.35,
    60: 0.4,
    49: 0.05,
    59: 0.85,
    58: 1.0,
    57: 1.0,
    67: 1.0,
    66: 1.0,
}
#: Temporomandibular pivot (mm, head frame, mean face) and condylar glide per radian of opening.
_JAW_PIVOT = np.array([0.0, 22.0, 75.0])
_JAW_GLIDE_PER_RAD = np.array([0.0, 10.0, -22.0])
#: Lip pressing: lip compression of the outer lips (mm at full press), inner gap closed fully.
_PRESS_OUTER = {51: 0.8, 50: 0.6, 52: 0.6, 57: -0.9, 56: -0.7, 58: -0.7}
_INNER_PAIRS = ((61, 67), (62, 66), (63, 65))
_LID_PAIRS = ((37, 41), (38, 40), (44, 46), (43, 47))


def _right_left(table: dict[int, tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(68, 3) fields for the subject's right side and its mirror image for the left side."""
    right = np.zeros((N_LANDMARKS, 3))
    for i, d in table.items():
        right[i] = d
    left = right[list(MIRROR)] * np.array([-1.0, 1.0, 1.0])
    return right, left


def _symmetric(table: dict[int, float]) -> np.ndarray:
    """(68,) weights from a one-sided table, mirrored to the other side."""
    w = np.zeros(N_LANDMARKS)
    for i, v in table.items():
        w[i] = v
        w[MIRROR[i]] = v
    return w


@dataclass(frozen=True, eq=False)
class _Bases:
    """Deformation bases for one identity. Linear fields are (68, 3) mm per unit activation."""

    neutral: np.ndarray
    jaw_weight: np.ndarray
    jaw_pivot: np.ndarray
    jaw_glide: np.ndarray
    spread: tuple[np.ndarray, np.ndarray]
    round: tuple[np.ndarray, np.ndarray]
    raise_: tuple[np.ndarray, np.ndarray]
    droop: tuple[np.ndarray, np.ndarray]
    press: np.ndarray
    blink: np.ndarray
    brow: np.ndarray
    #: Jaw angle (rad) grid and the inner-lip opening (mm, above neutral) it produces.
    angle_grid: np.ndarray
    opening_grid: np.ndarray

    @classmethod
    def build(cls, identity: Identity) -> _Bases:
        p = np.asarray(identity.landmarks, dtype=np.float64)
        press = np.zeros((N_LANDMARKS, 3))
        for up, lo in _INNER_PAIRS:
            half = 0.5 * (p[lo] - p[up])
            press[up], press[lo] = half, -half
        for i, dy in _PRESS_OUTER.items():
            press[i, 1] = dy
        blink = np.zeros((N_LANDMARKS, 3))
        for up, lo in _LID_PAIRS:
            gap = p[lo] - p[up]
            blink[up], blink[lo] = 0.9 * gap, -0.1 * gap
        brow = np.zeros((N_LANDMARKS, 3))
        brow[17:27, 1] = -1.0
        brow[[37, 38, 43, 44], 1] = -0.15
        jaw_weight = _symmetric(_JAW_WEIGHT)
        pivot, glide = _JAW_PIVOT * identity.scale, _JAW_GLIDE_PER_RAD * identity.scale
        angle_grid = np.linspace(0.0, 0.9, 91)
        jaw = _jaw_displacement(p, jaw_weight, pivot, glide, angle_grid)
        opening = np.linalg.norm(p[INNER_LOWER_LIP] + jaw[:, INNER_LOWER_LIP] - p[INNER_UPPER_LIP], axis=1)
        return cls(
            neutral=p,
            jaw_weight=jaw_weight,
            jaw_pivot=pivot,
            jaw_glide=glide,
            spread=_right_left(_SPREAD_R),
            round=_right_left(_ROUND_R),
            raise_=_right_left(_RAISE_R),
            droop=_right_left(_DROOP_R),
            press=press,
            blink=blink,
            brow=brow,
            angle_grid=angle_grid,
            opening_grid=opening - opening[0],
        )

    def jaw_displacement(self, angle: np.ndarray) -> np.ndarray:
        """(T, 68, 3) mm displacement for jaw angles (T,) rad."""
        return _jaw_displacement(self.neutral, self.jaw_weight, self.jaw_pivot, self.jaw_glide, angle)

    def jaw_angle(self, opening_mm: np.ndarray) -> np.ndarray:
        """Jaw angle (rad) that opens the inner lips by ``opening_mm`` (clipped at 0)."""
        return np.interp(opening_mm, self.opening_grid, self.angle_grid)


def _jaw_displacement(
    neutral: np.ndarray, weight: np.ndarray, pivot: np.ndarray, glide: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    """(T, 68, 3) mm: rotation by ``angle`` (T,) rad about the x axis through ``pivot`` plus the
    condylar ``glide`` (mm/rad), weighted per landmark by ``weight`` (68,)."""
    c, sn = np.cos(angle)[:, None], np.sin(angle)[:, None]
    rel = neutral - pivot
    dy = rel[None, :, 1] * (c - 1.0) - rel[None, :, 2] * sn
    dz = rel[None, :, 1] * sn + rel[None, :, 2] * (c - 1.0)
    d = np.stack([np.zeros_like(dy), dy, dz], axis=-1) + angle[:, None, None] * glide
    return d * weight[None, :, None]


# ---------------------------------------------------------------------------------------------
# Task keyframes: fraction of the repetition, then channel values.

_CHANNELS = ("open", "spread", "round", "raise", "press", "brow")
_OPEN, _SPREAD, _ROUND, _RAISE, _PRESS, _BROW = range(len(_CHANNELS))

#: Nominal repetition duration (s) at rate 1.
_NOMINAL_DURATION_S = {"BBP": 1.55, "OPEN": 2.0, "SPREAD": 2.0}

#: Keyframes per task: (fraction, open mm, spread mm/side, round mm/side, raise mm, press 0-1,
#: brow mm). "open" is the jaw's share of the inner-lip opening; "raise" adds to it.
_KEYFRAMES = {
    "BBP": np.array(
        [
            (0.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.06, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # b
            (0.16, 11.0, 0.0, 0.0, 0.0, 0.0, 0.0),  # "Buy" /a/
            (0.23, 6.0, 2.5, 0.0, 0.5, 0.0, 0.0),  # /I/ off-glide
            (0.29, 0.0, 0.8, 0.0, 0.0, 1.0, 0.0),  # b
            (0.38, 13.0, 0.0, 2.5, 0.0, 0.0, 0.0),  # "Bo" /a/, slightly rounded
            (0.47, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0),  # bb
            (0.55, 5.0, 3.0, 0.0, 0.5, 0.0, 0.0),  # "by" /i/
            (0.63, 7.0, 1.0, 0.0, 0.0, 0.0, 0.0),  # "a" /@/
            (0.71, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # p
            (0.80, 10.0, 0.0, 0.8, 0.0, 0.0, 0.0),  # "Pu" /V/
            (0.88, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0),  # pp
            (0.95, 5.0, 3.0, 0.0, 0.5, 0.0, 0.0),  # "py" /i/
            (1.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ]
    ),
    "OPEN": np.array(
        [
            (0.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.30, 39.0, 0.0, 2.5, 2.0, 0.0, 1.5),
            (0.65, 40.0, 0.0, 2.5, 2.0, 0.0, 1.5),
            (1.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ]
    ),
    "SPREAD": np.array(
        [
            (0.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
            (0.30, 0.3, 9.0, 0.0, 1.0, 0.6, 0.5),
            (0.65, 0.3, 9.3, 0.0, 1.0, 0.6, 0.5),
            (1.00, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ]
    ),
}

#: Peak amplitude of continuous micro-movements, same units as the channels.
_MICRO_PEAK = np.array([0.3, 0.3, 0.2, 0.2, 0.0, 0.3])


def _minjerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 10 tau^3 - 15 tau^4 + 6 tau^5 on [0, 1]."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 + tau * (-15.0 + 6.0 * tau))


def _track(times: np.ndarray, key_t: np.ndarray, key_v: np.ndarray) -> np.ndarray:
    """Values (T, C) through keyframes (K,), (K, C) with minimum-jerk transitions.

    Held at the first/last keyframe value outside the keyframes' span.
    """
    if len(key_t) == 0:
        return np.zeros((len(times), key_v.shape[1]))
    k = np.clip(np.searchsorted(key_t, times, side="right") - 1, 0, len(key_t) - 1)
    k1 = np.minimum(k + 1, len(key_t) - 1)
    span = np.where(k1 > k, key_t[k1] - key_t[k], 1.0)
    s = _minjerk((times - key_t[k]) / span)[:, None]
    return key_v[k] + (key_v[k1] - key_v[k]) * s


def _smooth_noise(times: np.ndarray, rng: np.random.Generator, n: int, fmin: float, fmax: float) -> np.ndarray:
    """(T, n) smooth noise within [-1, 1]: sums of 4 sinusoids of [fmin, fmax] Hz."""
    freq = rng.uniform(fmin, fmax, size=(4, n))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(4, n))
    amp = rng.uniform(0.5, 1.0, size=(4, n))
    amp /= np.sum(amp, axis=0)
    return np.sum(amp * np.sin(2.0 * np.pi * freq * times[:, None, None] + phase), axis=1)


def _blink_keyframes(total_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Blink keyframes: about every 4 s, closing in 0.08 s, closed 0.03 s, opening in 0.15 s."""
    keys_t: list[float] = []
    t = rng.uniform(0.5, 3.0)
    while t + 0.3 < total_s:
        keys_t += [t, t + 0.08, t + 0.11, t + 0.26]
        t += 0.3 + rng.exponential(3.7)
    values = np.tile([0.0, 1.0, 1.0, 0.0], len(keys_t) // 4)[:, None]
    return np.asarray(keys_t), values


# ---------------------------------------------------------------------------------------------
# Head pose

#: Neck pivot of head rotations and the face centre placed near the optical axis (mm, head
#: frame, mean face).
_NECK_PIVOT = np.array([0.0, 80.0, 90.0])
_FACE_CENTRE = np.array([0.0, 45.0, 0.0])


def _rotations(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(T, 3, 3) R = Ry(yaw) @ Rx(pitch) @ Rz(roll), angles in rad."""
    cp, sp, cy, sy, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    one, zero = np.ones_like(pitch), np.zeros_like(pitch)
    rx = np.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    return ry @ rx @ rz


def _head_pose(
    times: np.ndarray,
    rng: np.random.Generator,
    *,
    distance_mm: float,
    facing_camera: bool,
    scale: float,
    jaw_angle: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pose (T, 3, 3), (T, 3) mm: slow drift (<= 2.5 deg, <= 5 mm) around a base pose.

    The face centre sits at ``distance_mm`` (+- 5 mm), up to 3 deg off the optical axis laterally
    and vertically; the head is turned 25-45 deg in yaw when not ``facing_camera``, rotates about
    a neck pivot and tilts back slightly while the jaw opens.
    """
    base = np.deg2rad(rng.normal(0.0, [3.0, 2.0, 2.0]))  # pitch, yaw, roll
    if not facing_camera:
        base[1] = np.deg2rad(rng.uniform(25.0, 45.0)) * rng.choice([-1.0, 1.0])
    depth = distance_mm + rng.normal(0.0, 5.0)
    off_axis = depth * np.tan(np.deg2rad(rng.uniform(-3.0, 3.0, size=2)))
    offset = np.array([off_axis[0], off_axis[1], depth]) - _FACE_CENTRE * scale  # head origin at R = I
    drift = _smooth_noise(times, rng, 6, 0.03, 0.25)
    angles = base + np.deg2rad(2.5) * drift[:, :3]
    angles[:, 0] -= 0.1 * jaw_angle
    rot = _rotations(angles[:, 0], angles[:, 1], angles[:, 2])
    pivot = _NECK_PIVOT * scale
    trans = offset + pivot - rot @ pivot + 5.0 * drift[:, 3:]
    return rot, trans


# ---------------------------------------------------------------------------------------------
# Trajectories


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Ground-truth landmarks of one recording.

    ``times_s``: (T,) s from recording start, uniform ``i / fps``. ``head``: (T, 68, 3) mm in the
    head frame, expression applied. ``pose_R``: (T, 3, 3), ``pose_t``: (T, 3) mm, head -> camera.
    ``camera``: (T, 68, 3) mm = ``R @ head + t``. ``repetitions``: (first, last) frame index of
    each repetition, 0-based inclusive (empty for REST). ``task``: the task name.
    """

    times_s: np.ndarray
    head: np.ndarray
    pose_R: np.ndarray
    pose_t: np.ndarray
    camera: np.ndarray
    repetitions: list[tuple[int, int]] = field(default_factory=list)
    task: str = ""


def _schedule(
    n_reps: int, nominal_s: float, duration_factor: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """Repetition start/end times (s) with 0.3-0.8 s pauses, and the recording length (s)."""
    durations = nominal_s * duration_factor * rng.uniform(0.9, 1.1, size=n_reps)
    pauses = rng.uniform(0.3, 0.8, size=n_reps - 1) if n_reps > 1 else np.zeros(0)
    lead, tail = rng.uniform(0.4, 1.0, size=2)
    starts = lead + np.concatenate([[0.0], np.cumsum(durations[:-1] + pauses)])
    ends = starts + durations
    return starts, ends, float(ends[-1] + tail)


def _task_keyframes(
    task: str, starts: np.ndarray, ends: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Keyframe times (K,) s and channel values (K, C) for all repetitions, with per-repetition
    variation: amplitude +-10 % per channel, keyframe timing jitter +-1.5 % of the repetition."""
    table = _KEYFRAMES[task]
    frac, values = table[:, 0], table[:, 1:]
    inner = slice(1, len(frac) - 1)
    key_t, key_v = [], []
    for start, end in zip(starts, ends, strict=True):
        f = frac.copy()
        f[inner] += rng.uniform(-0.015, 0.015, size=len(frac) - 2)
        gain = np.clip(rng.normal(1.0, 0.05, size=values.shape[1]), 0.9, 1.1)
        key_t.append(start + f * (end - start))
        key_v.append(values * gain)
    return np.concatenate(key_t), np.concatenate(key_v)


def simulate(
    identity: Identity,
    disease: DiseaseParams,
    task: str,
    *,
    fps: float,
    n_repetitions: int | None = None,
    rng: np.random.Generator,
    distance_mm: float = 450.0,
    facing_camera: bool = True,
    tempo: float = 1.0,
    duration_s: float = 20.0,
) -> Trajectory:
    """Simulate one recording of ``task`` (one of :data:`TASKS_SIMULATED`).

    ``fps``: frame rate (Hz). ``n_repetitions``: repetitions (default per task: BBP 10, OPEN 5,
    SPREAD 5; ignored for REST, which lasts ``duration_s`` s). ``distance_mm``: head distance from
    the camera. ``tempo``: global speed factor (> 1 = faster; durations are divided by it).
    Deterministic for a given ``rng`` state; the head-frame landmarks do not depend on
    ``distance_mm`` or ``facing_camera``.
    """
    if task not in TASKS_SIMULATED:
        raise ValueError(f"task must be one of {TASKS_SIMULATED}, got {task!r}")
    if fps <= 0 or tempo <= 0:
        raise ValueError("fps and tempo must be positive")
    timing_rng, expr_rng, pose_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=3))
    bases = _Bases.build(identity)

    if task == "REST":
        total_s = float(duration_s)
        starts = ends = np.zeros(0)
    else:
        n = DEFAULT_REPETITIONS[task] if n_repetitions is None else int(n_repetitions)
        if n < 1:
            raise ValueError("n_repetitions must be >= 1")
        factor = disease.rate * (1.0 + disease.slowness) / tempo
        starts, ends, total_s = _schedule(n, _NOMINAL_DURATION_S[task], factor, timing_rng)
    times = np.arange(int(np.floor(total_s * fps)) + 1) / fps

    if task == "REST":
        channels = np.zeros((len(times), len(_CHANNELS)))
    else:
        channels = _track(times, *_task_keyframes(task, starts, ends, expr_rng))
    channels += _MICRO_PEAK * _smooth_noise(times, expr_rng, len(_CHANNELS), 0.1, 0.8)
    blink = _track(times, *_blink_keyframes(total_s, expr_rng))[:, 0]

    amp = disease.expressivity * identity.scale
    active = (1.0 - disease.range_reduction) * amp
    opening = channels[:, _OPEN] * active
    spread = channels[:, _SPREAD] * active
    lip_raise = channels[:, _RAISE] * active
    rounding = channels[:, _ROUND] * (1.0 - disease.rounding_reduction) * amp
    press = np.clip(channels[:, _PRESS], 0.0, 1.0)
    brow = channels[:, _BROW] * amp

    jaw = bases.jaw_angle(opening)
    head = bases.neutral + bases.jaw_displacement(jaw)
    droop = (
        disease.droop_mm if disease.affected_side == "right" else 0.0,
        disease.droop_mm if disease.affected_side == "left" else 0.0,
    )
    for side, gain in enumerate(disease.side_factors()):
        head += np.multiply.outer(spread * gain, bases.spread[side])
        head += np.multiply.outer(rounding * gain, bases.round[side])
        head += np.multiply.outer(lip_raise * gain, bases.raise_[side])
        head += droop[side] * bases.droop[side]
    head += np.multiply.outer(press, bases.press)
    head += np.multiply.outer(blink, bases.blink)
    head += np.multiply.outer(brow, bases.brow)

    rot, trans = _head_pose(
        times, pose_rng, distance_mm=distance_mm, facing_camera=facing_camera, scale=identity.scale, jaw_angle=jaw
    )
    camera = np.einsum("tij,tkj->tki", rot, head) + trans[:, None, :]
    reps = [(int(np.ceil(a * fps - 1e-9)), int(np.floor(b * fps + 1e-9))) for a, b in zip(starts, ends, strict=True)]
    return Trajectory(times_s=times, head=head, pose_R=rot, pose_t=trans, camera=camera, repetitions=reps, task=task)

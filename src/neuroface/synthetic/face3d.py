"""A mean 3D adult face and random identities, as 68 iBUG landmarks in millimetres.

Head frame: origin at the midpoint of the inner eye corners (39, 42); x toward the subject's
left (the image's right in a frontal view), y down, z away from the camera (into the head).
The nose tip has z of about -24 mm, the jaw contour near the ears about +60..+70 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuroface.landmarks import (
    BROWS,
    EYES,
    INNER_EYE_L,
    INNER_EYE_R,
    MIRROR,
    MOUTH,
    N_LANDMARKS,
    NOSE,
)

#: Subject's right half and midline of the mean face (x <= 0), mm; the left half is mirrored.
_RIGHT_HALF: dict[int, tuple[float, float, float]] = {
    # jaw contour, from the right ear (0) to the chin (8)
    0: (-68.0, 6.0, 70.0),
    1: (-67.0, 22.0, 67.0),
    2: (-65.0, 38.0, 63.0),
    3: (-62.0, 54.0, 58.0),
    4: (-57.0, 69.0, 50.0),
    5: (-50.0, 84.0, 38.0),
    6: (-39.0, 99.0, 24.0),
    7: (-21.0, 115.0, 9.0),
    8: (0.0, 121.0, -2.0),
    # right brow, outer (17) to inner (21)
    17: (-58.0, -12.0, 20.0),
    18: (-49.0, -19.0, 6.0),
    19: (-38.0, -22.0, -3.0),
    20: (-27.0, -21.0, -8.0),
    21: (-13.0, -18.0, -11.0),
    # nose bridge (27 nasion .. 30 tip) and base (31 right ala .. 33 subnasale)
    27: (0.0, -1.0, -10.0),
    28: (0.0, 11.0, -14.0),
    29: (0.0, 24.0, -19.0),
    30: (0.0, 37.0, -24.0),
    31: (-15.0, 42.0, -6.0),
    32: (-8.0, 45.0, -11.0),
    33: (0.0, 47.0, -13.0),
    # right eye: outer corner 36, upper lid 37-38, inner corner 39, lower lid 40-41
    36: (-46.0, -1.5, 16.0),
    37: (-38.0, -5.5, 3.0),
    38: (-25.0, -5.5, -1.0),
    39: (-16.0, 0.0, 0.0),
    40: (-25.0, 3.5, -1.0),
    41: (-38.0, 3.0, 4.0),
    # outer lips: right corner 48, upper 49-51, lower 57-59
    48: (-25.0, 68.5, 8.0),
    49: (-15.0, 62.0, -6.0),
    50: (-6.0, 58.5, -12.0),
    51: (0.0, 59.5, -14.0),
    57: (0.0, 79.0, -11.0),
    58: (-7.0, 78.5, -10.0),
    59: (-16.0, 75.5, -4.0),
    # inner lips: right corner 60, upper 61-62, lower 66-67 (mouth closed, 0.8 mm apart)
    60: (-21.0, 68.5, 5.0),
    61: (-8.0, 67.4, -8.0),
    62: (0.0, 67.6, -9.0),
    66: (0.0, 68.4, -9.0),
    67: (-8.0, 68.2, -8.0),
}


def _mirror_complete(half: dict[int, tuple[float, float, float]]) -> np.ndarray:
    """Fill a (68, 3) array from one half plus midline by mirroring x -> -x across MIRROR."""
    out = np.full((N_LANDMARKS, 3), np.nan)
    for i, p in half.items():
        out[i] = p
        out[MIRROR[i]] = (-p[0], p[1], p[2])
    if np.isnan(out).any():
        raise ValueError("mean face is missing landmarks")
    return out


#: Mean adult neutral face, (68, 3) float64 mm, head frame, symmetric about x = 0.
#: Outer/inner eye-corner distance 92/32 mm, mouth width 50 mm, nasion-subnasale 48 mm,
#: jaw width |p0 - p16| 136 mm, chin 121 mm below the eyes.
MEAN_FACE: np.ndarray = _mirror_complete(_RIGHT_HALF)
MEAN_FACE.flags.writeable = False

_SEXES = {"F": "F", "FEMALE": "F", "M": "M", "MALE": "M"}


@dataclass(frozen=True, eq=False)
class Identity:
    """One synthetic person's neutral face.

    ``landmarks``: (68, 3) float64 mm in the head frame (origin at the midpoint of 39 and 42).
    ``sex``: "F" or "M". ``scale``: overall size relative to :data:`MEAN_FACE` (dimensionless);
    task movement amplitudes are scaled by it.
    """

    landmarks: np.ndarray
    sex: str
    scale: float


@dataclass(frozen=True)
class IdentityModel:
    """Population spread of face shape; all standard deviations are of the stated unit."""

    #: Mean overall scale of male and female faces relative to MEAN_FACE.
    scale_male: float = 1.03
    scale_female: float = 0.95
    #: SD of the individual overall scale (fraction).
    scale_sd: float = 0.03
    #: SD of log(face width / height) change.
    aspect_sd: float = 0.03
    #: SD of the relative mouth width change.
    mouth_width_sd: float = 0.06
    #: SD of the relative nose length change.
    nose_length_sd: float = 0.06
    #: SD of the change of each eye's distance from the midline (mm).
    eye_spacing_sd_mm: float = 1.2
    #: SD of the relative jaw width change (lower contour).
    jaw_width_sd: float = 0.05
    #: SD of the relative depth (z) change.
    depth_sd: float = 0.05
    #: RMS of the smooth left/right asymmetry field over all landmarks (mm).
    asymmetry_rms_mm: float = 1.2


def _asymmetry_field(points: np.ndarray, rng: np.random.Generator, rms_mm: float) -> np.ndarray:
    """Smooth antisymmetric displacement field (68, 3) mm with the given RMS magnitude.

    A random quadratic polynomial field in (x, y) is made antisymmetric under mirroring, so it
    changes the left and right halves differently and leaves the mean face shape otherwise alone.
    """
    u = points[:, 0] / 70.0
    v = (points[:, 1] - 50.0) / 70.0
    basis = np.stack([np.ones_like(u), u, v, u * v, u * u, v * v], axis=1)  # (68, 6)
    field = basis @ rng.normal(size=(6, 3))
    mirrored = field[list(MIRROR)] * np.array([-1.0, 1.0, 1.0])
    field = 0.5 * (field - mirrored)
    rms = np.sqrt(np.mean(np.sum(field**2, axis=1)))
    return field * (rms_mm / rms) if rms > 0 else field


def sample_identity(rng: np.random.Generator, sex: str, model: IdentityModel | None = None) -> Identity:
    """A random face: MEAN_FACE with smooth shape variation (deterministic for an rng state).

    ``sex``: "F"/"M" (or "female"/"male"). Varies overall scale by sex, width/height ratio,
    mouth width, nose length, eye spacing, jaw width, depth and a small (1-2 mm) asymmetry.
    """
    key = _SEXES.get(sex.strip().upper())
    if key is None:
        raise ValueError(f"sex must be 'F' or 'M', got {sex!r}")
    m = model or IdentityModel()
    p = np.array(MEAN_FACE, dtype=np.float64)

    mouth = list(MOUTH)
    p[mouth, 0] *= 1.0 + m.mouth_width_sd * rng.normal()

    nose = list(NOSE[1:])
    p[nose, 1] = p[27, 1] + (p[nose, 1] - p[27, 1]) * (1.0 + m.nose_length_sd * rng.normal())

    shift = m.eye_spacing_sd_mm * rng.normal()
    eyes, brows = list(EYES), list(BROWS)
    p[eyes, 0] += np.sign(p[eyes, 0]) * shift
    p[brows, 0] += np.sign(p[brows, 0]) * 0.7 * shift

    # jaw width: lower contour points scale more than those near the ears
    jaw_w = np.clip((p[:17, 1] - 20.0) / 60.0, 0.0, 1.0)
    p[:17, 0] *= 1.0 + m.jaw_width_sd * rng.normal() * jaw_w

    aspect = np.exp(m.aspect_sd * rng.normal())
    p[:, 0] *= np.sqrt(aspect)
    p[:, 1] /= np.sqrt(aspect)
    p[:, 2] *= 1.0 + m.depth_sd * rng.normal()

    scale = (m.scale_male if key == "M" else m.scale_female) * (1.0 + m.scale_sd * rng.normal())
    p *= scale
    p += _asymmetry_field(p, rng, m.asymmetry_rms_mm)
    p -= 0.5 * (p[INNER_EYE_R] + p[INNER_EYE_L])
    return Identity(landmarks=p, sex=key, scale=float(scale))

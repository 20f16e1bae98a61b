"""What a patient's face shows that a generic face corpus lacks: the demo's domain gap, in pixels only.

Public face-alignment training sets (300-W and its kind) hold almost no faces with clinical signs, so
a pre-trained model meets them for the first time on a patient. Two signs, common in the study's
groups and painted onto a participant's face texture (so they move with the face), never onto the
true landmarks:

- **Sialorrhea** (saliva at the lips): a wet film with specular highlights on the lower lip, saliva
  pooling at the weak mouth corner(s) and running down towards the chin. Reported in about half of
  people with ALS (bulbar weakness of lip seal and swallowing) and, less often, after stroke (weak
  lip seal on the paretic side); here 50 % of ALS and 30 % of PS participants.
- **Flattened nasolabial fold**: the fold from the nose wing to beyond the mouth corner fades when
  the muscles that lift the cheek are weak: on the paretic side in post-stroke central facial palsy
  (in proportion to the PS participant's weakness), on both sides, milder, with ALS facial weakness
  (in proportion to the ALS participant's range reduction).

A healthy face never carries them; ``synthetic.clinical_signs: false`` renders every patient without
them (the control: identical landmarks, movements and camera, only these pixels differ).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neuroface import landmarks as lm

__all__ = ["ClinicalSigns", "SignsModel", "paint_signs"]


@dataclass(frozen=True)
class ClinicalSigns:
    """One participant's visible signs. ``saliva`` in [0, 1] (0: none); ``drool_sides``: the corners
    (``"right"``, ``"left"``: the subject's) where saliva pools and runs down; ``fold_flattening``:
    (right, left) in [0, 1], 1 = fold gone."""

    saliva: float = 0.0
    drool_sides: tuple[str, ...] = ()
    fold_flattening: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.saliva <= 1.0 or not all(0.0 <= f <= 1.0 for f in self.fold_flattening):
            raise ValueError("saliva and fold_flattening must be in [0, 1]")
        if not set(self.drool_sides) <= {"right", "left"}:
            raise ValueError(f"drool_sides must name 'right' or 'left', got {self.drool_sides!r}")

    @property
    def any(self) -> bool:
        return self.saliva > 0 or any(f > 0 for f in self.fold_flattening)


@dataclass(frozen=True)
class SignsModel:
    """Who shows which sign, from the participant's disease parameters (:class:`DiseaseParams`)."""

    #: Share of participants with saliva at the lips, and the amount's uniform range when present.
    ps_saliva_share: float = 0.3
    als_saliva_share: float = 0.5
    saliva_amount: tuple[float, float] = (0.4, 1.0)
    #: PS: fold flattening on the paretic side = weakness / this, capped at 1.
    ps_fold_full_weakness: float = 0.3
    #: ALS: fold flattening on both sides = range_reduction / this, capped at ``als_fold_max``.
    als_fold_full_reduction: float = 0.4
    als_fold_max: float = 0.6

    def sample(self, disease, rng: np.random.Generator) -> ClinicalSigns:
        """Signs of a participant with parameters ``disease`` (none for HC)."""
        if disease.group == "HC":
            return ClinicalSigns()
        share = self.ps_saliva_share if disease.group == "PS" else self.als_saliva_share
        drools = rng.random() < share
        amount = float(rng.uniform(*self.saliva_amount))  # drawn either way: the stream does not depend on it
        if disease.group == "PS":
            fold = min(disease.weakness / self.ps_fold_full_weakness, 1.0)
            folds = (fold, 0.0) if disease.affected_side == "right" else (0.0, fold)
            sides = (disease.affected_side,)
        else:
            fold = min(disease.range_reduction / self.als_fold_full_reduction, 1.0) * self.als_fold_max
            folds = (fold, fold)
            sides = ("right", "left")
        return ClinicalSigns(amount if drools else 0.0, sides if drools else (), folds)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _feather(canvas: np.ndarray, blur: float) -> np.ndarray:
    """A uint8 canvas painted with 255 as a float32 mask in [0, 1], feathered by ``blur`` px."""
    return cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), max(blur, 0.3))


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def paint_signs(image: np.ndarray, points: np.ndarray, signs: ClinicalSigns) -> np.ndarray:
    """``image`` ``(H, W, 3)`` uint8 of a face with landmarks ``points`` ``(68, 2)`` px, with ``signs``
    painted on (a new array; the input is not changed). Sizes scale with the mouth width."""
    if not signs.any:
        return image
    pts = np.asarray(points, np.float64)
    img = image.astype(np.float32)
    shape = img.shape[:2]
    width = float(np.linalg.norm(pts[lm.MOUTH_CORNER_L] - pts[lm.MOUTH_CORNER_R]))
    centre = pts[[lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L]].mean(0)
    axis = _unit(pts[lm.MOUTH_CORNER_L] - pts[lm.MOUTH_CORNER_R])
    down = np.array([-axis[1], axis[0]])
    if down @ (pts[lm.CHIN] - centre) < 0:
        down = -down

    # flattened nasolabial fold: the fold's fine shading replaced by its smooth surroundings
    smooth = cv2.GaussianBlur(img, (0, 0), 0.12 * width)
    for amount, wing, corner in zip(
        signs.fold_flattening, (31, 35), (lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L), strict=True
    ):
        if amount <= 0:
            continue
        start = pts[wing] + 0.15 * width * _unit(pts[wing] - pts[lm.NOSE_BASE])
        end = pts[corner] + 0.25 * width * _unit(pts[corner] - centre)
        band = np.zeros(shape, np.uint8)
        cv2.line(band, _pt(start), _pt(end), 255, int(0.3 * width))
        img += (amount * _feather(band, 0.1 * width))[..., None] * (smooth - img)

    if signs.saliva > 0:
        s = signs.saliva
        white = np.array([245.0, 245.0, 240.0], np.float32)
        # wet film on the lower lip: a broken specular streak 40 % of the way from its inner to outer edge
        pairs = [(60, 59), (67, 58), (66, 57), (65, 56), (64, 55)]
        streak = np.array([pts[i] + 0.4 * (pts[o] - pts[i]) for i, o in pairs])
        film = np.zeros(shape, np.uint8)
        cv2.polylines(film, [np.round(streak).astype(np.int32)], False, 255, max(1, int(0.035 * width)))
        film = _feather(film, 0.012 * width)
        along = (np.arange(shape[1], dtype=np.float32) - centre[0]) / max(width, 1.0)
        film *= 0.55 + 0.45 * np.cos(2 * np.pi * 3.0 * along)[None, :]  # broken into glints
        img += (0.5 * s * film)[..., None] * (white - img)
        for side in signs.drool_sides:
            corner = pts[lm.MOUTH_CORNER_R if side == "right" else lm.MOUTH_CORNER_L]
            outward = _unit(corner - centre)
            bead = corner + 0.03 * width * outward + 0.02 * width * down
            radii = (0.6 + 0.4 * s) * np.array([0.06, 0.045]) * width
            axes = (max(1, int(radii[0])), max(1, int(radii[1])))
            angle = float(np.degrees(np.arctan2(axis[1], axis[0])))
            tip = bead + (0.45 * s * width) * _unit(down + 0.2 * outward)
            # the wet bead and trail darken the skin under them; their crests catch the light
            wet = np.zeros(shape, np.uint8)
            cv2.ellipse(wet, _pt(bead), axes, angle, 0, 360, 255, -1)
            cv2.line(wet, _pt(bead), _pt(tip), 255, max(1, int(0.03 * width)))
            img *= (1.0 - 0.25 * s * _feather(wet, 0.01 * width))[..., None]
            glint = np.zeros(shape, np.uint8)
            cv2.circle(glint, _pt(bead - 0.3 * radii[1] * down), max(1, int(0.35 * radii[1])), 255, -1)
            cv2.line(glint, _pt(bead), _pt(tip), 255, max(1, int(0.01 * width)))
            img += (0.8 * s * _feather(glint, 0.008 * width))[..., None] * (white - img)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)

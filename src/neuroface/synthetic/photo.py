"""Photographic synthetic faces: real base photos warped along moving 68-point landmarks.

The base photographs ship inside installed packages (``skimage.data.astronaut()`` and
matplotlib's sample ``grace_hopper.jpg``); their landmarks and head outlines were annotated
once (``tools/annotate_base_faces.py``) and live in ``data/base_faces.json``.

A :class:`FaceRenderer` maps a base face onto target landmarks with a piecewise-affine warp:
the control points are the 68 landmarks plus extra points (forehead arc, a ring around the
head and neck) that follow the best base->target similarity fitted on stable landmarks (and,
near the jaw, the landmarks' own motion). The head is composited over a background gradient
with a feathered alpha, a dark mouth cavity is drawn when the inner lips part, and appearance
(skin tone, lighting, noise) is configurable.
All coordinates are pixels, x right, y down, pixel centres at integers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist

import cv2
import numpy as np
from scipy.spatial import Delaunay

from neuroface.drawing import SHIFT, fixed_point
from neuroface.landmarks import (
    CHIN,
    INNER_LIPS,
    N_LANDMARKS,
    flip_points,
)
from neuroface.synthetic.signs import ClinicalSigns, paint_signs

_DATA = Path(__file__).with_name("data") / "base_faces.json"

#: Landmarks that the rigid head motion is fitted on: eye corners, nose, jaw at the ears.
STABLE = (0, 1, 15, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45)

_UPPER_INNER = (61, 62, 63)
_LOWER_INNER = (67, 66, 65)
_UPPER_OUTER = (50, 51, 52)
_LOWER_OUTER = (58, 57, 56)


@dataclass(frozen=True, eq=False)
class BaseFace:
    """A base photo with its landmarks.

    ``image``: ``(H, W, 3)`` uint8 RGB. ``landmarks``: ``(68, 2)`` float64 pixels.
    ``head_outline``: ``(N, 2)`` polygon around hair/hat + face + neck (pixels), or None to
    derive a rough one from the landmarks.
    """

    name: str
    image: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    head_outline: np.ndarray | None = field(default=None, repr=False)


def _load_image(source: dict[str, str]) -> np.ndarray:
    """Load a base photo from its JSON ``source`` entry; ``(H, W, 3)`` uint8 RGB."""
    loader = source["loader"]
    if loader == "skimage.data.astronaut":
        import skimage.data

        return np.ascontiguousarray(skimage.data.astronaut()[:, :, :3])
    if loader == "matplotlib.cbook.get_sample_data":
        import matplotlib.cbook
        import matplotlib.image

        path = matplotlib.cbook.get_sample_data(source["file"], asfileobj=False)
        return np.ascontiguousarray(matplotlib.image.imread(path)[:, :, :3])
    raise ValueError(f"unknown image loader {loader!r}")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@lru_cache(maxsize=1)
def _load_all() -> tuple[BaseFace, ...]:
    """Both photos, then their mirror images (cached, arrays read-only)."""
    doc = json.loads(_DATA.read_text())
    faces = []
    for entry in doc["faces"]:
        image = _load_image(entry["source"])
        if list(image.shape) != entry["shape"]:
            raise ValueError(f"{entry['name']}: image shape {image.shape} != {entry['shape']}")
        faces.append(
            BaseFace(
                name=entry["name"],
                image=_readonly(image),
                landmarks=_readonly(np.asarray(entry["landmarks"], dtype=np.float64)),
                head_outline=_readonly(np.asarray(entry["head_outline"], dtype=np.float64)),
            )
        )
    mirrored = []
    for face in faces:
        width = face.image.shape[1]
        outline = face.head_outline.copy()
        outline[:, 0] = width - 1 - outline[:, 0]
        mirrored.append(
            BaseFace(
                name=f"{face.name}_mirrored",
                image=_readonly(np.ascontiguousarray(face.image[:, ::-1])),
                landmarks=_readonly(flip_points(face.landmarks, width)),
                head_outline=_readonly(outline[::-1].copy()),
            )
        )
    return tuple(faces + mirrored)


def load_base_faces(include_mirrored: bool = True) -> list[BaseFace]:
    """The base photos (astronaut, grace_hopper), then their mirror images if asked."""
    faces = _load_all()
    return list(faces if include_mirrored else faces[: len(faces) // 2])


@dataclass(frozen=True)
class Appearance:
    """Look of a rendered face. Colours are RGB 0-255, gains multiply linear-ish uint8 values."""

    skin_gain: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per channel, on the head
    brightness: float = 1.0  # global gain, head and background
    light_angle: float = 0.0  # radians, direction (x right, y down) the head gets brighter towards
    light_strength: float = 0.0  # 0 = flat, 0.4 = strong side lighting (gain 1 +- 0.4)
    background_top: tuple[int, int, int] = (90, 100, 110)  # vertical background gradient
    background_bottom: tuple[int, int, int] = (60, 65, 70)
    noise_sigma: float = 2.0  # Gaussian sensor noise, grey levels
    mouth_color: tuple[int, int, int] = (92, 34, 32)  # mouth cavity near the lips
    throat_color: tuple[int, int, int] = (28, 8, 8)  # cavity's darkest part
    tongue_color: tuple[int, int, int] = (150, 72, 70)
    teeth_color: tuple[int, int, int] = (200, 186, 165)
    teeth_height: float = 0.09  # visible upper teeth, fraction of the mouth width (0 = none)


@dataclass(frozen=True)
class AppearanceRanges:
    """Uniform ranges from which :class:`Appearance` is drawn (per participant or per image)."""

    tone: tuple[float, float]
    channel_gains: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    brightness: tuple[float, float]
    light_strength: tuple[float, float]
    background_top: tuple[int, int]
    background_bottom: tuple[int, int]
    noise_sigma: tuple[float, float]

    def sample(self, rng: np.random.Generator) -> Appearance:
        tone = rng.uniform(*self.tone)
        return Appearance(
            skin_gain=tuple(tone * rng.uniform(*g) for g in self.channel_gains),
            brightness=float(rng.uniform(*self.brightness)),
            light_angle=float(rng.uniform(0, 2 * np.pi)),
            light_strength=float(rng.uniform(*self.light_strength)),
            background_top=tuple(int(v) for v in rng.integers(*self.background_top, 3)),
            background_bottom=tuple(int(v) for v in rng.integers(*self.background_bottom, 3)),
            noise_sigma=float(rng.uniform(*self.noise_sigma)),
        )


#: The cohort's recording conditions: one lab, a light beside the camera, plain backgrounds.
COHORT_LOOKS = AppearanceRanges(
    (0.7, 1.15), ((0.95, 1.08), (0.92, 1.02), (0.85, 1.0)), (0.85, 1.1), (0.0, 0.3), (60, 200), (30, 150), (1.0, 3.0)
)
#: "In the wild" images of the generic corpus: wider skin tones, lighting, backgrounds and noise.
GENERIC_LOOKS = AppearanceRanges(
    (0.55, 1.25), ((0.9, 1.1), (0.85, 1.05), (0.75, 1.05)), (0.6, 1.3), (0.0, 0.5), (0, 256), (0, 256), (0.5, 5.0)
)


def blend_base_faces(primary: BaseFace, secondary: BaseFace, weight: float) -> BaseFace:
    """A new identity between two photographs: ``secondary``'s face, warped onto ``primary``'s landmarks,
    mixed into ``primary``'s face (brows to chin) with ``weight`` in [0, 1]; hair, outline, landmarks and
    the teeth between the inner lips stay ``primary``'s (two mouths' teeth would ghost)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    points = np.asarray(primary.landmarks, np.float64)
    shape = primary.image.shape[:2]
    warped = FaceRenderer(secondary, Appearance(noise_sigma=0.0), out_shape=shape).render(points)
    _, _, fh, _, _ = _face_frame(points)
    face = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(face, fixed_point(cv2.convexHull(points[:27].astype(np.float32))[:, 0]), 255, shift=SHIFT)
    face = cv2.erode(face, np.ones((3, 3), np.uint8), iterations=max(1, int(0.03 * fh)))
    mouth = np.zeros(shape, np.uint8)
    cv2.fillPoly(mouth, [fixed_point(points[list(INNER_LIPS)])], 255, cv2.LINE_AA, shift=SHIFT)
    mask = cv2.GaussianBlur(face.astype(np.float32) / 255, (0, 0), 0.04 * fh)
    mask *= 1.0 - cv2.GaussianBlur(mouth.astype(np.float32) / 255, (0, 0), 0.01 * fh)
    image = primary.image.astype(np.float32)
    image += (weight * mask)[..., None] * (warped.astype(np.float32) - image)
    return BaseFace(
        name=f"{primary.name}+{weight:.2f}*{secondary.name}",
        image=_readonly(np.clip(np.round(image), 0, 255).astype(np.uint8)),
        landmarks=primary.landmarks,
        head_outline=primary.head_outline,
    )


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s * R @ src + t`` (Umeyama); ``(N, 2)`` each.

    Returns ``(s, R (2, 2), t (2,))``.
    """
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sig) @ d) / (a**2).sum())
    return scale, rot, mu_d - scale * rot @ mu_s


def place_landmarks(landmarks: np.ndarray, center: tuple[float, float], iod: float, roll: float = 0.0) -> np.ndarray:
    """Move/scale/rotate ``(68, 2)`` landmarks so the eye midpoint sits at ``center`` (pixels),
    the inter-ocular distance (eye centres) is ``iod`` pixels and the eye line is rolled by
    ``roll`` radians (positive = clockwise on screen, y down)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    right, left = lm[36:42].mean(0), lm[42:48].mean(0)
    mid = (right + left) / 2
    cur = np.arctan2(*(left - right)[::-1])
    ang = roll - cur
    c, s = np.cos(ang), np.sin(ang)
    k = iod / np.linalg.norm(left - right)
    rot = k * np.array([[c, -s], [s, c]])
    return (lm - mid) @ rot.T + np.asarray(center, dtype=np.float64)


def _face_frame(lm: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """``(iod, face width, face height, right axis (2,), down axis (2,))`` of landmarks."""
    right, left = lm[36:42].mean(0), lm[42:48].mean(0)
    ex = (left - right) / np.linalg.norm(left - right)
    ey = np.array([-ex[1], ex[0]])
    proj_x, proj_y = lm @ ex, lm @ ey
    return (float(np.linalg.norm(left - right)), float(np.ptp(proj_x)), float(np.ptp(proj_y)), ex, ey)


def _default_outline(lm: np.ndarray) -> np.ndarray:
    """Rough head polygon ``(N, 2)`` from landmarks alone: hull of the face, the brows raised
    by half a face height and a neck quad (for base faces without a stored outline)."""
    _, fw, fh, ex, ey = _face_frame(lm)
    forehead = lm[17:27] - 0.5 * fh * ey
    neck = lm[CHIN] + 0.75 * fh * ey + np.array([[-0.3], [0.3]]) * fw * ex
    pts = np.vstack([lm, forehead, neck]).astype(np.float32)
    return cv2.convexHull(pts)[:, 0, :].astype(np.float64)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _area2(p: np.ndarray) -> np.ndarray:
    """Twice the signed areas of triangles ``(T, 3, 2)`` -> ``(T,)``; > 0 = clockwise on screen
    (counter-clockwise in x-right/y-up axes)."""
    u, v = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def _force_edges(tri: np.ndarray, pts: np.ndarray, edges: list[tuple[int, int]]) -> np.ndarray:
    """Flip edges of triangulation ``tri`` ``(T, 3)`` (positive orientation, points ``pts``)
    until every constraint edge ``(a, b)`` is a triangle edge (Sloan's edge flipping)."""
    tris = [list(t) for t in tri]

    def orient(a: int, b: int, c: int) -> float:
        return float(_area2(pts[[[a, b, c]]])[0])

    def flip_crossing(a: int, b: int) -> bool:
        """Flip one triangle edge that crosses segment a-b; False if none can be flipped."""
        for i, t in enumerate(tris):
            for k in range(3):
                c, d, e = t[k], t[(k + 1) % 3], t[(k + 2) % 3]
                if {c, d} & {a, b} or orient(a, b, c) * orient(a, b, d) >= 0 or orient(c, d, a) * orient(c, d, b) >= 0:
                    continue
                j = next(j for j, u in enumerate(tris) if c in u and d in u and j != i)
                f = next(v for v in tris[j] if v not in (c, d))
                if orient(e, c, f) > 0 and orient(f, d, e) > 0:  # quad c-f-d-e is convex
                    tris[i], tris[j] = [c, f, e], [f, d, e]
                    return True
        return False

    for a, b in edges:
        for _ in range(len(tris)):
            if any(a in t and b in t for t in tris):
                break
            if not flip_crossing(a, b):
                raise RuntimeError(f"cannot make {a}-{b} a triangulation edge")
        else:
            raise RuntimeError(f"cannot make {a}-{b} a triangulation edge")
    return np.array(tris, dtype=np.int64)


class FaceRenderer:
    """Render one base face with one appearance (and a patient's visible ``signs``, if any) onto
    target landmarks, ``out_shape = (H, W)``."""

    #: Neck alpha fades out between these distances below the chin (face heights).
    NECK_FADE = (0.2, 0.55)
    #: Rigid forehead arc: brow points moved up by this many face heights.
    FOREHEAD = 0.3
    #: Extra points follow landmark motion within about this distance (face heights).
    FOLLOW = 0.12
    #: Cavity fully dark once the inner-lip gap exceeds the base's by this (inter-ocular units).
    OPEN_RAMP = 0.06

    def __init__(
        self,
        base: BaseFace,
        appearance: Appearance,
        out_shape: tuple[int, int] = (480, 640),
        signs: ClinicalSigns | None = None,
    ) -> None:
        self.base = base
        self.appearance = appearance
        self.signs = signs
        self.out_shape = (int(out_shape[0]), int(out_shape[1]))
        lm = np.asarray(base.landmarks, dtype=np.float64)
        if lm.shape != (N_LANDMARKS, 2):
            raise ValueError(f"base landmarks must be (68, 2), got {lm.shape}")
        self._lm = lm
        self._iod, self._fw, self._fh, _, ey = _face_frame(lm)
        self._alpha = self._alpha_map(ey)  # (Hb, Wb) uint8
        self._src = self._lit_image()  # (Hb, Wb, 3) uint8
        if signs is not None:  # painted on the texture: they move with the face
            self._src = paint_signs(self._src, lm, signs)
        self._extra = self._extra_points(self._alpha, ey)
        self._ctrl = np.vstack([lm, self._extra])
        dist2 = ((self._extra[:, None, :] - lm[None]) ** 2).sum(-1)
        follow = np.exp(-dist2 / (2 * (self.FOLLOW * self._fh) ** 2))  # (M, 68)
        self._follow = follow / np.maximum(follow.sum(1, keepdims=True), 1.0)
        self._tri = self._triangulate()
        self._stable_b = lm[list(STABLE)]
        self._gap_b = self._gap(lm)
        self._background = self._make_background()
        h, w = self.out_shape
        self._gx = np.tile(np.arange(w, dtype=np.float32), (h, 1))
        self._gy = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
        quant = [NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)]
        self._noise_lut = np.round(np.array(quant) * appearance.noise_sigma).astype(np.int16)
        tex_rng = np.random.default_rng(12345)
        self._mouth_tex = tex_rng.normal(0.0, 1.0, (64, 128)).astype(np.float32)
        self._mouth_tex = cv2.GaussianBlur(self._mouth_tex, (0, 0), 1.5) * 2.0

    # ---------------------------------------------------------------- precomputation
    def _alpha_map(self, ey: np.ndarray) -> np.ndarray:
        """Feathered head alpha in base-image pixels, ``(Hb, Wb)`` uint8 (neck fades out)."""
        hb, wb = self.base.image.shape[:2]
        outline = self.base.head_outline
        if outline is None:
            outline = _default_outline(self._lm)
        mask = np.zeros((hb, wb), np.uint8)
        cv2.fillPoly(mask, [fixed_point(np.asarray(outline, np.float64))], 255, cv2.LINE_AA, shift=SHIFT)
        sigma = max(1.0, 0.03 * self._iod)
        # pull the edge in a little so the photo's own background does not halo the head
        r = int(np.ceil(1.5 * sigma))
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
        soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma)
        hull = np.zeros_like(mask)
        cv2.fillConvexPoly(hull, cv2.convexHull(fixed_point(self._lm)), 255, cv2.LINE_AA, shift=SHIFT)
        soft = np.maximum(soft, hull.astype(np.float32) / 255.0)
        ys, xs = np.mgrid[0:hb, 0:wb].astype(np.float32)
        below = ((xs - self._lm[CHIN, 0]) * ey[0] + (ys - self._lm[CHIN, 1]) * ey[1]) / self._fh
        f0, f1 = self.NECK_FADE
        soft *= 1.0 - _smoothstep((below - f0) / (f1 - f0))
        return np.round(soft * 255).astype(np.uint8)

    def _lit_image(self) -> np.ndarray:
        """Base photo with skin gain, brightness and the shading gradient, ``(Hb, Wb, 3)`` uint8."""
        app = self.appearance
        hb, wb = self.base.image.shape[:2]
        gain = np.asarray(app.skin_gain, np.float32) * np.float32(app.brightness)
        img = self.base.image.astype(np.float32) * gain
        if app.light_strength:
            centre = self._lm.mean(0)
            direction = np.array([np.cos(app.light_angle), np.sin(app.light_angle)])
            ys, xs = np.mgrid[0:hb, 0:wb].astype(np.float32)
            d = (xs - centre[0]) * direction[0] + (ys - centre[1]) * direction[1]
            d = np.clip(d / (0.75 * self._fh), -1.0, 1.0)
            img *= (1.0 + app.light_strength * d)[..., None]
        return np.clip(np.round(img), 0, 255).astype(np.uint8)

    def _extra_points(self, alpha: np.ndarray, ey: np.ndarray) -> np.ndarray:
        """Extra control points ``(M, 2)``: forehead arc + a ring just outside the alpha support."""
        margin = int(np.ceil(0.03 * self._fw)) + 2
        support = (alpha > 0).astype(np.uint8)
        support = cv2.dilate(support, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1)))
        contours, _ = cv2.findContours(support, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        ring = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 0.02 * self._fw, True)
        ring = ring[:, 0, :].astype(np.float64)
        # subdivide long edges so the big hair/neck triangles stay reasonably shaped
        max_len = 0.25 * self._fw
        pts = []
        for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
            n = max(1, int(np.ceil(np.linalg.norm(b - a) / max_len)))
            pts.extend(a + (b - a) * k / n for k in range(n))
        forehead = self._lm[17:27] - self.FOREHEAD * self._fh * ey
        return np.vstack([forehead, np.array(pts)])

    def _triangulate(self) -> np.ndarray:
        """Delaunay triangles ``(T, 3)`` of the control points, positively oriented (:func:`_area2`).

        Computed with the mouth held open, and edges flipped so that the inner-lip outline
        60-67 is made of triangle edges: the mouth interior is covered only by triangles among
        60-67, whatever the lips do.
        """
        pts = self._ctrl.copy()
        up, lo = list(_UPPER_INNER), list(_LOWER_INNER)
        pts[up] = 0.5 * (pts[up] + pts[list(_UPPER_OUTER)])
        pts[lo] = 0.5 * (pts[lo] + pts[list(_LOWER_OUTER)])
        tri = Delaunay(pts).simplices.astype(np.int64)
        flip = _area2(pts[tri]) < 0
        tri[flip] = tri[flip][:, [0, 2, 1]]
        ring = [(a, b) for a, b in zip(INNER_LIPS, INNER_LIPS[1:] + INNER_LIPS[:1], strict=True)]
        tri = _force_edges(tri, pts, ring)
        return tri[_area2(pts[tri]) > 1e-6 * self._fw**2]  # drop flat slivers on the hull

    def _make_background(self) -> np.ndarray:
        """Vertical gradient, ``(H, W, 3)`` uint8."""
        app = self.appearance
        h, w = self.out_shape
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        top = np.asarray(app.background_top, np.float32)
        bottom = np.asarray(app.background_bottom, np.float32)
        col = (top + (bottom - top) * t) * np.float32(app.brightness)
        col = np.clip(np.round(col), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(col[:, None, :], (h, w, 3)))

    @staticmethod
    def _gap(lm: np.ndarray) -> float:
        """Mean inner-lip gap (pixels)."""
        return float(np.linalg.norm(lm[list(_UPPER_INNER)] - lm[list(_LOWER_INNER)], axis=1).mean())

    # ---------------------------------------------------------------- per frame
    def control_points(self, target: np.ndarray) -> tuple[np.ndarray, float]:
        """Target control points ``(68 + M, 2)`` and the base->target similarity scale.

        Extra points follow the similarity fitted on :data:`STABLE` landmarks, plus the
        landmarks' residual motion, Gaussian-weighted by base distance (so neck points under
        the jaw follow an opening jaw while hair and forehead stay rigid).
        """
        target = np.asarray(target, dtype=np.float64)
        if target.shape != (N_LANDMARKS, 2):
            raise ValueError(f"target must be (68, 2), got {target.shape}")
        s, rot, t = fit_similarity(self._stable_b, target[list(STABLE)])
        sim = s * rot
        residual = target - (self._lm @ sim.T + t)
        return np.vstack([target, self._extra @ sim.T + t + self._follow @ residual]), s

    def _warp_maps(self, ctrl: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
        """ROI ``(x0, y0, x1, y1)`` in the output and float32 remap maps (target -> base)."""
        h, w = self.out_shape
        x0, y0 = np.floor(ctrl.min(0)).astype(int)
        x1, y1 = np.ceil(ctrl.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return None
        pt = ctrl[self._tri] - np.array([x0, y0], dtype=np.float64)  # (T, 3, 2) ROI coords
        ps = self._ctrl[self._tri]  # (T, 3, 2) base coords
        ok = np.abs(_area2(pt)) > 1e-3
        a = np.concatenate([pt[ok], np.ones((int(ok.sum()), 3, 1))], axis=2)  # (T', 3, 3)
        coef = np.linalg.solve(a, ps[ok])  # (T', 3, 2): [x, y, 1] @ coef = source xy
        table = np.full((coef.shape[0] + 1, 3, 2), 0.0)
        table[0, 2] = -1000.0  # pixels outside every triangle sample nothing (alpha 0)
        table[1:] = coef
        table = table.astype(np.float32)
        tid = np.zeros((y1 - y0, x1 - x0), np.uint16)
        for i, tri in enumerate(fixed_point(pt[ok])):
            cv2.fillConvexPoly(tid, tri, i + 1, cv2.LINE_8, shift=SHIFT)
        # sliver triangles can leave single-pixel gaps: give those a neighbour's triangle
        tid = np.where(tid == 0, cv2.dilate(tid, np.ones((3, 3), np.uint8)), tid)
        gx, gy = self._gx[: y1 - y0, : x1 - x0], self._gy[: y1 - y0, : x1 - x0]
        cx, cy = table[:, :, 0].T.copy(), table[:, :, 1].T.copy()  # (3, T + 1) each
        map_x = np.take(cx[0], tid) * gx + np.take(cx[1], tid) * gy + np.take(cx[2], tid)
        map_y = np.take(cy[0], tid) * gx + np.take(cy[1], tid) * gy + np.take(cy[2], tid)
        return (x0, y0, x1, y1), map_x, map_y

    def render(self, target: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frame whose face has landmarks ``target`` ``(68, 2)`` (output pixels).

        Returns ``(H, W, 3)`` uint8 RGB; sensor noise drawn from ``rng`` (none if None).
        """
        ctrl, scale = self.control_points(target)
        out = self._background.copy()
        warp = self._warp_maps(ctrl)
        if warp is not None:
            (x0, y0, x1, y1), map_x, map_y = warp
            rgb = cv2.remap(self._src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            alpha = cv2.remap(
                self._alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            self._draw_cavity(rgb, ctrl[:N_LANDMARKS] - (x0, y0), scale)
            alpha = alpha.astype(np.float32) * np.float32(1 / 255)
            roi = out[y0:y1, x0:x1]
            roi[:] = cv2.blendLinear(rgb, roi, alpha, 1.0 - alpha)
        if rng is not None and self.appearance.noise_sigma > 0:
            h, w = self.out_shape
            noise = cv2.LUT(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), self._noise_lut)
            out = cv2.add(out, noise, dtype=cv2.CV_8U)
        return out

    def head_mask(self, target: np.ndarray) -> np.ndarray:
        """``(H, W)`` bool: pixels covered by the rendered head (alpha >= 0.5) for ``target``."""
        ctrl, _ = self.control_points(target)
        mask = np.zeros(self.out_shape, bool)
        warp = self._warp_maps(ctrl)
        if warp is not None:
            (x0, y0, x1, y1), map_x, map_y = warp
            alpha = cv2.remap(
                self._alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            mask[y0:y1, x0:x1] = alpha >= 128
        hull = np.zeros(self.out_shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(fixed_point(ctrl[:N_LANDMARKS])), 1, cv2.LINE_8, shift=SHIFT)
        return mask | hull.astype(bool)

    def mouth_openness(self, target: np.ndarray) -> float:
        """Cavity opacity in [0, 1] for ``target`` (0 = lips as in the base photo or closer)."""
        _, scale = self.control_points(target)
        return self._openness(np.asarray(target, np.float64), scale)

    def _openness(self, lm: np.ndarray, scale: float) -> float:
        extra = self._gap(lm) / scale - self._gap_b
        return float(np.clip(extra / (self.OPEN_RAMP * self._iod), 0.0, 1.0))

    def _draw_cavity(self, rgb: np.ndarray, lm: np.ndarray, scale: float) -> None:
        """Paint the dark mouth interior into ``rgb`` (ROI, in place); ``lm`` in ROI pixels."""
        opacity = self._openness(lm, scale)
        if opacity <= 0.0:
            return
        poly = lm[list(INNER_LIPS)]
        h, w = rgb.shape[:2]
        px0, py0 = np.maximum(np.floor(poly.min(0)).astype(int) - 1, 0)
        px1, py1 = np.minimum(np.ceil(poly.max(0)).astype(int) + 2, (w, h))
        if px1 <= px0 or py1 <= py0:
            return
        mask = np.zeros((py1 - py0, px1 - px0), np.uint8)
        cv2.fillPoly(mask, [fixed_point(poly - (px0, py0))], 255, cv2.LINE_AA, shift=SHIFT)
        # mouth frame: u along corner 60 -> 64, v perpendicular (down on an upright face)
        c0, c1 = lm[60], lm[64]
        width = max(float(np.linalg.norm(c1 - c0)), 1.0)
        eu = (c1 - c0) / width
        ev = np.array([-eu[1], eu[0]])
        ys, xs = np.mgrid[py0:py1, px0:px1].astype(np.float32)
        u = (xs - c0[0]) * eu[0] + (ys - c0[1]) * eu[1]
        v = (xs - c0[0]) * ev[0] + (ys - c0[1]) * ev[1]
        up = (lm[[60, 61, 62, 63, 64]] - c0) @ np.stack([eu, ev], 1)
        lo = (lm[[60, 67, 66, 65, 64]] - c0) @ np.stack([eu, ev], 1)
        v_up = np.interp(u, *up[np.argsort(up[:, 0])].T)
        v_lo = np.interp(u, *lo[np.argsort(lo[:, 0])].T)
        gap = np.maximum(v_lo - v_up, 1e-3)
        t = np.clip((v - v_up) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower
        app = self.appearance
        bright = np.float32(app.brightness)
        mouth = np.asarray(app.mouth_color, np.float32) * bright
        throat = np.asarray(app.throat_color, np.float32) * bright
        depth = _smoothstep(1.0 - np.abs(2.0 * t - 1.0) ** 0.7)  # 1 in the middle
        x_rel = 2.0 * u / width - 1.0  # -1 at corner 60, +1 at corner 64
        side = _smoothstep(1.0 - np.abs(x_rel))  # 1 at mid-mouth
        dark = (depth * (0.4 + 0.6 * side))[..., None]
        col = mouth + (throat - mouth) * dark
        # tongue: a lighter bulge along the lower lip
        arch = np.sqrt(np.clip(1.0 - (x_rel / 0.75) ** 2, 0.0, 1.0))
        tongue = 0.55 * _smoothstep((t - 0.62) / 0.3) * arch
        col += (np.asarray(app.tongue_color, np.float32) * bright - col) * tongue[..., None]
        # upper teeth: an arch under the upper lip (smooth quadratic fit) over mid-mouth
        lip = np.polyval(np.polyfit(up[:, 0], up[:, 1], 2), u)
        teeth_h = np.minimum(app.teeth_height * width * np.sqrt(arch), 0.45 * gap)
        soft = max(0.012 * width, 0.6)
        tooth = _smoothstep((lip + teeth_h - v) / soft) * _smoothstep(teeth_h / soft)
        period = width / 8.0
        ridge = 0.85 + 0.15 * np.abs(np.sin(np.pi * (u - width / 2) / period)) ** 0.3
        shade = (0.75 + 0.25 * arch) * (0.8 + 0.2 * _smoothstep((v - v_up) / (2 * soft)))
        teeth = np.asarray(app.teeth_color, np.float32) * bright
        col += (teeth * (ridge * shade)[..., None] - col) * tooth[..., None]
        th, tw = self._mouth_tex.shape
        tex = self._mouth_tex[np.arange(py1 - py0) % th][:, np.arange(px1 - px0) % tw]
        col += tex[..., None]
        a = (mask.astype(np.float32) * np.float32(opacity / 255))[..., None]
        patch = rgb[py0:py1, px0:px1].astype(np.float32)
        rgb[py0:py1, px0:px1] = np.clip(np.round(patch + (col - patch) * a), 0, 255)

"""Tests for the photographic face renderer (neuroface.synthetic.photo)."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from neuroface.landmarks import INNER_LIPS, flip_points
from neuroface.synthetic import photo
from neuroface.synthetic.photo import Appearance, BaseFace, FaceRenderer, load_base_faces, place_landmarks

APPEARANCES = (
    Appearance(),
    Appearance(
        skin_gain=(0.75, 0.62, 0.5),
        brightness=0.9,
        light_angle=0.3,
        light_strength=0.35,
        background_top=(150, 150, 140),
        background_bottom=(120, 115, 110),
    ),
    Appearance(
        skin_gain=(1.1, 1.05, 1.0),
        brightness=1.1,
        light_angle=3.0,
        light_strength=0.25,
        background_top=(40, 45, 60),
        background_bottom=(20, 20, 30),
    ),
)


def expression(lm: np.ndarray, kind: str) -> np.ndarray:
    """Base landmarks ``(68, 2)`` with an expression: neutral, open (lower lip and jaw down by a
    quarter of the face height) or spread (mouth corners out by a fifth of the mouth width)."""
    lm = np.array(lm, dtype=np.float64)
    if kind == "open":
        weight = np.zeros(68)
        weight[[55, 56, 57, 58, 59, 65, 66, 67]] = 1.0
        weight[[48, 54, 60, 64]] = 0.3
        jaw = np.arange(3, 14)
        weight[jaw] = np.clip(1.0 - np.abs(jaw - 8) / 5.5, 0.0, 1.0)
        lm[:, 1] += weight * 0.25 * np.ptp(lm[:, 1])
    elif kind == "spread":
        width = lm[54, 0] - lm[48, 0]
        centre = lm[48:68, 0].mean()
        lm[48:68, 0] += 0.2 * width * np.clip((lm[48:68, 0] - centre) / (width / 2), -1.0, 1.0)
    return lm


def centred(lm: np.ndarray, iod: float, roll_deg: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """Landmarks scaled to ``iod`` pixels, rolled, their box centred at (320, 240) + shift."""
    t = place_landmarks(lm, (0.0, 0.0), iod, np.deg2rad(roll_deg))
    return t + np.array([320.0 + shift[0], 240.0 + shift[1]]) - (t.min(0) + t.max(0)) / 2


def hull_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centres lie inside the convex hull of ``points`` ``(N, 2)``."""
    hull = cv2.convexHull(points.astype(np.float32))[:, 0].astype(np.float64)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return MplPath(hull).contains_points(np.c_[xs.ravel(), ys.ravel()]).reshape(shape)


def poly_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.fixture(scope="module")
def faces() -> list[BaseFace]:
    return load_base_faces()


def test_base_faces(faces):
    assert [f.name for f in faces] == ["astronaut", "grace_hopper", "astronaut_mirrored", "grace_hopper_mirrored"]
    assert [f.name for f in load_base_faces(include_mirrored=False)] == ["astronaut", "grace_hopper"]
    for face in faces:
        h, w = face.image.shape[:2]
        assert face.image.dtype == np.uint8 and face.image.shape[2] == 3
        assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float64
        assert np.all(face.landmarks >= 0) and np.all(face.landmarks < [w, h])
        # eyes above nose above mouth above chin; subject's right eye on the image's left
        assert face.landmarks[36:48, 1].mean() < face.landmarks[30, 1] < face.landmarks[57, 1] < face.landmarks[8, 1]
        assert face.landmarks[36:42, 0].mean() < face.landmarks[42:48, 0].mean()
    for orig, mirr in zip(faces[:2], faces[2:], strict=True):
        np.testing.assert_array_equal(mirr.image, orig.image[:, ::-1])
        np.testing.assert_allclose(mirr.landmarks, flip_points(orig.landmarks, orig.image.shape[1]))


def test_json_provenance():
    doc = json.loads(photo._DATA.read_text())
    for entry in doc["faces"]:
        assert {"name", "source", "shape", "landmarks", "head_outline", "provenance"} <= set(entry)
        assert len(entry["landmarks"]) == 68 and "dlib" in entry["provenance"]


def test_triangulation_keeps_mouth_and_does_not_fold(faces):
    for face in faces:
        r = FaceRenderer(face, Appearance())
        edges = {frozenset(e) for t in r._tri for e in itertools.combinations(t, 2)}
        ring = zip(INNER_LIPS, INNER_LIPS[1:] + INNER_LIPS[:1], strict=True)
        assert all(frozenset(e) in edges for e in ring)
        interior = np.all(np.isin(r._tri, INNER_LIPS), axis=1)
        assert np.all(photo._area2(r._ctrl[r._tri])[~interior] > 0)
        for kind, roll in itertools.product(("neutral", "open", "spread"), (-8, 8)):
            ctrl, _ = r.control_points(centred(expression(face.landmarks, kind), 80, roll))
            area = photo._area2(ctrl[r._tri])
            assert np.all(area[~interior] > 0) and np.all(area[interior] > -1e-6), (face.name, kind, roll)


def test_haar_cascade_finds_the_face(faces):
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not cascade.empty()
    rng = np.random.default_rng(0)
    hits, misses = 0, []
    for face in faces:
        renderers = [FaceRenderer(face, app) for app in APPEARANCES]
        grid = itertools.product(
            (55, 80, 110), ((0, 0), (-40, 25), (40, -25)), (-8, 0, 8), ("neutral", "open", "spread")
        )
        for k, (iod, shift, roll, kind) in enumerate(grid):
            target = centred(expression(face.landmarks, kind), iod, roll, shift)
            image = renderers[k % len(renderers)].render(target, rng)
            found = cascade.detectMultiScale(
                cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), scaleFactor=1.1, minNeighbors=5, minSize=(80, 80)
            )
            box = np.r_[target.min(0), target.max(0)]
            ok = len(found) == 1 and iou(np.r_[found[0][:2], found[0][:2] + found[0][2:]], box) > 0.3
            hits += ok
            if not ok:
                misses.append((face.name, iod, shift, roll, kind, len(found)))
    rate = hits / (hits + len(misses))
    print(f"Haar detection rate {rate:.3f} ({hits}/{hits + len(misses)}); misses: {misses}")
    assert rate >= 0.95


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of boxes ``(x0, y0, x1, y1)``."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_base_landmarks_reproduce_the_photo(faces):
    for face in faces:
        offset = np.array([320.0, 240.0]) - np.round(face.landmarks.mean(0))
        image = FaceRenderer(face, Appearance()).render(face.landmarks + offset)
        ys, xs = np.nonzero(hull_mask(face.landmarks, face.image.shape[:2]))
        rendered = image[ys + int(offset[1]), xs + int(offset[0])].astype(float)
        diff = np.abs(rendered - face.image[ys, xs])
        assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 2, face.name


def test_mouth_cavity_dark_when_open_absent_when_closed(faces):
    for face in faces:
        r = FaceRenderer(face, Appearance())
        neutral = centred(face.landmarks, 90)
        skin = r.render(neutral)[hull_mask(neutral, r.out_shape)].mean()
        opened = centred(expression(face.landmarks, "open"), 90)
        assert r.mouth_openness(opened) == 1.0
        inside = poly_mask(opened[list(INNER_LIPS)], r.out_shape)
        assert r.render(opened)[inside].mean() < 0.5 * skin, face.name

        closed = face.landmarks.copy()
        mid = (closed[[61, 62, 63]] + closed[[67, 66, 65]]) / 2
        closed[[61, 62, 63]] = closed[[67, 66, 65]] = mid
        closed = centred(closed, 90)
        assert r.mouth_openness(closed) < 1e-9
        white = FaceRenderer(face, Appearance(mouth_color=(255,) * 3, throat_color=(255,) * 3))
        np.testing.assert_array_equal(r.render(closed), white.render(closed))
        assert r.mouth_openness(neutral) < 1e-9


def test_deterministic(faces):
    r = FaceRenderer(faces[1], APPEARANCES[1])
    target = centred(expression(faces[1].landmarks, "open"), 70, 5)
    a = r.render(target, np.random.default_rng(7))
    b = r.render(target, np.random.default_rng(7))
    c = r.render(target, np.random.default_rng(8))
    assert a.shape == (480, 640, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    noise = a.astype(float) - r.render(target).astype(float)
    assert 1.5 < noise.std() < 2.5  # noise_sigma = 2
    assert r.render(target).tobytes() == r.render(target).tobytes()


def test_head_mask_covers_landmarks(faces):
    for face, kind, roll in itertools.product(faces, ("neutral", "open"), (-8, 8)):
        r = FaceRenderer(face, Appearance())
        target = centred(expression(face.landmarks, kind), 75, roll)
        mask = r.head_mask(target)
        assert mask.shape == (480, 640) and mask.dtype == bool
        assert np.all(mask[hull_mask(target, mask.shape)])
        assert not mask[0, 0] and not mask[-1, -1] and mask.mean() < 0.5
        # the mask is where the head was drawn: background elsewhere
        image = r.render(target)
        background = r._background
        assert np.abs(image[~mask].astype(int) - background[~mask]).mean() < 3


def test_appearance_knobs(faces):
    face = faces[0]
    target = centred(face.landmarks, 80)
    inside = hull_mask(target, (480, 640))
    plain = FaceRenderer(face, Appearance(noise_sigma=0.0)).render(target).astype(float)
    tinted = FaceRenderer(face, Appearance(skin_gain=(1.0, 0.8, 0.6))).render(target).astype(float)
    ratio = tinted[inside].mean(0) / plain[inside].mean(0)
    np.testing.assert_allclose(ratio, (1.0, 0.8, 0.6), atol=0.03)
    lit = FaceRenderer(face, Appearance(light_angle=0.0, light_strength=0.4)).render(target).astype(float)
    left, right = inside.copy(), inside.copy()
    cx = int(target[:, 0].mean())
    left[:, cx:], right[:, :cx] = False, False
    assert lit[right].mean() / plain[right].mean() > 1.1 > 0.9 > lit[left].mean() / plain[left].mean()
    app = Appearance(background_top=(200, 10, 10), background_bottom=(10, 10, 200), brightness=0.5)
    bg = FaceRenderer(face, app).render(target)
    np.testing.assert_allclose(bg[0, 0], (100, 5, 5), atol=1)
    np.testing.assert_allclose(bg[-1, -1], (5, 5, 100), atol=1)


def test_rejects_bad_shapes(faces):
    r = FaceRenderer(faces[0], Appearance())
    with pytest.raises(ValueError):
        r.render(np.zeros((67, 2)))
    off_screen = centred(faces[0].landmarks, 80, shift=(5000, 0))
    np.testing.assert_array_equal(r.render(off_screen), r._background)


def test_blended_face_mixes_only_the_face(faces):
    """photo.blend_base_faces: weight 0 is the base photograph; any weight keeps hair, outline and landmarks,
    and changes pixels only inside the face (brows to chin)."""
    base, other = faces[0], faces[1]
    assert np.array_equal(photo.blend_base_faces(base, other, 0.0).image, base.image)
    mixed = photo.blend_base_faces(base, other, 0.5)
    assert np.array_equal(mixed.landmarks, base.landmarks) and np.array_equal(mixed.head_outline, base.head_outline)
    changed = np.abs(mixed.image.astype(int) - base.image).max(axis=2) > 2
    face = hull_mask(base.landmarks[:27], base.image.shape[:2])
    assert changed[face].mean() > 0.3  # the face took on the other photograph
    # hair, background and neck did not (beyond the mask's feathered edge, a tenth of the face's height)
    margin = int(0.1 * np.ptp(base.landmarks[:, 1]))
    near = cv2.dilate(face.astype(np.uint8), np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)).astype(bool)
    assert not changed[~near].any()
    with pytest.raises(ValueError):
        photo.blend_base_faces(base, other, 1.5)

"""The face detector on the synthetic renderer's faces and on images without a face."""

from __future__ import annotations

import numpy as np

from neuroface.fan.detection import HaarDetector
from neuroface.synthetic.photo import Appearance, FaceRenderer, load_base_faces, place_landmarks


def test_finds_the_rendered_face_and_nothing_in_noise():
    detect = HaarDetector()
    for base in load_base_faces():
        target = place_landmarks(base.landmarks, (320.0, 250.0), 90.0, 0.0)
        box = detect(FaceRenderer(base, Appearance()).render(target))
        assert box is not None, base.name
        lo, hi = target.min(axis=0), target.max(axis=0)
        inter = np.clip(np.minimum(hi, box[2:]) - np.maximum(lo, box[:2]), 0, None).prod()
        assert inter / (hi - lo).prod() > 0.5  # the box covers the face
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3)).astype(np.uint8)
    assert detect(np.zeros((480, 640, 3), np.uint8)) is None and detect(noise) is None

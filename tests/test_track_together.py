"""Tracking several models over one pass of a recording (``track_together``) gives each model
exactly the table its own ``Tracker.track`` gives, reading every frame once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroface.realsense.bag import Frame
from neuroface.tracking.tracker import Tracker, TrackerSettings, track_together


class Wobbly:
    """A predictor whose landmarks follow a drifting face, with its own noise; confidence 0 on
    the frames in ``blind`` (as a predictor that lost the face)."""

    def __init__(self, seed: int, blind=()):
        self.seed, self.blind = seed, set(blind)

    def predict(self, images, boxes):
        idx = [int(im[0, 0, 0]) for im in images]  # frames carry their index in their first pixel
        base = np.random.default_rng(0).uniform(120, 220, (68, 2))
        pts = np.stack([base + 2.0 * i + np.random.default_rng([self.seed, i]).normal(0, 0.5, (68, 2)) for i in idx])
        conf = np.array([[0.0 if i in self.blind else 0.7] * 68 for i in idx])
        return pts, conf

    def predict_refined(self, images, boxes):
        return self.predict(images, boxes)


class Counting:
    """Frames 0..n-1 that count how often they are read."""

    def __init__(self, n: int):
        self.n, self.reads = n, 0

    def __iter__(self):
        for i in range(self.n):
            self.reads += 1
            image = np.zeros((8, 8, 3), np.uint8)
            image[0, 0, 0] = i
            yield Frame(frame_number=100 + 2 * i, timestamp_ms=20.0 * i, data=image)


def detector(image):
    return np.array([100.0, 100, 260, 260])


def test_tracking_models_together_equals_tracking_each_alone():
    settings = TrackerSettings(batch_size=5)
    predictors = {"a": (1, {3, 4}), "b": (2, {11})}
    alone = {
        name: Tracker(Wobbly(seed, blind), detector, settings).track(Counting(23))
        for name, (seed, blind) in predictors.items()
    }
    frames = Counting(23)
    together = track_together(
        {name: Tracker(Wobbly(seed, blind), detector, settings) for name, (seed, blind) in predictors.items()}, frames
    )
    assert frames.reads == 23  # one pass
    for name in predictors:
        pd.testing.assert_frame_equal(together[name], alone[name])
    assert set(alone["a"]["status"]) == {"detected", "tracked", "lost"}  # the test covers every status


def test_trackers_tracked_together_share_one_batch_size():
    with pytest.raises(ValueError, match="one batch size"):
        track_together(
            {
                "a": Tracker(Wobbly(1), detector, TrackerSettings(4)),
                "b": Tracker(Wobbly(2), detector, TrackerSettings(5)),
            },
            Counting(3),
        )

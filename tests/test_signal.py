"""The signal path of the embedded default: median filter in time, depth at the lips, balanced
identities, the domain-gap switch and the signal ladder's like-for-like ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from neuroface.tracks import frame_rate, median_smooth, points, track_table, window_frames


@pytest.mark.parametrize(("fps", "frames"), [(50.0, 5), (49.0, 5), (30.0, 3), (20.0, 3), (15.0, 1), (5.0, 1)])
def test_window_in_seconds_becomes_an_odd_frame_count(fps, frames):
    assert window_frames(0.1, fps) == frames
    assert window_frames(1.0, 5.0) == 5  # the old demo: 5 frames at 5 fps were a whole second


@pytest.mark.parametrize("fps", [5.0, 15.0, 30.0, 50.0])
def test_median_filter_window_follows_the_recording_frame_rate(fps):
    """A one-frame spike survives only where 0.1 s is less than 3 frames; the filter's support
    (a step's transition) spans the same time at every rate."""
    n = 40
    t_ms = np.arange(n) * 1000.0 / fps
    numbers = np.arange(n) + 100
    numbers[20:] += 1  # a dropped frame: its gap does not change the frame rate
    t_ms[20:] += 1000.0 / fps
    pts = np.zeros((n, 68, 2))
    pts[10] = 50.0
    table = track_table(numbers, t_ms, pts)
    assert frame_rate(table) == pytest.approx(fps, rel=1e-9)
    smooth = points(median_smooth(table, 0.1))
    expected = window_frames(0.1, fps)
    assert (smooth[10, 0, 0] == 50.0) == (expected == 1)
    # a window of w frames removes spikes up to (w - 1) / 2 frames wide
    wide = np.zeros((n, 68, 2))
    half = (window_frames(0.1, fps) - 1) // 2
    if half:
        wide[10 : 10 + half] = 50.0
        assert np.all(points(median_smooth(track_table(numbers, t_ms, wide), 0.1))[10 : 10 + half] == 0.0)

"""Head-fixed frame, feature registry and repetition gaps, on trajectories with closed-form answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.spatial.transform import Rotation

from conftest import REPO
from neuroface.features import registry as ft
from neuroface.features.headframe import head_axes, to_head_frame
from neuroface.features.repetitions import GapPolicy, RepetitionDropped, fill_gaps, missing_runs, recording_features

# A mirror-symmetric face in its own head frame (mm; x to the participant's left, y down).
TEMPLATE = np.zeros((68, 3))
TEMPLATE[[36, 39, 42, 45]] = [[-45, 0, 0], [-15, 0, 0], [15, 0, 0], [45, 0, 0]]
TEMPLATE[[37, 38, 40, 41]] = [[-35, -4, 0], [-25, -4, 0], [-25, 4, 0], [-35, 4, 0]]
TEMPLATE[[44, 43, 47, 46]] = TEMPLATE[[37, 38, 40, 41]] * [-1, 1, 1]
TEMPLATE[33] = [0, 40, 0]  # the head frame's y axis lies in the plane of 36, 45 and 33
TEMPLATE[48:60] = [
    [-25, 70, 0],
    [-15, 65, -2],
    [-7, 63, -3],
    [0, 64, -3],
    [7, 63, -3],
    [15, 65, -2],
    [25, 70, 0],
    [15, 75, -2],
    [7, 78, -3],
    [0, 79, -3],
    [-7, 78, -3],
    [-15, 75, -2],
]
TEMPLATE[[62, 66]] = [[0, 68, -3], [0, 72, -3]]
LOWER_LIP = [55, 56, 57, 58, 59]


def movement(times: np.ndarray, open_mm=0.0, spread_right=0.0, spread_left=0.0) -> np.ndarray:
    """``(T, 68, 3)``: the template with the jaw dropping and the corners pulled outwards by the
    given ``(T,)`` displacements."""
    pts = np.repeat(TEMPLATE[None], len(times), axis=0)
    pts[:, [66, *LOWER_LIP], 1] += np.broadcast_to(open_mm, times.shape)[:, None]
    pts[:, 48, 0] -= spread_right
    pts[:, 54, 0] += spread_left
    return pts


def rigid(pts: np.ndarray, seed: int = 0, moving: bool = True) -> np.ndarray:
    """The same face seen by a camera: a head pose (changing per frame when ``moving``) and ~500 mm away."""
    rng = np.random.default_rng(seed)
    n = len(pts)
    angles = rng.normal(0, 0.3, 3) + (np.linspace(0, 0.4, n)[:, None] * rng.normal(size=3) if moving else 0)
    rot = Rotation.from_rotvec(np.array(np.broadcast_to(angles, (n, 3)))).as_matrix()
    shift = np.array([20.0, -30.0, 500.0]) + (np.linspace(0, 15, n)[:, None] if moving else 0)
    return np.einsum("tij,tnj->tni", rot, pts) + np.asarray(shift).reshape(-1, 1, 3)


def repetition(pts: np.ndarray, times: np.ndarray) -> ft.Repetition:
    return ft.Repetition.from_camera(pts, times * 1000.0)


def test_head_frame_undoes_any_rigid_pose():
    times = np.linspace(0, 1, 30)
    pts = movement(times, open_mm=5 * np.sin(2 * np.pi * times))
    camera = rigid(pts)
    np.testing.assert_allclose(to_head_frame(camera), pts, atol=1e-9)
    _, axes = head_axes(camera)
    np.testing.assert_allclose(axes @ axes.transpose(0, 2, 1), np.broadcast_to(np.eye(3), axes.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(axes), 1.0)


def test_sinusoidal_opening_has_closed_form_features():
    amplitude, freq = 3.0, 1.5  # mm, Hz (O stays positive: 4 mm at rest)
    times = np.arange(0, 1 / freq + 1e-9, 1 / 600)  # one period, peaks sampled
    r = repetition(rigid(movement(times, open_mm=amplitude * np.sin(2 * np.pi * freq * times))), times)
    peak_speed = 2 * np.pi * freq * amplitude
    assert ft.mouth_opening_rom(r) == pytest.approx(2 * amplitude, rel=1e-6)
    assert ft.lower_lip_vertical_rom(r) == pytest.approx(2 * amplitude, rel=1e-6)
    assert ft.opening_speed_max(r) == pytest.approx(peak_speed, rel=1e-3)
    assert ft.lower_lip_speed_max(r) == pytest.approx(peak_speed, rel=1e-3)
    assert ft.opening_speed_mean(r) == pytest.approx(4 * freq * amplitude, rel=1e-2)  # mean |cos| = 2/pi
    assert ft.lower_lip_path_length(r) == pytest.approx(4 * amplitude, rel=1e-4)
    assert ft.lower_lip_range(r) == pytest.approx(amplitude, rel=1e-3)
    assert ft.mouth_width_rom(r) == pytest.approx(0, abs=1e-9)
    assert ft.width_speed_max(r) == pytest.approx(0, abs=1e-6)


def test_velocities_use_the_timestamps_not_a_frame_rate():
    amplitude, freq = 3.0, 1.0
    times = np.arange(0, 1, 1 / 300)
    kept = times[np.arange(len(times)) % 3 != 1]  # a third of the frames dropped
    r = repetition(movement(kept, open_mm=amplitude * np.sin(2 * np.pi * freq * kept)), kept)
    assert ft.opening_speed_max(r) == pytest.approx(2 * np.pi * freq * amplitude, rel=1e-2)


def test_mirror_symmetric_movement_gives_symmetry_one():
    times = np.linspace(0, 1, 41)
    spread = 8 * np.sin(np.pi * times) ** 2
    r = repetition(rigid(movement(times, spread_right=spread, spread_left=spread)), times)
    symmetric = (
        "corner_excursion_symmetry",
        "corner_speed_symmetry",
        "hemi_mouth_area_symmetry",
        "eye_aperture_symmetry",
    )
    for name in symmetric:
        assert ft.REGISTRY[name](r) == pytest.approx(1.0, abs=1e-9), name
    assert ft.corner_vertical_asymmetry(r) == pytest.approx(0, abs=1e-9)
    assert ft.lower_lip_midline_deviation(r) == pytest.approx(0, abs=1e-9)
    assert ft.mouth_width_rom(r) == pytest.approx(16, rel=1e-3)


def test_one_sided_movement_is_asymmetric():
    times = np.linspace(0, 1, 40)
    spread = 8 * np.sin(np.pi * times) ** 2
    r = repetition(movement(times, spread_left=spread), times)
    assert ft.corner_excursion_symmetry(r) == pytest.approx(0, abs=1e-12)  # the right corner never moves
    assert ft.corner_speed_symmetry(r) == pytest.approx(0, abs=1e-12)
    assert 0.5 < ft.hemi_mouth_area_symmetry(r) < 1.0
    half = r.hemi_mouth_areas
    assert np.all(half[1][1:-1] > half[0][1:-1])  # the moving (left) half is the larger


@pytest.mark.parametrize("moving", [False, True])
def test_no_feature_changes_under_a_rigid_head_motion(moving):
    times = np.linspace(0, 1.2, 36)
    pts = movement(times, open_mm=4 * np.sin(3 * times), spread_right=2 * times, spread_left=3 * times**2)
    still = ft.compute(repetition(pts, times), list(ft.REGISTRY))
    moved = ft.compute(repetition(rigid(pts, seed=3, moving=moving), times), list(ft.REGISTRY))
    for name in ft.REGISTRY:
        assert moved[name] == pytest.approx(still[name], rel=1e-9, abs=1e-9), name


def test_lip_roundness_of_a_regular_polygon():
    n = 12
    angle = 2 * np.pi * np.arange(n) / n
    pts = np.repeat(TEMPLATE[None], 3, axis=0)
    pts[:, 48:60, :2] = np.stack([20 * np.cos(angle), 70 + 20 * np.sin(angle)], axis=-1)
    r = repetition(pts, np.array([0.0, 0.1, 0.2]))
    assert ft.lip_roundness_mean(r) == pytest.approx(np.pi / (n * np.tan(np.pi / n)), rel=1e-12)


def test_config_sets_are_method_sections_registered_features():
    sets = yaml.safe_load((REPO / "config.yaml").read_text())["features"]["sets"]
    assert (len(sets["PS"]), len(sets["ALS"])) == (13, 11)
    for names in sets.values():
        ft.check_names(names)
        assert len(set(names)) == len(names)
    with pytest.raises(ValueError, match="nope"):
        ft.check_names(["mouth_width_rom", "nope"])


def test_a_repetition_needs_increasing_times():
    with pytest.raises(ValueError, match="increasing"):
        ft.Repetition.from_camera(np.zeros((3, 68, 3)), np.array([0.0, 10.0, 10.0]))


# --- gaps -------------------------------------------------------------------------------


def linear_track(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    times = np.cumsum(np.r_[0, np.full(n - 1, 20.0)]) + 1000.0
    pts = np.repeat(TEMPLATE[None], n, axis=0) + (times - times[0])[:, None, None] * np.array([0.01, 0.02, -0.03])
    return pts, times


def test_missing_runs():
    assert missing_runs(np.array([1, 0, 0, 1, 1, 0], bool)) == [(1, 3), (5, 6)]
    assert missing_runs(np.ones(4, bool)) == []


def test_short_interior_gaps_are_interpolated_in_time():
    pts, times = linear_track()
    times[8:] += 40.0  # a dropped frame: uneven spacing
    truth = np.repeat(TEMPLATE[None], len(times), axis=0) + (times - times[0])[:, None, None] * np.array(
        [0.01, 0.02, -0.03]
    )
    valid = np.ones(len(times), bool)
    valid[[5, 6, 7, 12]] = False
    holed = truth.copy()
    holed[~valid] = np.nan
    filled, t, n_filled = fill_gaps(holed, valid, times, GapPolicy(max_gap=3, max_missing=0.25))
    assert n_filled == 4
    np.testing.assert_allclose(filled, truth, atol=1e-9)
    np.testing.assert_array_equal(t, times)


def test_short_end_gaps_are_trimmed_not_filled():
    pts, times = linear_track()
    valid = np.ones(len(times), bool)
    valid[[0, 1, 19]] = False
    filled, t, n_filled = fill_gaps(pts, valid, times, GapPolicy(3, 0.25))
    assert n_filled == 0
    np.testing.assert_array_equal(t, times[2:19])
    np.testing.assert_array_equal(filled, pts[2:19])


@pytest.mark.parametrize(
    ("holes", "message"),
    [([4, 5, 6, 7], "gap of 4 frames"), ([1, 3, 5, 7, 9], "5 of 20 frames missing"), ([0, 1, 2, 3], "gap of 4")],
)
def test_incomplete_repetitions_are_dropped(holes, message):
    pts, times = linear_track()
    valid = np.ones(len(times), bool)
    valid[holes] = False
    with pytest.raises(RepetitionDropped, match=message):
        fill_gaps(pts, valid, times, GapPolicy(max_gap=3, max_missing=0.2))


def test_a_repetition_exactly_at_the_missing_share_limit_is_kept():
    """29 of 100 frames missing is not more than 29 % (0.29 * 100 < 29 in floating point)."""
    times = np.arange(100) * 20.0
    pts = np.zeros((100, 68, 3))
    valid = np.ones(100, bool)
    valid[1:88:3] = False  # 29 single-frame holes, none at the ends
    assert (~valid).sum() == 29
    _, t, n_filled = fill_gaps(pts, valid, times, GapPolicy(max_gap=3, max_missing=0.29))
    assert n_filled == 29 and len(t) == 100
    with pytest.raises(RepetitionDropped, match="29 of 100 frames missing"):
        fill_gaps(pts, valid, times, GapPolicy(max_gap=3, max_missing=0.28))


@pytest.mark.parametrize("frames", [0, 3])
def test_a_repetition_without_a_complete_frame_is_dropped_whatever_the_limits(frames):
    """max_missing 1 lets every frame be missing; the repetition is dropped with a reason, not an IndexError."""
    with pytest.raises(RepetitionDropped, match="no complete frame"):
        fill_gaps(np.zeros((frames, 68, 3)), np.zeros(frames, bool), np.arange(frames) * 20.0, GapPolicy(3, 1.0))


def test_recording_features_cut_repetitions_by_position_and_log_drops():
    times = np.arange(60) * 50.0
    pts = rigid(movement(times / 1000, open_mm=3 * np.sin(2 * np.pi * times / 1000)))
    pts[30:35, 57] = np.nan  # a 5-frame hole inside the second repetition
    segments = pd.DataFrame({"repetition": [1, 2, 3], "start": [1, 21, 41], "end": [20, 40, 60]})
    rows, dropped = recording_features(
        np.arange(1, 61), times, pts, segments, ["mouth_opening_rom"], GapPolicy(max_gap=3, max_missing=0.5)
    )
    assert [r["repetition"] for r in rows] == [1, 3]
    assert dropped == [{"repetition": 2, "frames": 20, "reason": "a gap of 5 frames (> 3)"}]
    expected = np.ptp(3 * np.sin(2 * np.pi * times[:20] / 1000))
    assert rows[0]["mouth_opening_rom"] == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="unknown feature"):
        recording_features(np.arange(1, 61), times, pts, segments, ["bogus"], GapPolicy())

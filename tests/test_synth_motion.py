"""Tests for the synthetic 3D face and its task movements (neuroface.synthetic.face3d / motion)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neuroface.landmarks import MIRROR
from neuroface.synthetic.face3d import MEAN_FACE, Identity, sample_identity
from neuroface.synthetic.motion import (
    TASKS_SIMULATED,
    DiseaseModel,
    DiseaseParams,
    Trajectory,
    simulate,
)

FPS = 50.0
HC = DiseaseParams()


def dist(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[..., a, :] - points[..., b, :], axis=-1)


def opening(tr: Trajectory) -> np.ndarray:
    return dist(tr.head, 62, 66)


def rep_stats(tr: Trajectory) -> dict[str, np.ndarray]:
    """Per-repetition peak O (mm), peak |dO/dt| (mm/s), max corner excursions (mm)."""
    o = opening(tr)
    out: dict[str, list[float]] = {"O": [], "dO": [], "eR": [], "eL": []}
    for a, b in tr.repetitions:
        sl = slice(a, b + 1)
        out["O"].append(o[sl].max())
        out["dO"].append(np.abs(np.gradient(o[sl], tr.times_s[sl])).max())
        out["eR"].append(np.linalg.norm(tr.head[sl, 48] - tr.head[a, 48], axis=1).max())
        out["eL"].append(np.linalg.norm(tr.head[sl, 54] - tr.head[a, 54], axis=1).max())
    return {k: np.asarray(v) for k, v in out.items()}


def cohort(group: str, task: str, n: int, seed: int) -> list[tuple[DiseaseParams, Trajectory]]:
    rng = np.random.default_rng(seed)
    model = DiseaseModel()
    out = []
    for i in range(n):
        identity = sample_identity(rng, "F" if i % 2 else "M")
        params = model.sample(group, rng)
        out.append((params, simulate(identity, params, task, fps=FPS, n_repetitions=None, rng=rng)))
    return out


def symmetry(tr: Trajectory) -> float:
    s = rep_stats(tr)
    return float(np.mean(np.minimum(s["eR"], s["eL"]) / np.maximum(s["eR"], s["eL"])))


# --- face3d ------------------------------------------------------------------------------------


def test_mean_face_dimensions_and_symmetry():
    f = MEAN_FACE
    assert f.shape == (68, 3) and f.dtype == np.float64
    assert 90 <= dist(f, 36, 45) <= 95
    assert 30 <= dist(f, 39, 42) <= 35
    assert 45 <= dist(f, 48, 54) <= 55
    assert 45 <= dist(f, 27, 33) <= 55
    assert 130 <= dist(f, 0, 16) <= 140
    assert 115 <= f[8, 1] <= 125
    assert -25 <= f[30, 2] <= -20 and f[4, 2] > 30
    np.testing.assert_allclose(0.5 * (f[39] + f[42]), 0.0, atol=1e-12)
    mirrored = f[list(MIRROR)] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(mirrored - f).max() < 0.5


def test_identity_deterministic_and_plausible():
    a = sample_identity(np.random.default_rng(4), "F")
    b = sample_identity(np.random.default_rng(4), "F")
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    rng = np.random.default_rng(5)
    men = [sample_identity(rng, "M") for _ in range(20)]
    women = [sample_identity(rng, "female") for _ in range(20)]
    assert np.mean([m.scale for m in men]) > np.mean([w.scale for w in women]) + 0.04
    for ident in men + women:
        p = ident.landmarks
        np.testing.assert_allclose(0.5 * (p[39] + p[42]), 0.0, atol=1e-9)
        assert 80 <= dist(p, 36, 45) <= 105 and 38 <= dist(p, 48, 54) <= 62
        mirrored = p[list(MIRROR)] * np.array([-1.0, 1.0, 1.0])
        asym = np.sqrt(np.mean(np.sum((mirrored - p) ** 2, axis=1))) / 2
        assert 0.1 < asym < 3.0
    with pytest.raises(ValueError):
        sample_identity(rng, "X")


# --- simulate: structure -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity() -> Identity:
    return sample_identity(np.random.default_rng(11), "F")


def test_deterministic(identity):
    ps = DiseaseParams("PS", affected_side="left", weakness=0.3, droop_mm=2.0)
    a = simulate(identity, ps, "BBP", fps=FPS, n_repetitions=10, rng=np.random.default_rng(3))
    b = simulate(identity, ps, "BBP", fps=FPS, n_repetitions=10, rng=np.random.default_rng(3))
    c = simulate(identity, ps, "BBP", fps=FPS, n_repetitions=10, rng=np.random.default_rng(4))
    for name in ("times_s", "head", "pose_R", "pose_t", "camera"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.repetitions == b.repetitions
    assert not np.array_equal(a.head[: len(c.head)], c.head[: len(a.head)])


@pytest.mark.parametrize(("task", "n_reps"), [("BBP", 10), ("OPEN", 5), ("SPREAD", 5)])
def test_repetitions(identity, task, n_reps):
    tr = simulate(identity, HC, task, fps=FPS, n_repetitions=None, rng=np.random.default_rng(1))
    t = len(tr.times_s)
    np.testing.assert_allclose(tr.times_s, np.arange(t) / FPS)
    assert tr.head.shape == tr.camera.shape == (t, 68, 3)
    assert tr.pose_R.shape == (t, 3, 3) and tr.pose_t.shape == (t, 3)
    reps = tr.repetitions
    assert len(reps) == n_reps
    assert reps[0][0] > 0 and reps[-1][1] < t - 1
    assert all(a < b for a, b in reps)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(reps[:-1], reps[1:], strict=True))
    durations = np.array([(b - a) / FPS for a, b in reps])
    lo, hi = (1.2, 1.9) if task == "BBP" else (1.4, 2.6)
    assert lo < durations.min() and durations.max() < hi
    pauses = np.array([(a2 - b1) / FPS for (_, b1), (a2, _) in zip(reps[:-1], reps[1:], strict=True)])
    assert 0.25 < pauses.min() and pauses.max() < 0.85
    outside = np.ones(t, bool)
    for a, b in reps:
        outside[a : b + 1] = False
    assert opening(tr)[outside].max() < 2.0  # mouth closed between repetitions
    assert len(simulate(identity, HC, task, fps=FPS, n_repetitions=3, rng=np.random.default_rng(1)).repetitions) == 3


def test_bbp_syllables(identity):
    tr = simulate(identity, HC, "BBP", fps=FPS, n_repetitions=10, rng=np.random.default_rng(2))
    o = opening(tr)
    for a, b in tr.repetitions:
        seg = o[a : b + 1]
        assert 5.0 < seg.max() < 15.0
        # bilabial closures inside the repetition: lips pressed between the syllables
        inner = seg[len(seg) // 5 : 4 * len(seg) // 5]
        assert inner.min() < 0.3
        peaks = np.sum((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] > 3.0))
        assert peaks >= 5


def test_rest(identity):
    tr = simulate(identity, HC, "REST", fps=30.0, n_repetitions=10, rng=np.random.default_rng(0), duration_s=12.0)
    assert tr.repetitions == []
    assert 11.9 < tr.times_s[-1] <= 12.0
    assert opening(tr).max() < 2.0 and np.ptp(dist(tr.head, 48, 54)) < 2.5
    lid = dist(tr.head, 37, 41)
    assert lid.min() < 0.3 * lid.max()  # at least one blink


def test_tempo_and_unknown_task(identity):
    slow = simulate(identity, HC, "OPEN", fps=FPS, n_repetitions=5, rng=np.random.default_rng(0))
    fast = simulate(identity, HC, "OPEN", fps=FPS, n_repetitions=5, rng=np.random.default_rng(0), tempo=2.0)
    d_slow = np.mean([b - a for a, b in slow.repetitions])
    d_fast = np.mean([b - a for a, b in fast.repetitions])
    assert d_fast == pytest.approx(d_slow / 2, rel=0.05)
    assert set(TASKS_SIMULATED) >= {"BBP", "OPEN", "SPREAD", "REST"}
    with pytest.raises(ValueError):
        simulate(identity, HC, "WHISTLE", fps=FPS, n_repetitions=5, rng=np.random.default_rng(0))


def test_speed(identity):
    rng = np.random.default_rng(0)
    simulate(identity, HC, "BBP", fps=FPS, n_repetitions=10, rng=rng)
    start = time.perf_counter()
    for _ in range(5):
        simulate(identity, HC, "BBP", fps=FPS, n_repetitions=10, rng=rng)
    assert (time.perf_counter() - start) / 5 < 0.1


# --- head pose ---------------------------------------------------------------------------------


def test_rigid_head_motion(identity):
    kw = dict(fps=FPS, n_repetitions=5)
    front = simulate(identity, HC, "SPREAD", rng=np.random.default_rng(9), **kw)
    turned = simulate(identity, HC, "SPREAD", rng=np.random.default_rng(9), facing_camera=False, **kw)
    near = simulate(identity, HC, "SPREAD", rng=np.random.default_rng(9), distance_mm=320.0, **kw)
    np.testing.assert_array_equal(front.head, turned.head)
    np.testing.assert_array_equal(front.head, near.head)
    for tr, lo, hi in ((front, 400, 500), (turned, 400, 500), (near, 280, 360)):
        expected = np.einsum("tij,tkj->tki", tr.pose_R, tr.head) + tr.pose_t[:, None]
        np.testing.assert_allclose(tr.camera, expected, atol=1e-9)
        eye = np.broadcast_to(np.eye(3), tr.pose_R.shape)
        np.testing.assert_allclose(tr.pose_R @ tr.pose_R.transpose(0, 2, 1), eye, atol=1e-12)
        assert lo < tr.pose_t[:, 2].min() and tr.pose_t[:, 2].max() < hi
        # distances are pose-invariant
        np.testing.assert_allclose(dist(tr.camera, 62, 66), dist(tr.head, 62, 66), atol=1e-9)
    yaw = lambda r: np.degrees(np.arctan2(r[:, 0, 2], r[:, 2, 2]))  # noqa: E731
    assert np.abs(yaw(front.pose_R)).max() < 10.0
    assert 20.0 < np.abs(yaw(turned.pose_R)).min() and np.abs(yaw(turned.pose_R)).max() < 50.0
    # drift: small, slow rotations of the frontal head
    angle = np.degrees(
        np.arccos(
            np.clip((np.trace(front.pose_R[1:] @ front.pose_R[:1].transpose(0, 2, 1), axis1=1, axis2=2) - 1) / 2, -1, 1)
        )
    )
    assert 0.05 < angle.max() < 12.0
    # the face is in front of the camera, near the optical axis
    nose = front.camera[:, 30]
    assert np.abs(nose[:, :2] / nose[:, 2:]).max() < np.tan(np.radians(15))


# --- healthy amplitudes ------------------------------------------------------------------------


def test_hc_open_and_spread_amplitudes():
    """Healthy amplitudes: cohort means in range; individuals (natural size and expressivity
    variation) at most one of eight outside and none more than 15 % outside."""
    peaks = np.array([np.median(rep_stats(tr)["O"]) for _, tr in cohort("HC", "OPEN", 8, seed=21)])
    assert 35.0 <= peaks.mean() <= 50.0
    assert np.sum((peaks < 35.0) | (peaks > 50.0)) <= 1 and 30.0 < peaks.min() and peaks.max() < 57.5
    excursions, max_opening = [], []
    for _, tr in cohort("HC", "SPREAD", 8, seed=22):
        s = rep_stats(tr)
        excursions += [np.median(s["eR"]), np.median(s["eL"])]
        max_opening.append(s["O"].max())
    exc = np.array(excursions)
    assert 8.0 <= exc.mean() <= 12.0
    assert np.sum((exc < 8.0) | (exc > 12.0)) <= 2 and 6.8 < exc.min() and exc.max() < 13.8
    assert max(max_opening) < 3.0


# --- disease effects ---------------------------------------------------------------------------


def test_ps_corner_asymmetry():
    hc = [symmetry(tr) for _, tr in cohort("HC", "SPREAD", 10, seed=31)]
    ps = [symmetry(tr) for _, tr in cohort("PS", "SPREAD", 10, seed=32)]
    assert np.mean(ps) < np.mean(hc) - 0.1
    assert np.mean(hc) > 0.9


def test_ps_weaker_side_is_the_affected_one(identity):
    for side in ("right", "left"):
        ps = DiseaseParams("PS", affected_side=side, weakness=0.5, droop_mm=3.0)
        tr = simulate(identity, ps, "SPREAD", fps=FPS, n_repetitions=5, rng=np.random.default_rng(7))
        s = rep_stats(tr)
        affected, other = (s["eR"], s["eL"]) if side == "right" else (s["eL"], s["eR"])
        np.testing.assert_array_less(affected, 0.7 * other)
        # the affected corner sits lower (y down), at rest and on average
        aff, oth = (48, 54) if side == "right" else (54, 48)
        y_aff, y_oth = tr.head[:, aff, 1], tr.head[:, oth, 1]
        base = identity.landmarks[aff, 1] - identity.landmarks[oth, 1]
        assert (y_aff - y_oth)[0] - base > 2.0 and np.mean(y_aff - y_oth) - base > 1.0


def test_als_slower_and_smaller_opening():
    hc = [rep_stats(tr) for _, tr in cohort("HC", "OPEN", 10, seed=41)]
    als = [rep_stats(tr) for _, tr in cohort("ALS", "OPEN", 10, seed=42)]
    hc_v, als_v = np.mean([s["dO"].max() for s in hc]), np.mean([s["dO"].max() for s in als])
    hc_o, als_o = np.mean([s["O"].max() for s in hc]), np.mean([s["O"].max() for s in als])
    assert als_v < 0.8 * hc_v
    assert als_o < hc_o - 5.0


def test_als_reduces_rounding(identity):
    full = DiseaseParams("ALS")
    reduced = DiseaseParams("ALS", rounding_reduction=0.8)
    kw = dict(fps=FPS, n_repetitions=5)
    a = simulate(identity, full, "OPEN", rng=np.random.default_rng(1), **kw)
    b = simulate(identity, reduced, "OPEN", rng=np.random.default_rng(1), **kw)
    # rounding narrows the mouth while it opens: less narrowing with less rounding
    assert dist(b.head, 48, 54).min() > dist(a.head, 48, 54).min() + 1.5


# --- cohort model ------------------------------------------------------------------------------


def test_disease_model_overlap_and_defaults():
    model = DiseaseModel()
    rng = np.random.default_rng(0)
    ps = [model.sample("PS", rng) for _ in range(30)]
    als = [model.sample("ALS", rng) for _ in range(30)]
    hc = [model.sample("HC", rng) for _ in range(30)]
    assert min(p.weakness for p in ps) < 0.1 and 0.2 < np.mean([p.weakness for p in ps]) < 0.4
    assert {p.affected_side for p in ps} == {"right", "left"}
    assert min(p.slowness for p in als) < 0.1 and 0.2 < np.mean([p.slowness for p in als]) < 0.5
    assert 0.15 < np.mean([p.range_reduction for p in als]) < 0.35
    for p in hc:
        assert p.weakness == p.slowness == p.range_reduction == p.rounding_reduction == p.droop_mm == 0.0
    assert np.std([p.rate for p in hc]) > 0.02 and np.std([p.natural_asymmetry for p in hc]) > 0.01
    with pytest.raises(ValueError):
        DiseaseParams("PS", weakness=0.3)  # no affected side
    with pytest.raises(ValueError):
        DiseaseParams("ALS", range_reduction=1.5)

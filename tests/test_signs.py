"""Patients' visible clinical signs (neuroface.synthetic.signs): who shows them, where they are painted,
and that ``synthetic.clinical_signs: false`` removes them and nothing else."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from neuroface import landmarks as lm
from neuroface.realsense import geometry
from neuroface.synthetic import generate
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.motion import DiseaseModel, DiseaseParams
from neuroface.synthetic.photo import load_base_faces
from neuroface.synthetic.signs import ClinicalSigns, SignsModel, paint_signs

SMALL = {
    "preset": "demo",
    "seed": 11,
    "participants": {"HC": 3, "PS": 4, "ALS": 4},
    "repetitions": {"BBP": 1, "OPEN": 1, "SPREAD": 1},
    "rest_seconds": 1.0,
}


def test_healthy_faces_never_show_signs():
    rng = np.random.default_rng(0)
    model = DiseaseModel()
    assert not any(SignsModel().sample(model.sample("HC", rng), rng).any for _ in range(200))


@pytest.mark.parametrize("group", ["PS", "ALS"])
def test_saliva_share_and_sides_follow_the_model(group):
    rng = np.random.default_rng(1)
    model, signs_model = DiseaseModel(), SignsModel()
    draws = [(d := model.sample(group, rng), signs_model.sample(d, rng)) for _ in range(2000)]
    share = {"PS": signs_model.ps_saliva_share, "ALS": signs_model.als_saliva_share}[group]
    drooling = sum(s.saliva > 0 for _, s in draws)
    assert stats.binomtest(drooling, len(draws), share).pvalue > 0.001
    for disease, signs in draws:
        if group == "PS":  # the paretic side only, in proportion to the weakness
            side = 0 if disease.affected_side == "right" else 1
            assert signs.fold_flattening[1 - side] == 0
            expected = min(disease.weakness / signs_model.ps_fold_full_weakness, 1.0)
            assert signs.fold_flattening[side] == pytest.approx(expected)
            assert signs.drool_sides in ((), (disease.affected_side,))
        else:  # bulbar weakness: both sides
            assert signs.fold_flattening[0] == signs.fold_flattening[1] <= signs_model.als_fold_max
            assert signs.drool_sides in ((), ("right", "left"))


def test_signs_are_painted_around_the_mouth_and_cheeks_only():
    face = load_base_faces(include_mirrored=False)[0]
    image, pts = face.image, face.landmarks
    assert paint_signs(image, pts, ClinicalSigns()) is image  # nothing to paint: the input as is
    signs = ClinicalSigns(saliva=1.0, drool_sides=("right", "left"), fold_flattening=(1.0, 1.0))
    painted = paint_signs(image, pts, signs)
    assert painted.shape == image.shape and painted.dtype == np.uint8
    changed = np.abs(painted.astype(int) - image).max(axis=2) > 2
    assert changed.sum() > 100
    ys, xs = np.nonzero(changed)
    width = np.linalg.norm(pts[lm.MOUTH_CORNER_L] - pts[lm.MOUTH_CORNER_R])
    # below the eyes, above the chin's tip plus a drool trail, within a mouth width of the mouth's sides
    assert ys.min() > pts[list(lm.EYES), 1].max()
    assert ys.max() < pts[lm.CHIN, 1] + 0.3 * width
    assert xs.min() > pts[lm.MOUTH_CORNER_R, 0] - width and xs.max() < pts[lm.MOUTH_CORNER_L, 0] + width
    # each sign on its own changes pixels, the right side's on the image's left (a frontal face)
    right_fold = paint_signs(image, pts, ClinicalSigns(fold_flattening=(1.0, 0.0)))
    diff = np.abs(right_fold.astype(int) - image).max(axis=2) > 2
    assert diff.any() and np.nonzero(diff)[1].max() < pts[lm.NOSE_BASE, 0]


def test_switching_the_signs_off_changes_only_the_patients_pixels():
    plan = plan_cohort({**SMALL, "clinical_signs": True})
    off = replace(plan, clinical_signs=False)
    with_signs = 0
    for pid, group in plan.participants[["participant_id", "group"]].to_numpy():
        on, control = generate.participant(plan, pid), generate.participant(off, pid)
        assert control.signs is None
        # identity, disease, camera, appearance: drawn from the same streams either way
        assert on.disease == control.disease and on.appearance == control.appearance
        assert on.rig.model == control.rig.model and on.distance_mm == control.distance_mm
        assert np.array_equal(on.identity.landmarks, control.identity.landmarks)
        rid = plan.recordings.query("participant_id == @pid and task == 'BBP'")["recording_id"].iloc[0]
        traj_on = generate.recording_motion(plan, rid, who=on)
        traj_off = generate.recording_motion(off, rid, who=control)
        assert np.array_equal(traj_on.camera, traj_off.camera)
        pts = geometry.project(traj_on.camera[0] / 1000.0, on.rig.color).astype(np.float64)
        assert np.array_equal(pts, geometry.project(traj_off.camera[0] / 1000.0, control.rig.color))
        frame_on = on.renderer.render(pts, np.random.default_rng(5))
        frame_off = control.renderer.render(pts, np.random.default_rng(5))
        if on.signs is None:
            assert np.array_equal(frame_on, frame_off)
        else:
            with_signs += 1
            assert group != "HC" and not np.array_equal(frame_on, frame_off)
    assert with_signs >= 4  # the small cohort's patients show signs: the test bites


def test_signs_are_drawn_only_for_patients_in_the_cohort():
    plan = plan_cohort(SMALL)
    groups = dict(plan.participants[["participant_id", "group"]].to_numpy())
    signs = {pid: generate.participant(plan, pid, render=False).signs for pid in groups}
    assert all(signs[p] is None for p, g in groups.items() if g == "HC")
    assert any(signs[p] is not None for p, g in groups.items() if g != "HC")


def test_disease_params_alone_decide_the_signs():
    """The signs depend on the disease parameters and their own stream, not on the group label alone:
    a PS participant with no weakness has no fold flattening."""
    params = DiseaseParams("PS", affected_side="left", weakness=0.0)
    signs = SignsModel().sample(params, np.random.default_rng(3))
    assert signs.fold_flattening == (0.0, 0.0)

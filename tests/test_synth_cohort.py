"""The synthetic cohort: shaped like NeuroFace, self-consistent ground truth, real-data formats."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from neuroface import landmarks as lm
from neuroface.fan.detection import HaarDetector
from neuroface.inputs import tables
from neuroface.realsense import geometry
from neuroface.realsense.bag import open_bag
from neuroface.synthetic import generate
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.corpus import convention_shift, make_corpus
from neuroface.synthetic.motion import simulate

SMALL = {
    "preset": "demo",
    "seed": 7,
    "participants": {"HC": 2, "PS": 2, "ALS": 2},
    "repetitions": {"BBP": 1, "OPEN": 1, "SPREAD": 1},
    "rest_seconds": 1.0,
    "annotations_per_participant": 8,
}


def test_default_cohort_counts_match_neuroface():
    plan = plan_cohort({"preset": "paper", "seed": 20231124})
    p = plan.participants
    assert p.groupby("group").size().to_dict() == {"HC": 15, "PS": 14, "ALS": 16}
    declined = p[~p["consent_share"]].groupby("group").size().to_dict()
    assert declined == {"HC": 4, "ALS": 5}
    assert p.groupby("group")["sex"].apply(lambda s: (s == "F").sum()).to_dict() == {"HC": 7, "PS": 5, "ALS": 8}
    for group, (mean, low, high) in {"HC": (58.3, 19, 78), "PS": (64.0, 21, 89), "ALS": (61.8, 45, 75)}.items():
        ages = p.loc[p["group"] == group, "age"]
        assert ages.min() == low and ages.max() == high and abs(ages.mean() - mean) < 1.0
    # the paper's classification set: 138 recordings facing the camera (40 HC, 54 PS, 44 ALS)
    rec = plan.recordings.merge(p)
    used = rec[rec["consent_share"] & rec["faces_camera"]]
    assert used.groupby("group").size().to_dict() == {"HC": 40, "PS": 54, "ALS": 44}
    assert plan.scale.fps == 50 and plan.scale.repetitions == {"BBP": 10, "OPEN": 5, "SPREAD": 5}


def test_plan_is_a_function_of_the_config():
    a, b = plan_cohort(SMALL), plan_cohort(dict(SMALL))
    assert a.participants.equals(b.participants) and a.recordings.equals(b.recordings)
    assert not plan_cohort({**SMALL, "seed": 8}).participants.equals(a.participants)


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    plan = plan_cohort(SMALL)
    generate.write_tables(plan, out)
    truth = {}
    for rid in plan.recordings["recording_id"]:
        generate.synthesize_recording(plan, rid, out / "bags" / f"{rid}.bag", out / "truth" / f"{rid}.npz", False)
        truth[rid] = out / "truth" / f"{rid}.npz"
    generate.write_labels(plan, truth, out / "segmentation.csv", out / "Landmarks_gt")
    return plan, out


def test_tables_and_labels_pass_the_data_model(small_cohort):
    plan, out = small_cohort
    participants = tables.read_participants(out / "participants.tsv")
    recordings = tables.read_recordings(out / "recordings.tsv", participants)
    assert len(recordings) == len(plan.recordings) == 24
    seg = tables.read_segmentation(out / "segmentation.csv", recordings)
    n_frames = {rid: len(np.load(out / "truth" / f"{rid}.npz")["frame_number"]) for rid in recordings["recording_id"]}
    tables.check_segments_within(seg, n_frames, out / "segmentation.csv")
    assert seg.groupby("recording_id").size().to_dict() == {
        rid: 1 for rid in recordings["recording_id"] if "REST" not in rid
    }
    ann = tables.read_annotation_dir(out / "Landmarks_gt", recordings)
    assert ann.groupby(ann["recording_id"].str[:4]).size().eq(8).all()  # per participant
    for rid, part in ann.groupby("recording_id"):
        tables.check_annotations_within(part, n_frames[rid], out / "Landmarks_gt")
        truth = np.load(out / "truth" / f"{rid}.npz")["landmarks_2d"][part["frame"].to_numpy() - 1]
        err = tables.annotation_points(part) - truth
        assert 0.5 < err.std() < 1.5  # annotator noise, 1 px
    # observer jitter: boundaries within +-2 frames of the truth
    for row in seg.itertuples():
        start, end = np.load(out / "truth" / f"{row.recording_id}.npz")["repetitions"][row.repetition - 1]
        assert abs(row.start - start) <= 2 and abs(row.end - end) <= 2


def test_pyrealsense2_plays_every_recording_back(rs, small_cohort):
    plan, out = small_cohort
    for rid in plan.recordings["recording_id"]:
        truth = np.load(out / "truth" / f"{rid}.npz")
        frames = [f.frame_number for f in open_bag(out / "bags" / f"{rid}.bag", "pyrealsense2").frames("color")]
        assert frames == truth["frame_number"].tolist(), rid


def test_ground_truth_is_self_consistent(small_cohort):
    """Deprojecting the true 2D landmarks with the recorded (aligned) depth gives the true 3D."""
    plan, out = small_cohort
    errors = []
    for rid in plan.recordings["recording_id"][plan.recordings["faces_camera"]]:
        truth = np.load(out / "truth" / f"{rid}.npz")
        reader = open_bag(out / "bags" / f"{rid}.bag")
        rec = reader.recording
        for i, frame in enumerate(reader.frames("depth")):
            # only the depth pixels that can land near the face (test_tracking: same values as the full alignment)
            px = np.round(truth["landmarks_2d"][i]).astype(int)
            box = np.concatenate([px.min(axis=0) - 4, px.max(axis=0) + 4])
            roi = geometry.depth_roi_for(box, rec.depth.intrinsics, rec.depth_to_color, rec.color.intrinsics)
            aligned = geometry.align_depth_to_color(
                frame.data, rec.depth_scale, rec.depth.intrinsics, rec.depth_to_color, rec.color.intrinsics, roi
            )
            patch = np.stack([aligned[px[:, 1] + dy, px[:, 0] + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
            z = np.array([np.median(c[c > 0]) if (c > 0).any() else np.nan for c in patch.T]) * rec.depth_scale * 1000
            pts = geometry.deproject(truth["landmarks_2d"][i], z, rec.color.intrinsics)
            scored = [j for j in range(68) if j not in lm.INNER_LIPS]  # the open mouth's edge reads the cavity
            errors.append(np.linalg.norm(pts - truth["landmarks_3d"][i], axis=1)[scored])
    errors = np.concatenate(errors)
    errors = errors[np.isfinite(errors)]
    # depth noise is ~1 mm at these distances, plus quantisation and the 3x3 footprint on a sloped surface
    assert np.median(errors) < 2.0 and np.percentile(errors, 90) < 6.0, np.percentile(errors, [50, 90])


def test_face_detector_finds_the_face(small_cohort):
    """The tracker's Haar detector finds a face in the recordings facing the camera: every third frame of each
    (every recording and task, frames spread over the whole movement)."""
    plan, out = small_cohort
    detect = HaarDetector()
    found = total = 0
    for rid in plan.recordings["recording_id"][plan.recordings["faces_camera"]]:
        for i, frame in enumerate(open_bag(out / "bags" / f"{rid}.bag").frames("color")):
            if i % 3 == 0:
                found += detect(frame.data) is not None
                total += 1
    assert total > 100 and found / total > 0.95, (found, total)


def test_same_config_gives_byte_identical_files(small_cohort, tmp_path):
    plan, out = small_cohort
    rid = plan.recordings["recording_id"].iloc[0]
    generate.synthesize_recording(plan, rid, tmp_path / "a.bag", tmp_path / "a.npz", False)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "a.bag") == digest(out / "bags" / f"{rid}.bag")
    assert digest(tmp_path / "a.npz") == digest(out / "truth" / f"{rid}.npz")


def _truth_measures(plan, group, task):
    values = []
    for pid in plan.participants.loc[plan.participants["group"] == group, "participant_id"]:
        who = generate.participant(plan, pid)
        traj = simulate(who.identity, who.disease, task, fps=50.0, n_repetitions=3, rng=np.random.default_rng(1))
        head = traj.head
        if task == "SPREAD":
            start = head[traj.repetitions[0][0]]
            exc = [np.linalg.norm(head[:, c] - start[c], axis=1).max() for c in (lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L)]
            values.append(min(exc) / max(exc))
        else:
            opening = np.linalg.norm(head[:, lm.INNER_UPPER_LIP] - head[:, lm.INNER_LOWER_LIP], axis=1)
            values.append(np.abs(np.gradient(opening, traj.times_s)).max())
    return np.array(values)


def test_disease_knobs_show_up_in_the_ground_truth():
    plan = plan_cohort({"preset": "paper", "seed": 20231124})
    hc_sym, ps_sym = _truth_measures(plan, "HC", "SPREAD"), _truth_measures(plan, "PS", "SPREAD")
    assert ps_sym.mean() < hc_sym.mean() - 0.1  # PS corner asymmetry above HC's
    hc_speed, als_speed = _truth_measures(plan, "HC", "OPEN"), _truth_measures(plan, "ALS", "OPEN")
    assert als_speed.mean() < 0.8 * hc_speed.mean()  # ALS open the mouth more slowly
    # ... but the groups overlap: not every patient is outside the healthy range
    assert (ps_sym > hc_sym.min()).any() and (als_speed > hc_speed.min()).any()


def test_generic_corpus_uses_its_own_annotation_convention(tmp_path):
    make_corpus(6, seed=3, out_dir=tmp_path / "generic", progress=False)
    table = __import__("pandas").read_csv(tmp_path / "generic" / "landmarks.csv")
    assert len(table) == 6 and table.shape[1] == 1 + 136
    image = cv2.imread(str(tmp_path / "generic" / "images" / table["image"][0]))
    assert image.shape == (256, 256, 3)
    pts = np.random.default_rng(0).uniform(100, 200, (68, 2))
    pts[lm.OUTER_EYE_R], pts[lm.OUTER_EYE_L] = (110, 120), (190, 120)
    shifted = convention_shift(pts)
    moved = np.linalg.norm(shifted - pts, axis=1)
    assert moved[list(lm.JAW)].min() > 3.9 and moved[list(lm.EYES)].max() == 0


def test_disease_knobs_are_set_from_the_config():
    default = generate.participant(plan_cohort(SMALL), "N001").disease
    assert default.natural_asymmetry != 0
    plan = plan_cohort({**SMALL, "disease": {"natural_asymmetry_sd": 0.0}})
    assert generate.participant(plan, "N001").disease.natural_asymmetry == 0

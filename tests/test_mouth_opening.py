"""``tools/mouth_opening.py`` on a work directory made here, whose predicted openings and widths follow the
true ones by known gains: the tool's gains, r, bins and errors against their closed forms."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from neuroface import landmarks as lm
from neuroface.io import write_table
from neuroface.tracks import stack_recordings, track_table

sys.path.insert(0, str(REPO / "tools"))
import mouth_opening  # noqa: E402

IOD = 80.0  # px between the outer eye corners


def _face(opening: float, width: float = 0.7) -> np.ndarray:
    """A face whose outer eye corners are IOD apart, whose inner lips 62-66 are ``opening`` IOD apart and
    whose mouth corners 48-54 are ``width`` IOD apart."""
    pts = np.random.default_rng(0).uniform(100, 200, (lm.N_LANDMARKS, 2))
    pts[lm.OUTER_EYE_R], pts[lm.OUTER_EYE_L] = (110.0, 100.0), (110.0 + IOD, 100.0)
    pts[lm.INNER_UPPER_LIP] = (150.0, 160.0)
    pts[lm.INNER_LOWER_LIP] = (150.0, 160.0 + opening * IOD)
    pts[lm.MOUTH_CORNER_R], pts[lm.MOUTH_CORNER_L] = (150.0 - width * IOD / 2, 165.0), (150.0 + width * IOD / 2, 165.0)
    return pts


def _workdir(tmp_path, gain: float, offset: float):
    results = tmp_path / "results"
    true_open = 0.2 + 0.18 * np.sin(np.linspace(0, 6 * np.pi, 60))  # 0.02 to 0.38 eye-corner distances
    true_width = 0.7 + 0.1 * np.cos(np.linspace(0, 4 * np.pi, 60))
    truth = np.stack([_face(o, w) for o, w in zip(true_open, true_width, strict=True)])
    (results / "synthetic" / "truth").mkdir(parents=True)
    np.savez(
        results / "synthetic" / "truth" / "P001_02_OPEN_NORMAL.npz",
        landmarks_2d=truth.astype(np.float32),
        task="OPEN",
    )
    frames, stamps = np.arange(60), np.arange(60) * 200.0
    for model, pred in (
        # width: a quarter of each change, about a mean 0.05 narrower (the gain ignores the offset)
        (
            "follows",
            np.stack([_face(gain * o + offset, 0.25 * w + 0.475) for o, w in zip(true_open, true_width, strict=True)]),
        ),
        ("shut", np.stack([_face(0.03) for _ in true_open])),
    ):
        table = track_table(frames, stamps, pred)
        write_table(
            stack_recordings({"P001_02_OPEN_NORMAL": table}), results / "tracks" / model / "P001.smoothed.parquet"
        )
    return results, true_open, true_width


def test_gain_r_and_bins_of_the_tracked_openings_match_their_closed_forms(tmp_path):
    results, true_open, true_width = _workdir(tmp_path, gain=0.5, offset=0.02)
    fits, bins = mouth_opening.tracked(results, ["follows", "shut"])
    fits = fits.set_index(["model", "measure"])
    assert fits.loc[("follows", "opening"), "gain"] == pytest.approx(0.5, abs=0.005)
    assert fits.loc[("follows", "opening"), "r"] == pytest.approx(1.0, abs=0.005)
    assert fits.loc[("follows", "width"), "gain"] == pytest.approx(0.25, abs=0.005)
    assert fits.loc[("follows", "width"), "r"] == pytest.approx(1.0, abs=0.005)
    # the true width's change against the true opening's (both centred on the recording)
    assert fits.loc[("follows", "width"), "true r with opening"] == pytest.approx(
        np.corrcoef(true_width, true_open)[0, 1], abs=0.005
    )
    assert fits.loc[("follows", "opening"), "true r with opening"] == 1.0
    assert fits.loc[("shut", "opening"), "gain"] == pytest.approx(0.0, abs=0.005)
    assert np.isnan(fits.loc[("shut", "opening"), "r"])  # landmarks that never move have no correlation
    assert (fits["frames"] == 60).all() and set(fits["task"]) == {"OPEN"}
    # the top bin: true openings above 0.3; landmark 66 is off by |0.5 o + 0.02 - o| eye-corner distances,
    # each mouth corner by half the width's error |0.25 w + 0.475 - w|, the other 37 mouth landmarks not at all
    top = true_open > 0.3
    o, w = true_open[top], true_width[top]
    row = bins.loc[("follows", pd.Interval(0.3, np.inf, closed="right"))]
    assert row["frames"] == top.sum()
    assert row["true opening"] == pytest.approx(o.mean(), abs=1e-3)
    assert row["predicted opening"] == pytest.approx((0.5 * o + 0.02).mean(), abs=1e-3)
    expected = 100 * (np.abs(0.5 * o + 0.02 - o) + np.abs(0.25 * w + 0.475 - w)).mean() / len(lm.MOUTH)
    assert row["mouth error (%)"] == pytest.approx(expected, abs=1e-3)


def test_by_split_fits_the_training_and_the_other_participants_apart(tmp_path):
    """Two participants with the same truth, one in the fine-tuning set followed with gain 0.8, one outside
    it with gain 0.2: each set's gain is its own, not their mix; a participant the split omits is named."""
    results = tmp_path / "results"
    true_open = 0.2 + 0.18 * np.sin(np.linspace(0, 6 * np.pi, 60))
    (results / "synthetic" / "truth").mkdir(parents=True)
    frames, stamps = np.arange(60), np.arange(60) * 200.0
    for participant, gain in (("P001", 0.8), ("P002", 0.2)):
        recording = f"{participant}_02_OPEN_NORMAL"
        truth = np.stack([_face(o) for o in true_open])
        np.savez(results / "synthetic" / "truth" / f"{recording}.npz", landmarks_2d=truth, task="OPEN")
        pred = np.stack([_face(gain * o + 0.05) for o in true_open])
        write_table(
            stack_recordings({recording: track_table(frames, stamps, pred)}),
            results / "tracks" / "finetuned" / f"{participant}.smoothed.parquet",
        )
    write_table(
        pd.DataFrame({"participant_id": ["P001", "P002"], "group": ["HC", "HC"], "set": ["train", "test"]}),
        results / "fan" / "split.tsv",
    )
    fits, _ = mouth_opening.tracked(results, ["finetuned"], mouth_opening.fan_split(results))
    opening = fits[fits["measure"] == "opening"].set_index("set")
    assert opening.loc["train", "gain"] == pytest.approx(0.8, abs=0.005)
    assert opening.loc["test", "gain"] == pytest.approx(0.2, abs=0.005)
    assert (opening["frames"] == 60).all()
    pooled, _ = mouth_opening.tracked(results, ["finetuned"])  # without the split: one fit over both
    assert "set" not in pooled.columns
    assert 0.2 < pooled.set_index("measure").loc["opening", "gain"] < 0.8
    with pytest.raises(SystemExit, match="participant P002 is in no set"):
        mouth_opening.tracked(results, ["finetuned"], {"P001": "train"})
    (results / "fan" / "split.tsv").unlink()
    with pytest.raises(SystemExit, match="split.tsv is missing"):
        mouth_opening.fan_split(results)


def test_changes_are_taken_within_each_model_s_recording():
    """Model a follows the truth exactly but with a different offset in each of two recordings; model b
    predicts a constant: a's changes, centred on its own mean per recording, give r = gain = 1, whatever b
    predicts for the same recordings."""
    change = np.sin(np.linspace(0, 4 * np.pi, 30)) * 0.05
    rows = [
        pd.DataFrame(
            {
                "model": model,
                "recording": recording,
                "task": "SPREAD",
                "width true": 0.7 + change,
                "width predicted": 0.7 + change + offset if model == "a" else np.full(30, 0.7),
                "opening true": 0.01 + change,
                "opening predicted": 0.01 + change + offset if model == "a" else np.full(30, 0.01),
            }
        )
        for recording, offset in (("R1", 0.0), ("R2", 0.3))
        for model in ("a", "b")
    ]
    fits = mouth_opening.change_fits(pd.concat(rows, ignore_index=True), ["model", "task"]).set_index(
        ["model", "measure"]
    )
    assert fits.loc[("a", "width"), "r"] == pytest.approx(1.0) and fits.loc[("a", "width"), "gain"] == 1.0
    assert fits.loc[("b", "opening"), "gain"] == 0.0


def test_annotated_fits_measure_each_set_within_its_recordings():
    """Two recordings per set with different mean widths: each set's gain and r are those of the changes
    within recordings (the offsets between recordings do not enter), the corner error its mean."""
    rng = np.random.default_rng(3)
    rows = []
    for set_, gain in (("train", 0.9), ("test", 0.3)):
        for k, offset in enumerate((0.0, 0.2)):
            change = rng.normal(0, 0.05, 12)
            rows.append(
                pd.DataFrame(
                    {
                        "model": "finetuned",
                        "recording": f"{set_}{k}",
                        "set": set_,
                        "task": "SPREAD",
                        "corner error (%)": 2.0 if set_ == "train" else 4.0,
                        "eye-corner distance (heatmap px)": 10.0,
                        "width true": 0.7 + offset + change,
                        "width predicted": 0.6 + gain * change,  # the offset between recordings is not followed
                        "opening true": 0.01 + change**2,
                        "opening predicted": 0.02 + 0 * change,
                    }
                )
            )
    fits = mouth_opening.annotated_fits(pd.concat(rows, ignore_index=True)).set_index(["set", "measure"])
    assert fits.loc[("train", "width"), "gain"] == pytest.approx(0.9, abs=0.005)
    assert fits.loc[("test", "width"), "gain"] == pytest.approx(0.3, abs=0.005)
    assert fits.loc[("train", "width"), "r"] == pytest.approx(1.0, abs=0.005)
    assert fits.loc[("train", "opening"), "gain"] == 0.0 and np.isnan(fits.loc[("train", "opening"), "r"])
    assert (fits["images"] == 24).all()
    assert fits.loc[("test", "width"), "corner error (%)"] == 4.0
    within = np.concatenate([r["width true"] - r["width true"].mean() for r in rows if r["set"].iloc[0] == "test"])
    assert fits.loc[("test", "width"), "true SD (heatmap px)"] == pytest.approx(10 * within.std(), abs=0.005)


def test_annotated_frames_are_predicted_as_landmark_accuracy_predicts(tiny):
    """On the tiny run: every detected annotated image of both sets, and on the test set the same NRMSE per
    image and model as the workflow's ``landmark_accuracy`` (its detector, crop refinement, decoder, flip)."""
    weights = mouth_opening.study_weights(tiny)
    table = mouth_opening.annotated(tiny, weights)
    split = pd.read_csv(tiny / "results" / "fan" / "split.tsv", sep="\t")
    assert set(table["set"]) == {"train", "test"}
    per_image = pd.read_csv(tiny / "results" / "landmarks" / "per_image.tsv", sep="\t")
    per_image = per_image[per_image["detected"]]
    test = table[table["set"] == "test"].merge(per_image, on=["image", "model"], suffixes=("", " workflow"))
    assert len(test) == len(per_image) == (table["set"] == "test").sum() > 0
    np.testing.assert_allclose(test["nrmse"], test["nrmse workflow"], rtol=1e-9)
    train = set(split.loc[split["set"] == "train", "participant_id"])
    owners = table.loc[table["set"] == "train", "image"].str.split("_").str[0]
    assert set(owners) == train
    assert set(table["task"]) <= {"BBP", "OPEN", "SPREAD", "REST"} and table["corner error (%)"].gt(0).all()
    # the eye-corner distance in heatmap pixels: the model's heatmap side over the crop's 200 x scale pixels
    row = table.iloc[0]
    pts = annotation_points(tiny, row["image"])
    eyes = np.linalg.norm(pts[lm.OUTER_EYE_L] - pts[lm.OUTER_EYE_R])
    width, height = pts.max(axis=0) - pts.min(axis=0)
    size = mouth_opening.load_fan(weights[row["model"]]).config.heatmap_size
    assert row["eye-corner distance (heatmap px)"] == pytest.approx(eyes * size / (200 * (width + height) / 195))


def annotation_points(workdir, image: str) -> np.ndarray:
    """The annotated landmarks ``(68, 2)`` of ``image`` (``recording:frame``) in a run's annotations."""
    recording, frame = image.rsplit(":", 1)
    ann = pd.read_parquet(workdir / "results" / "inputs" / "annotations.parquet")
    row = ann[(ann["recording_id"] == recording) & (ann["frame"] == int(frame))].iloc[0]
    xs, ys = ([row[f"{c}{i}"] for i in range(lm.N_LANDMARKS)] for c in "xy")
    return np.stack([xs, ys], axis=1).astype(float)


def test_a_track_unlike_its_truth_and_missing_tracks_are_named(tmp_path):
    results, _, _ = _workdir(tmp_path, gain=1.0, offset=0.0)
    short = track_table(np.arange(5), np.arange(5) * 200.0, np.stack([_face(0.1)] * 5))
    path = results / "tracks" / "follows" / "P001.smoothed.parquet"
    write_table(stack_recordings({"P001_02_OPEN_NORMAL": short}), path)
    with pytest.raises(SystemExit, match="P001_02_OPEN_NORMAL has 5 frames, its truth 60"):
        mouth_opening.tracked(results, ["follows"])
    with pytest.raises(SystemExit, match="no smoothed tracks of absent"):
        mouth_opening.tracked(results, ["absent"])


def test_test_images_by_annotated_opening(tmp_path):
    results = tmp_path / "results"
    faces = {"R_01:1": 0.01, "R_01:2": 0.1, "R_01:3": 0.35}
    rows = []
    for image, o in faces.items():
        pts = _face(o)
        recording, frame = image.split(":")
        rows.append(
            {
                "recording_id": recording,
                "participant_id": "P001",
                "frame": int(frame),
                **{f"x{i}": pts[i, 0] for i in range(lm.N_LANDMARKS)},
                **{f"y{i}": pts[i, 1] for i in range(lm.N_LANDMARKS)},
            }
        )
    (results / "inputs").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(results / "inputs" / "annotations.parquet")
    per_image = pd.DataFrame(
        {
            "image": [*faces, *faces],
            "model": ["a"] * 3 + ["b"] * 3,
            "detected": [True, True, True, True, True, False],
            "nrmse": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "error_mouth": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        }
    )
    write_table(per_image, results / "landmarks" / "per_image.tsv")
    table = mouth_opening.test_images(results)
    assert table["images"].tolist() == [1, 1, 1]  # one image in each of the three bins it reaches
    assert table["a nrmse"].tolist() == [1.0, 2.0, 3.0]
    assert table["b error_mouth"].tolist()[:2] == [40.0, 50.0]
    assert np.isnan(table["b error_mouth"].tolist()[2])  # b missed the open face: no error to average
    lines = mouth_opening.markdown(table).splitlines()
    assert lines[0] == "| opening bin | images | a error_mouth | b error_mouth | a nrmse | b nrmse |"
    assert lines[2] == "| (-inf, 0.05] | 1 | 10 | 40 | 1 | 4 |" and lines[4].endswith("| 30 | nan | 3 | nan |")


def test_a_directory_without_a_run_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["mouth_opening.py", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        mouth_opening.main()
    assert exit_info.value.code == 2
    assert f"{tmp_path / 'results' / 'landmarks' / 'per_image.tsv'} is missing" in capsys.readouterr().err


def test_corner_asymmetry_and_the_size_of_each_change_in_pixels():
    """The right corner's distance from the base of the nose less the left's, against its closed form; the
    tracked fits give its gain and the SD of the true change in image pixels (changes x eye-corner distance)."""
    face = _face(0.1)
    face[lm.NOSE_BASE] = (150.0, 140.0)  # corners 28 px either side of x = 150, 25 px below it
    assert mouth_opening.corner_asymmetry(face, IOD) == pytest.approx(0.0)
    t = np.linspace(0, 2 * np.pi, 40)
    shift = 3.0 * np.sin(t)  # the right corner moves out and in by 3 px, the left stays
    true = np.stack([face] * len(t))
    true[:, lm.MOUTH_CORNER_R, 0] -= shift
    expected = (np.hypot(28.0 + shift, 25.0) - np.hypot(28.0, 25.0)) / IOD
    np.testing.assert_allclose(mouth_opening.corner_asymmetry(true, np.full(len(t), IOD)), expected, rtol=1e-12)
    pred = np.stack([face] * len(t))
    pred[:, lm.MOUTH_CORNER_R, 0] -= 0.5 * shift  # follows half of the movement
    scale = np.full(len(t), IOD)
    frames = pd.DataFrame(
        {
            "model": "m",
            "recording": "R",
            "opening true": mouth_opening.distance(true, scale),
            "opening predicted": mouth_opening.distance(pred, scale),
            "corner asymmetry true": mouth_opening.corner_asymmetry(true, scale),
            "corner asymmetry predicted": mouth_opening.corner_asymmetry(pred, scale),
            "eye-corner distance (px)": scale,
        }
    )
    fits = mouth_opening.change_fits(frames, ["model"]).set_index("measure")
    row = fits.loc["corner asymmetry"]
    assert row["gain"] == pytest.approx(0.5, abs=0.01) and row["r"] == pytest.approx(1.0, abs=0.005)
    assert row["true SD (px)"] == pytest.approx((expected * IOD).std(), abs=0.005)
    assert "width" not in fits.index  # only the measures the frames have

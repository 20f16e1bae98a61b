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

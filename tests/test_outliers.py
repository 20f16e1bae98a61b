"""Outlier frames for relabelling: scoring against injected faults, the exported files, and the merge
of corrected annotations."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from neuroface.errors import InputError
from neuroface.fan.weights import sha256
from neuroface.inputs import tables
from neuroface.inputs.annotated import copy_annotated_frames, merge_relabelled
from neuroface.realsense.bag import open_bag
from neuroface.synthetic.photo import load_base_faces
from neuroface.tracking.outliers import (
    export_outliers,
    frame_criteria,
    pick_outliers,
    robust_z,
    score_frames,
)
from neuroface.tracks import LOST, points, track_table
from workflow_runs import copy_run, logged_jobs, new_workdir, run

WEIGHTS = {"uncertainty": 1.0, "jump": 1.0, "disagreement": 1.0}
GLITCH, DISAGREE, UNSURE, STEP, LOST_AT = 10, 25, 40, 30, 47  # 0-based frame indexes


def _tracks(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Pre-trained and fine-tuned tracks of a face moving smoothly, with known faults injected:
    a one-frame glitch of the fine-tuned model (GLITCH), the models disagreeing (DISAGREE), low
    confidence (UNSURE), a real fast movement (STEP: the face moves and stays), a lost frame."""
    rng = np.random.default_rng(seed)
    base = load_base_faces()[0].landmarks.astype(np.float64)
    base = (base - base.mean(axis=0)) / np.ptp(base[:, 0]) * 100 + [80, 60]
    t = np.arange(n)
    path = np.stack([3 * np.sin(t / 6), 2 * np.cos(t / 9)], axis=1)
    path[STEP:] += [20.0, 0.0]  # a real movement: a step, then the face stays there
    fine = base[None] + path[:, None] + rng.normal(0, 0.3, (n, 68, 2))
    pre = fine + rng.normal(0, 0.5, fine.shape)
    face = float(np.hypot(*np.ptp(base, axis=0)))
    fine[GLITCH] += [0.15 * face, 0.0]  # fine-tuned landmarks jump away for one frame (pre-trained stays)
    pre[GLITCH] = base + path[GLITCH]
    pre[DISAGREE] += [0.12 * face, 0.0]  # the models disagree
    conf = np.clip(0.8 + rng.normal(0, 0.02, (n, 68)), 0, 1)
    conf[UNSURE] = 0.45
    frame_numbers, ts = 100 + t, 33.3 * t
    finetuned = track_table(frame_numbers, ts, fine, confidence=conf)
    pretrained = track_table(frame_numbers, ts, pre, confidence=conf)
    finetuned.loc[LOST_AT, "status"] = LOST
    finetuned.loc[LOST_AT, [c for c in finetuned.columns if c[0] in "xyc" and c[1:].isdigit()]] = np.nan
    return pretrained, finetuned, face


def test_scoring_finds_the_injected_faults_and_not_the_real_movement():
    pretrained, finetuned, face = _tracks()
    crit = frame_criteria(pretrained, finetuned)
    assert not crit.loc[LOST_AT, "tracked"] and crit.loc[LOST_AT, ["jump", "uncertainty"]].isna().all()
    # each criterion peaks where its fault was injected, with the injected size
    assert crit["jump"].idxmax() == GLITCH and crit.loc[GLITCH, "jump"] == pytest.approx(0.15, abs=0.02)
    # the glitch is a disagreement too (only the fine-tuned model jumped)
    assert set(crit["disagreement"].nlargest(2).index) == {GLITCH, DISAGREE}
    assert crit.loc[DISAGREE, "disagreement"] == pytest.approx(0.12, abs=0.02)
    assert crit["uncertainty"].idxmax() == UNSURE and crit.loc[UNSURE, "uncertainty"] == pytest.approx(0.55)
    # the real step moves away from one neighbour only: no jump (it would be for a one-sided measure)
    step = 20.0 / face
    assert crit.loc[STEP, "jump"] < step / 4 and crit.loc[STEP - 1, "jump"] < step / 4
    picked = pick_outliers(score_frames(crit, WEIGHTS), 3)
    assert sorted(picked.index) == [GLITCH, DISAGREE, UNSURE]
    # a weight of 0 switches a criterion off
    only = {name: 0.0 for name in WEIGHTS}
    assert pick_outliers(score_frames(crit, {**only, "uncertainty": 1.0}), 1).index.tolist() == [UNSURE]
    assert pick_outliers(score_frames(crit, {**only, "jump": 1.0}), 1).index.tolist() == [GLITCH]
    # positions are 1-based frame positions; the lost frame is never picked, even when k is large
    everything = pick_outliers(score_frames(crit, WEIGHTS), 1000)
    assert len(everything) == len(crit) - 1 and LOST_AT + 1 not in set(everything["position"])


def test_robust_z_closed_form():
    v = np.array([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])
    # median 3, MAD median(|v - 3|) = median(2, 1, 0, 1, 97) = 1
    np.testing.assert_allclose(robust_z(v)[:5], [0, 0, 0, 1 / 1.4826, 97 / 1.4826])
    assert np.isnan(robust_z(v)[5])
    # constant but for one: the scale's floor (1e-3) ranks it without an unbounded z
    np.testing.assert_allclose(robust_z(np.array([2.0, 2.0, 2.0, 2.5])), [0, 0, 0, 500])


def test_export_writes_images_and_a_landmarks_gt_file_the_reader_accepts(small_bag, tmp_path):
    pretrained, finetuned, _ = _tracks()
    pretrained, finetuned = pretrained.iloc[:6].copy(), finetuned.iloc[:6].copy()  # the bag has 6 frames
    finetuned.loc[2, [f"x{j}" for j in range(68)]] += 30.0  # a glitch at position 3
    out = tmp_path / "rec"
    scores = export_outliers("rec", small_bag, pretrained, finetuned, out, 2, WEIGHTS)
    picked = scores.loc[scores["picked"], "position"].tolist()
    assert 3 in picked and len(picked) == 2
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f"rec.avi_{p}.png" for p in picked)
    ann = tables.read_annotations(out / "rec.txt", "rec")
    assert ann["frame"].tolist() == picked
    expected = points(finetuned.set_index("position").loc[picked].reset_index())
    np.testing.assert_allclose(tables.annotation_points(ann), expected, atol=0.005)
    # the PNG is the bag's colour frame, losslessly
    frame = list(open_bag(small_bag).frames("color"))[picked[0] - 1].data
    np.testing.assert_array_equal(cv2.imread(str(out / f"rec.avi_{picked[0]}.png"))[..., ::-1], frame)


def _annotations(recording: str, frames: list[int], value: float, source: str) -> pd.DataFrame:
    coords = {f"{a}{j}": value for a in "xy" for j in range(68)}
    return pd.DataFrame(
        {"recording_id": recording, "frame": frames, **coords, "source": source, "line": range(2, 2 + len(frames))}
    )


def test_merge_relabelled_corrected_frames_win():
    original = pd.concat([_annotations("A", [3, 7], 1.0, "gt/A.txt"), _annotations("B", [2], 2.0, "gt/B.txt")])
    corrected = _annotations("A", [7, 9], 5.0, "fixed/A.txt")
    merged, replaced = merge_relabelled(original, corrected)
    assert list(zip(merged["recording_id"], merged["frame"], strict=True)) == [("A", 3), ("A", 7), ("A", 9), ("B", 2)]
    assert merged.set_index(["recording_id", "frame"]).loc[("A", 7), "x0"] == 5.0
    assert replaced[["recording_id", "frame"]].values.tolist() == [["A", 7]]


def test_corrected_frames_are_decoded_when_the_others_are_provided_images(small_bag, tmp_path):
    provided = tmp_path / "Frames"
    provided.mkdir()
    cv2.imwrite(str(provided / "rec_color.avi_2.jpg"), np.zeros((120, 160, 3), np.uint8))
    annotations = pd.concat(
        [_annotations("rec", [2], 1.0, "gt/rec.txt"), _annotations("rec", [5], 1.0, "fixed/rec.txt")]
    )
    decode = annotations["source"].str.startswith("fixed/")
    out = tmp_path / "frames"
    assert copy_annotated_frames(["rec"], annotations, provided, out, {"rec": str(small_bag)}, decode) == 2
    truth = cv2.cvtColor(list(open_bag(small_bag).frames("color"))[4].data, cv2.COLOR_RGB2BGR)
    _, jpeg = cv2.imencode(".jpg", truth, [cv2.IMWRITE_JPEG_QUALITY, 95])
    np.testing.assert_array_equal(cv2.imread(str(out / "rec.avi_5.jpg")), cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
    assert (cv2.imread(str(out / "rec.avi_2.jpg")) == 0).all()  # the provided image, copied


def test_relabelled_files_are_validated_like_landmarks_gt(tmp_path):
    bad = tmp_path / "A.txt"
    header = "Frame," + ",".join(f"x{j},y{j}" for j in range(1, 69))
    bad.write_text(header + "\n" + "3," + ",".join(["1.5"] * 136) + "\n" + "4," + ",".join(["oops"] * 136) + "\n")
    with pytest.raises(InputError) as err:
        tables.read_annotation_dir(tmp_path, pd.DataFrame({"recording_id": ["A"]}))
    assert str(bad) in str(err.value) and "line 3" in str(err.value)


def _finetuning_frames(workdir) -> int:
    """Annotated frames the last fine-tuning used, from its log."""
    counts = re.findall(r"fine-tuning on (\d+) annotated frames", (workdir / "logs/fan/finetune.log").read_text())
    return int(counts[-1])


def test_relabelling_loop_end_to_end(tiny, tmp_path):
    """A finished run of the tiny config (a copy of the session's): track, export outliers, "correct" them
    (every point moved 2 px right), put them in outliers.relabelled, rerun: the corrected frames join the
    annotations and the fine-tuning."""
    workdir = copy_run(tiny, tmp_path / "run")
    config_file = workdir / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["outliers"] = {"frames_per_recording": 3}
    # the tiny FAN (one epoch) is unsure everywhere: keep every frame tracked, so there is something to correct
    config["tracking"].update(min_confidence=0.0, max_jump=100.0)
    # keys in the run's order: Snakemake compares params by their text, so sorted keys would rerun every job
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    # the outliers target plans one export per tracked recording (tracking reruns: its settings changed);
    # to keep the test short, one recording of a training participant is tracked and exported
    job = run(workdir, "-n", "outliers", log_name="plan.log", timeout=300)
    assert job.proc.returncode == 0, job.tail()
    planned = sorted(set(re.findall(r"output: results/outliers/(\S+)", job.text)))
    replanned = {"pretrain_fan", "finetune_fan"} & {j.rule for j in logged_jobs(job.text)}
    assert not replanned, f"the copy of the finished run plans {replanned} again:\n{job.tail()}"
    recordings = pd.read_csv(workdir / "results/synthetic/recordings.tsv", sep="\t")
    owner = dict(zip(recordings["recording_id"], recordings["participant_id"], strict=True))
    tasks = dict(zip(recordings["recording_id"], recordings["task"], strict=True))
    assert planned and {tasks[r] for r in planned} == {"BBP", "OPEN", "SPREAD"}  # the tracked recordings
    split = pd.read_csv(workdir / "results/fan/split.tsv", sep="\t")
    train = set(split.loc[split["set"] == "train", "participant_id"])
    chosen = next(r for r in planned if owner[r] in train)
    job = run(workdir, f"results/outliers/{chosen}", timeout=1200)
    assert job.proc.returncode == 0, job.tail()
    exported = sorted((workdir / "results/outliers").glob("*/*.txt"))
    assert [p.stem for p in exported] == [chosen]
    for file in exported:
        assert len(pd.read_csv(file)) == 3 and len(list(file.parent.glob("*.png"))) == 3
    # the corrections, in the folder the config names
    corrected = workdir / "relabelled"
    corrected.mkdir()
    for file in exported:
        table = pd.read_csv(file)
        table[[f"x{j}" for j in range(1, 69)]] += 2.0
        table.to_csv(corrected / file.name, index=False)
    annotations = pd.read_parquet(workdir / "results/inputs/annotations.parquet")
    new_train = {
        (file.stem, int(frame))
        for file in exported
        for frame in pd.read_csv(file)["Frame"]
        if owner[file.stem] in train
    } - set(zip(annotations["recording_id"], annotations["frame"], strict=True))
    assert new_train, "no corrected frame of a training participant: the test would not bite"
    frames_before = _finetuning_frames(workdir)
    weights_before = sha256(workdir / "results/fan/finetuned.pth")

    config["outliers"]["relabelled"] = "relabelled"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    job = run(workdir, "results/fan/finetuned.pth", log_name="rerun.log", timeout=1200)
    assert job.proc.returncode == 0, job.tail()
    started = set(job.jobs()[0].values())
    assert {"relabelled_annotations", "annotated_frames", "finetune_fan"} <= started
    assert "pretrain_fan" not in started and "track_landmarks" not in started
    merged = pd.read_parquet(workdir / "results/fan/annotations.parquet").set_index(["recording_id", "frame"])
    for file in exported:
        table = pd.read_csv(file)
        for row in table.itertuples(index=False):
            assert merged.loc[(file.stem, row.Frame), "x0"] == pytest.approx(row.x1 + 2.0)
    assert _finetuning_frames(workdir) == frames_before + len(new_train)
    assert sha256(workdir / "results/fan/finetuned.pth") != weights_before


def test_a_missing_relabelled_folder_stops_before_any_job(tmp_path):
    workdir = new_workdir(tmp_path / "run")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["outliers"] = {"relabelled": "corrections"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    job = run(workdir, "-n", timeout=300)
    assert job.proc.returncode != 0
    assert "outliers.relabelled: corrections is not a directory" in job.text
    assert not (workdir / "results").exists()
    # with the folder, the DAG merges its files and fine-tunes on them
    (workdir / "corrections").mkdir()
    job = run(workdir, "-n", "results/fan/finetuned.pth", timeout=300)
    assert job.proc.returncode == 0, job.tail()
    assert "rule relabelled_annotations:" in job.text or "localrule relabelled_annotations:" in job.text

"""The signal path of the embedded default: median filter in time, depth at the lips, balanced
identities, the domain-gap switch and the signal ladder's like-for-like ceiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroface.tracks import frame_rate, median_smooth, points, track_table, window_frames


@pytest.mark.parametrize(("fps", "frames"), [(50.0, 5), (49.0, 5), (30.0, 3), (20.0, 3), (15.0, 1), (5.0, 1)])
def test_window_in_seconds_becomes_an_odd_frame_count(fps, frames):
    assert window_frames(0.1, fps) == frames
    assert window_frames(1.0, 5.0) == 5  # the old demo: 5 frames at 5 fps were a whole second


@pytest.mark.parametrize("fps", [20.0, 40.0, 60.0])
def test_a_frame_rate_at_a_window_tie_gives_one_window_whatever_the_timestamp_jitter(fps):
    """0.1 s at 20 fps is 2 frames, a tie between 1 and 3: the measured rate of a recording whose timestamps jitter
    (the demo's N(0, 0.05 ms), a camera's clock) lands a hair above or below it, and the window once flipped with it
    (about half the demo's BBP recordings were not filtered at all)."""
    rng = np.random.default_rng(0)
    windows = set()
    for _ in range(50):
        t_ms = np.arange(300) * 1000.0 / fps + rng.normal(0.0, 0.05, 300)
        table = track_table(np.arange(300), t_ms, np.zeros((300, 68, 2)))
        windows.add(window_frames(0.1, frame_rate(table)))
    assert windows == {window_frames(0.1, fps)} == {2 * round(fps / 20) + 1}


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


def test_lip_depth_is_read_from_the_lip_not_the_mouth_cavity():
    """A window straddling an occluding edge: the lip (500 mm) above, the open mouth (525 mm)
    below, most of the window in the cavity. The plain median reads the cavity; the foreground
    rule reads the lip, and on a smooth sloped surface the two agree."""
    from neuroface.tracking.reconstruct import depth_at

    depth = np.full((20, 20), 500, np.uint16)
    depth[9:, :] = 525  # cavity from row 9: the 5x5 window at row 10 has 2 rows of lip, 3 of cavity
    depth[8, 8] = 0  # a hole
    px = np.array([[10.0, 10.0]])
    assert depth_at(depth, px, 2)[0] == 525.0
    assert depth_at(depth, px, 2, np.array([True]), tolerance=6.0)[0] == 500.0
    slope = (480 + np.arange(20)[:, None] * 1.0 + np.zeros((1, 20))).astype(np.uint16)  # 1 mm per pixel
    assert depth_at(slope, px, 2, np.array([True]), tolerance=6.0)[0] == depth_at(slope, px, 2)[0]
    # the true lip landmarks of a rendered open mouth: the foreground rule is what the models use
    from neuroface.tracking.reconstruct import FOREGROUND_LANDMARKS

    assert set(range(60, 68)) <= set(FOREGROUND_LANDMARKS)


def test_base_faces_are_balanced_across_groups():
    from neuroface.synthetic.cohort import plan_cohort
    from neuroface.synthetic.generate import base_face_assignment, identity_table

    plan = plan_cohort({"preset": "demo", "seed": 20231124})
    bases = base_face_assignment(plan)
    groups = plan.participants.set_index("participant_id")["group"]
    counts = pd.crosstab(groups, pd.Series(bases).reindex(groups.index))
    assert counts.shape == (3, 4)
    assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1  # each group uses every base face +-1
    table = identity_table(plan)
    onehot = table[[c for c in table.columns if c.startswith("base_face_")]].to_numpy()
    assert (onehot.sum(axis=1) == 1).all()
    assert np.argmax(onehot, axis=1).tolist() == [bases[p] for p in table["participant_id"]]


def test_demo_frame_rates_come_from_the_ladder_and_one_fps_overrides_them():
    from neuroface.synthetic.cohort import plan_cohort

    demo = plan_cohort({"preset": "demo", "seed": 1}).scale
    assert demo.fps_of("BBP") == 20.0 and demo.fps_of("OPEN") == demo.fps_of("SPREAD") == 5.0
    assert plan_cohort({"preset": "demo", "seed": 1, "fps": 2}).scale.fps_of("BBP") == 2.0
    doubled = plan_cohort({"preset": "demo", "seed": 1, "task_fps": {"BBP": 40, "OPEN": 10}}).scale
    assert (doubled.fps_of("BBP"), doubled.fps_of("OPEN"), doubled.fps_of("SPREAD")) == (40.0, 10.0, 5.0)
    one_then_bbp = plan_cohort({"preset": "demo", "seed": 1, "fps": 2, "task_fps": {"BBP": 8}}).scale
    assert (one_then_bbp.fps_of("BBP"), one_then_bbp.fps_of("REST")) == (8.0, 2.0)


@pytest.fixture(scope="module")
def bbp_recording(tmp_path_factory):
    """One synthetic BBP recording of a PS participant at 25 fps (bag + truth; the 0.1 s filter
    is 3 frames there)."""
    from neuroface.synthetic import generate
    from neuroface.synthetic.cohort import plan_cohort

    plan = plan_cohort(
        {
            "preset": "demo",
            "seed": 11,
            "fps": 25,
            "participants": {"HC": 1, "PS": 1, "ALS": 1},
            "repetitions": {"BBP": 2, "OPEN": 1, "SPREAD": 1},
            "rest_seconds": 1.0,
        }
    )
    rid = "S001_01_BBP_NORMAL"
    out = tmp_path_factory.mktemp("bbp")
    generate.synthesize_recording(plan, rid, out / "r.bag", out / "r.npz", False)
    return plan, rid, out / "r.bag", dict(np.load(out / "r.npz"))


# Tolerances of R2 (true 2D -> 0.1 s median filter -> depth lookup -> deprojection) against R1
# (true 3D), per repetition, on the features of both sets: range and path features within
# 2 mm (the 0.1 s filter clips a syllable's opening peak by ~1.6 mm at 25 fps), peak speeds
# within 20 %, mean speeds within 10 %, symmetry ratios within 0.1.
_ABS_MM = (
    "mouth_opening_rom",
    "mouth_width_rom",
    "lower_lip_vertical_rom",
    "lower_lip_range",
    "corner_vertical_asymmetry",
    "lower_lip_midline_deviation",
)
_REL_SPEED = {
    "opening_speed_max": 0.2,
    "width_speed_max": 0.2,
    "lower_lip_speed_max": 0.2,
    "opening_speed_mean": 0.1,
    "width_speed_mean": 0.1,
}
_ABS_RATIO = ("corner_excursion_symmetry", "hemi_mouth_area_symmetry", "eye_aperture_symmetry")


def test_r2_reproduces_r1_features_on_a_recording_with_known_motion(bbp_recording):
    from neuroface.features.repetitions import GapPolicy, recording_features, track_from_table, track_from_truth
    from neuroface.features.rungs import error_split, true2d_track

    plan, rid, bag, truth = bbp_recording
    table = true2d_track(bag, truth, 0.1, 2)
    segments = pd.DataFrame(
        [(k, s, e) for k, (s, e) in enumerate(truth["repetitions"], start=1)], columns=["repetition", "start", "end"]
    )
    names = [*_ABS_MM, *_REL_SPEED, *_ABS_RATIO]
    r2, dropped2 = recording_features(*track_from_table(table), segments, names, GapPolicy())
    r1, _ = recording_features(*track_from_truth(truth), segments, names, GapPolicy())
    assert not dropped2 and len(r2) == len(r1) == 2
    for a, b in zip(r2, r1, strict=True):
        for n in _ABS_MM:
            assert abs(a[n] - b[n]) < 2.0, (n, a[n], b[n])
        for n, tol in _REL_SPEED.items():
            assert abs(a[n] - b[n]) < tol * abs(b[n]), (n, a[n], b[n])
        for n in _ABS_RATIO:
            assert abs(a[n] - b[n]) < 0.1, (n, a[n], b[n])
    # the lips' 3D error about the whole face's: no cavity reads (the plain median put inner-lip
    # points 20+ mm deep). The face's common offset is the camera's: rs.align keeps the depth
    # camera's z, so a depth-to-colour baseline with a z component (SR300-like, ~4 mm) moves
    # every landmark alike; the head-fixed features do not see it.
    from neuroface.tracks import points3d

    error = points3d(table) - truth["landmarks_3d"]
    relative = error[:, 48:68] - error.mean(axis=1, keepdims=True)
    bias, jitter = error_split(relative, np.zeros_like(relative))
    assert bias < 1.5 and jitter < 1.5, (bias, jitter)


def test_r2_read_beside_a_models_track_in_the_3d_job_equals_r2_alone(bbp_recording):
    """The workflow reads R2 from the depth stream in each participant's reconstruct_3d job, in
    one pass with the models' tracks (alignment around every face at once): the same table as
    R2's own pass."""
    from neuroface.features.rungs import true2d_smoothed, true2d_track
    from neuroface.realsense.bag import open_bag
    from neuroface.tracking.reconstruct import reconstruct_tracks
    from neuroface.tracks import track_table

    plan, rid, bag, truth = bbp_recording
    model = truth["landmarks_2d"].astype(float) + np.array([6.0, -4.0])  # a model 7 px off, a frame lost
    model[5] = np.nan
    tracks = {
        "finetuned": track_table(truth["frame_number"], truth["timestamp_ms"], model),
        "true2d": true2d_smoothed(truth, 0.1),
    }
    together = reconstruct_tracks(open_bag(bag), tracks, 2)
    assert together["true2d"].equals(true2d_track(bag, truth, 0.1, 2))


def test_error_split_separates_a_fixed_offset_from_frame_to_frame_noise():
    from neuroface.features.rungs import error_split

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(400, 5, 3))
    offset = np.array([3.0, 0.0, 4.0])  # a 5 mm bias on every landmark
    noise = rng.normal(0, 0.5, size=truth.shape)  # jitter: RMS 0.5 * sqrt(3) per landmark
    noise -= noise.mean(axis=0)
    bias, jitter = error_split(truth + offset + noise, truth)
    assert bias == pytest.approx(5.0, abs=1e-9)
    assert jitter == pytest.approx(np.sqrt(np.mean(np.sum(noise**2, axis=2))), rel=1e-12)
    est = truth + offset
    est[3] = np.nan  # a lost frame is left out
    assert error_split(est, truth) == pytest.approx((5.0, 0.0), abs=1e-9)


def test_ladder_figure_keeps_its_legend_off_the_bars_and_labels_the_true_rungs():
    """Panel B's bars are the summary's medians; its legend may not hide the tallest bar (it did at R4),
    and R0/R1, which have no error rows, say why they are empty."""
    import matplotlib.pyplot as plt

    from neuroface.classification.ladder import error_summary, ladder_figure

    aucs = pd.DataFrame(
        [
            ("HC_vs_ALS", "OPEN", r, s, 10, 11, 0.9 - 0.1 * i, 0.7 - 0.1 * i, 1.0)
            for i, (r, s) in enumerate(
                [("R0", "true3d_50fps"), ("R1", "true3d"), ("R2", "true2d"), ("R3", "finetuned"), ("R4", "pretrained")]
            )
        ],
        columns=["comparison", "task", "rung", "source", "n_control", "n_disease", "auc", "ci_low", "ci_high"],
    )
    errors = pd.DataFrame(
        [
            (r, f"{g}{k}", g, "3d mm", b + 0.1 * k, j)
            for r, b, j in [("R2", 0.7, 0.5), ("R3", 2.4, 2.0), ("R4", 3.7, 2.1)]
            for g in ("HC", "PS")
            for k in range(3)
        ],
        columns=["rung", "recording_id", "group", "space", "bias", "jitter"],
    )
    summary = error_summary(errors)
    assert (summary["n_recordings"] == 3).all()
    no_frame = errors.iloc[[0]].assign(recording_id="lost", bias=np.nan, jitter=np.nan)  # no finite frame
    assert error_summary(pd.concat([errors, no_frame])).equals(summary)  # neither in the medians nor counted
    fig = ladder_figure(aucs, summary)
    ax2 = fig.axes[1]
    fig.canvas.draw()
    bars = [p for p in ax2.patches if p.get_height() > 0]
    assert max(b.get_height() for b in bars) == pytest.approx(summary.query("rung == 'R4'")["bias"].median())
    legend = ax2.get_legend().get_window_extent()
    assert not any(legend.overlaps(b.get_window_extent()) for b in bars)
    assert sorted(t.get_text() for t in ax2.texts) == ["true 3D\n(no error)"] * 2
    plt.close(fig)


def test_rung_aucs_and_feature_correlations_against_direct_computation():
    from sklearn.metrics import roc_auc_score

    from neuroface.classification.ladder import feature_correlations, rung_aucs

    rng = np.random.default_rng(1)
    rows = []
    for source in ("true3d_50fps", "true3d", "pretrained"):
        labels = np.r_[np.zeros(8), np.ones(9)].astype(int)
        probs = rng.random(17) + 0.3 * labels
        rows += [
            ("HC_vs_PS", "BBP", source, f"p{i}", lab, pr) for i, (lab, pr) in enumerate(zip(labels, probs, strict=True))
        ]
    prob = pd.DataFrame(rows, columns=["comparison", "task", "source", "participant_id", "label", "probability"])
    aucs = rung_aucs(prob)
    assert aucs["rung"].tolist() == ["R0", "R1", "R4"]
    for r in aucs.itertuples():
        t = prob[prob["source"] == r.source]
        assert r.auc == pytest.approx(roc_auc_score(t["label"], t["probability"]))
        assert r.ci_low < r.auc < r.ci_high
    base = pd.DataFrame({"recording_id": ["a"] * 6, "repetition": range(6), "f": np.arange(6.0)})
    noisy = base.assign(f=base["f"] * 2 + np.array([0, 1, 0, 1, 0, 1]))
    corr = feature_correlations({"R1": base, "R3": noisy.iloc[::-1]}, ["f"], "HC_vs_PS", "BBP").set_index("rung")
    assert corr.loc["R1", "r"] == pytest.approx(1.0)
    assert corr.loc["R3", "r"] == pytest.approx(np.corrcoef(base["f"], noisy["f"])[0, 1])  # matched by repetition


def test_identity_only_classifier_sees_no_group_in_a_balanced_identity():
    from neuroface.classification.ladder import identity_aucs

    rng = np.random.default_rng(2)
    ids = [f"N{i:03d}" for i in range(12)] + [f"S{i:03d}" for i in range(12)]
    table = pd.DataFrame({"participant_id": ids, "group": ["HC"] * 12 + ["PS"] * 12, "x": rng.normal(size=24)})
    out = identity_aucs(table, {"HC_vs_PS": ("PS", "PS")}, {"HC_vs_PS": ids})
    assert out.loc[0, "ci_contains_half"]
    confounded = table.assign(x=np.r_[np.zeros(12), np.ones(12)])  # identity = group
    assert identity_aucs(confounded, {"HC_vs_PS": ("PS", "PS")}, {"HC_vs_PS": ids}).loc[0, "auc"] > 0.9


def test_generic_groups_switch_puts_patient_movements_into_the_corpus():
    """The domain gap's control: with generic_groups [HC] (default) the corpus's faces carry only
    healthy rest asymmetry; with all groups, PS faces droop at one mouth corner as the cohort's do.
    The default corpus is unchanged by the switch's existence (same generator draws)."""
    from neuroface.synthetic.corpus import _random_expression
    from neuroface.synthetic.face3d import sample_identity

    def corner_drop(groups, k):
        rng = np.random.default_rng(k)
        identity = sample_identity(rng, "F")
        head, _, _ = _random_expression(rng, identity, groups)
        neutral = identity.landmarks
        return abs((head[48, 1] - neutral[48, 1]) - (head[54, 1] - neutral[54, 1]))

    healthy = np.array([corner_drop(("HC",), k) for k in range(60)])
    clinical = np.array([corner_drop(("HC", "PS", "ALS"), k) for k in range(60)])
    assert np.percentile(clinical, 90) > np.percentile(healthy, 90) + 0.5
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    ident = sample_identity(np.random.default_rng(9), "M")
    np.testing.assert_array_equal(_random_expression(rng_a, ident)[0], _random_expression(rng_b, ident, ("HC",))[0])


def test_ladder_rule_script_runs_on_every_source(tmp_path, monkeypatch):
    """The ``ladder`` rule's script end to end on small made-up inputs of every rung: the AUC,
    correlation, error and identity tables, the Markdown and the figure are written."""
    import runpy
    import types

    import yaml

    from neuroface.features.exclusions import classification_mask
    from neuroface.synthetic.cohort import plan_cohort
    from neuroface.tracks import P_COLUMNS, V_COLUMNS, stack_recordings, track_table

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    monkeypatch.syspath_prepend(str(repo / "workflow" / "scripts"))
    (tmp_path / "o").mkdir()
    cfg = yaml.safe_load(open("tests/configs/tiny.yaml"))
    main = yaml.safe_load(open("config.yaml"))
    cfg["synthetic"]["participants"] = {"HC": 4, "PS": 4, "ALS": 4}
    plan = plan_cohort(cfg["synthetic"])
    recs = plan.recordings[classification_mask(plan.participants, plan.recordings)].merge(
        plan.participants[["participant_id", "group"]]
    )
    recs = recs[["recording_id", "participant_id", "group", "task"]]
    ids = sorted(recs.recording_id)
    rng = np.random.default_rng(0)
    D = str(tmp_path)
    sets = main["features"]["sets"]
    keys = [(t, s) for t in ("BBP", "OPEN", "SPREAD") for s in sets]
    sources = ("pretrained", "finetuned", "true2d", "true3d", "true3d_50fps")
    feat = []
    for src in sources:
        for t, s in keys:
            r = recs[recs.task == t]
            tab = pd.DataFrame(
                {
                    "participant_id": r.participant_id,
                    "group": r.group,
                    "task": t,
                    "recording_id": r.recording_id,
                    "repetition": 1,
                    "frames": 10,
                    "interpolated": 0,
                }
            )
            for f in sets[s]:
                tab[f] = rng.normal(size=len(tab))
            path = f"{D}/{src}_{t}_{s}.tsv"
            tab.to_csv(path, sep="\t", index=False)
            feat.append(path)
    probs = []
    for c, (dis, _set) in main["classification"]["runs"].items():
        for t in ("BBP", "OPEN", "SPREAD"):
            pp = recs[(recs.task == t) & recs.group.isin(["HC", dis])].drop_duplicates("participant_id")
            rows = [
                dict(
                    comparison=c,
                    task=t,
                    source=src,
                    participant_id=p.participant_id,
                    group=p.group,
                    label=int(p.group == dis),
                    probability=rng.random(),
                    n_repetitions=1,
                )
                for src in sources[:4]
                for p in pp.itertuples()
            ]
            path = f"{D}/p_{c}_{t}.tsv"
            pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
            probs.append(path)
    # tracks and 3D landmarks: one file per source and participant (the rule's expand() order), rows per recording
    by_participant = {p: sorted(rows.recording_id) for p, rows in recs.groupby("participant_id")}
    tracks, p3, truths = [], [], []
    for m in ("pretrained", "finetuned"):
        for participant, rids in by_participant.items():
            tables = {r: track_table(np.arange(10), np.arange(10) * 50.0, rng.normal(size=(10, 68, 2))) for r in rids}
            path = f"{D}/tr_{m}_{participant}.parquet"
            stack_recordings(tables).to_parquet(path)
            tracks.append(path)
    for s in ("pretrained", "finetuned", "true2d"):
        for participant, rids in by_participant.items():
            tables = {}
            for r in rids:
                df = pd.DataFrame(rng.normal(size=(10, len(P_COLUMNS))), columns=P_COLUMNS)
                for v in V_COLUMNS:
                    df[v] = True
                df.insert(0, "timestamp_ms", np.arange(10) * 50.0)
                df.insert(0, "frame_number", np.arange(10))
                df.insert(0, "position", np.arange(1, 11))
                tables[r] = df
            path = f"{D}/p3_{s}_{participant}.parquet"
            stack_recordings(tables).to_parquet(path)
            p3.append(path)
    for r in ids:
        path = f"{D}/truth_{r}.npz"
        np.savez(
            path,
            frame_number=np.arange(10),
            timestamp_ms=np.arange(10) * 50.0,
            landmarks_2d=rng.normal(size=(10, 68, 2)),
            landmarks_3d=rng.normal(size=(10, 68, 3)),
        )
        truths.append(path)
    NS = types.SimpleNamespace
    sm = NS(
        input=NS(probabilities=probs, features=feat, tracks=tracks, points3d=p3, truth=truths),
        output=NS(
            aucs=f"{D}/o/auc.tsv",
            correlations=f"{D}/o/c.tsv",
            errors=f"{D}/o/e.tsv",
            identity=f"{D}/o/i.tsv",
            best=f"{D}/o/b.tsv",
            design=f"{D}/o/d.tsv",
            md=f"{D}/o/l.md",
            pdf=f"{D}/o/l.pdf",
            png=f"{D}/o/l.png",
        ),
        log=[f"{D}/o/log"],
        params=NS(
            synthetic=cfg["synthetic"],
            runs=main["classification"]["runs"],
            sets=sets,
            feature_keys=keys,
            sources=sources,
            models=("pretrained", "finetuned"),
            window_s=0.1,
            recordings=recs.to_dict("records"),
            random_forest={**main["classification"]["random_forest"], "n_estimators": 20},  # as tiny.yaml
            seed=0,
            level=0.95,
        ),
    )
    runpy.run_path("workflow/scripts/ladder.py", init_globals={"snakemake": sm})

    md = (tmp_path / "o" / "l.md").read_text()
    # per run: 3 tasks' AUCs, the identity check, 3 tasks x 5 rungs' best features, 3 tasks' design knobs
    assert md.count("| HC vs PS |") == 3 + 1 + 15 + 3 and md.count("| HC vs ALS |") == 3 + 1 + 15 + 3
    aucs = pd.read_csv(tmp_path / "o" / "auc.tsv", sep="\t")
    assert sorted(aucs["rung"].unique()) == ["R0", "R1", "R2", "R3", "R4"] and len(aucs) == 30
    best = pd.read_csv(tmp_path / "o" / "b.tsv", sep="\t")
    assert len(best) == 30 and best["source"].tolist()[:5] == [
        "true3d_50fps",
        "true3d",
        "true2d",
        "finetuned",
        "pretrained",
    ]
    assert best["p_family"].between(0, 1).all()
    design = pd.read_csv(tmp_path / "o" / "d.tsv", sep="\t")
    assert len(design) == 2 * 3 * 3 and set(design["gain"]) == {"left-right gain", "amplitude gain", "speed gain"}
    assert (tmp_path / "o" / "l.png").stat().st_size > 0

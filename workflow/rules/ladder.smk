# The signal ladder (synthetic cohort only): where the disease signal goes between the motion
# model and the models' landmarks. R0 true 3D at 50 fps, R1 true 3D at the recording's rate, R2
# true 2D through the models' path (the fair ceiling), R3 fine-tuned, R4 pre-trained; plus an
# identity-only classifier that checks the cohort for identity confounds.


if SYNTHETIC:

    rule ladder_true2d:
        """R2's 2D: the true 2D landmarks of every tracked recording, median-filtered in time as
        the models' tracks are; reconstruct_3d reads them from the depth stream beside the
        models' (depth lookup, deprojection)."""
        input:
            # participant by participant, in TRACKED_BY_PARTICIPANT order
            truth=[
                f"{SYNTH_DIR}/truth/{r}.npz"
                for rs in TRACKED_BY_PARTICIPANT.values()
                for r in rs
            ],
        output:
            expand(
                "results/tracks/true2d/{participant}.smoothed.parquet",
                participant=TRACKED_PARTICIPANTS,
            ),
        log:
            "logs/ladder/true2d.log",
        conda:
            "../../envs/realsense.yaml"
        params:
            # each output's recordings, in the order of the truth inputs
            recordings=list(TRACKED_BY_PARTICIPANT.values()),
            window_s=config["tracking"]["median_window"],
        script:
            "../scripts/ladder_true2d.py"

    rule ladder_motion_features:
        """R0: features of the true 3D motion sampled at 50 fps, cut at the true repetitions."""
        output:
            tables=[feature_table("true3d_50fps", t, s) for t, s in FEATURE_KEYS],
            dropped="results/features/true3d_50fps/dropped.tsv",
        log:
            "logs/features/true3d_50fps.log",
        benchmark:
            "benchmarks/features/true3d_50fps.tsv"
        conda:
            "../../envs/realsense.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
            feature_keys=FEATURE_KEYS,
            sets=FEATURE_SETS,
            recordings=classified_recordings(),
            max_gap_frames=config["features"]["max_gap_frames"],
            max_missing_fraction=config["features"]["max_missing_fraction"],
        script:
            "../scripts/ladder_motion_features.py"

    rule ladder:
        """The signal ladder: AUC [CI] per rung, feature correlations with R1, landmark bias and
        jitter per rung, the identity-only check, the best single feature per rung and the design's
        own separation; a table and a figure."""
        input:
            probabilities=expand(
                "results/classification/{comparison}/{task}.tsv",
                comparison=RUNS,
                task=CLASSIFICATION_TASKS,
            ),
            features=[
                feature_table(source, t, s)
                for source in (*SOURCES, "true3d_50fps")
                for t, s in FEATURE_KEYS
            ],
            tracks=expand(
                "results/tracks/{model}/{participant}.smoothed.parquet",
                model=TRACKING_MODELS,
                participant=CLASSIFIED_PARTICIPANTS,
            ),
            points3d=expand(
                "results/landmarks3d/{source}/{participant}.parquet",
                source=(*TRACKING_MODELS, "true2d"),
                participant=CLASSIFIED_PARTICIPANTS,
            ),
            truth=expand(
                f"{SYNTH_DIR}/truth/{{recording}}.npz", recording=CLASSIFIED_RECORDINGS
            ),
        output:
            aucs="results/ladder/auc.tsv",
            correlations="results/ladder/feature_correlation.tsv",
            errors="results/ladder/landmark_error.tsv",
            identity="results/ladder/identity.tsv",
            best="results/ladder/best_feature.tsv",
            design="results/ladder/design.tsv",
            md=report(
                "results/tables/ladder.md",
                category="Tables",
                caption="../report/ladder.rst",
            ),
            pdf="results/figures/ladder.pdf",
            png="results/figures/ladder.png",
        log:
            "logs/ladder/ladder.log",
        benchmark:
            "benchmarks/ladder/ladder.tsv"
        conda:
            "../../envs/ladder.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
            runs=RUNS,
            sets=FEATURE_SETS,
            feature_keys=FEATURE_KEYS,
            sources=(*SOURCES, "true3d_50fps"),
            models=TRACKING_MODELS,
            window_s=config["tracking"]["median_window"],
            recordings=classified_recordings(),
            random_forest=config["classification"]["random_forest"],
            seed=config["classification"]["seed"],
            level=config["classification"]["ci_level"],
        script:
            "../scripts/ladder.py"

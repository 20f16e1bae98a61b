# The video stage: landmarks tracked in every frame with each model, median-filtered, and
# reconstructed in 3D from the depth stream; on the synthetic cohort, checked against truth.


rule track_landmarks:
    """FAN landmarks in every colour frame of one recording with each model (one pass over the
    bag: detect, then track), and their median filter over tracking.median_window seconds. With
    cross-fitting, the third model is the one of the participant's fold.
    """
    input:
        unpack(tracking_weights),
        bag=recording_bag,
        # not read: the inputs checked against the bags first, so no tracking job starts
        # before a bad segmentation or annotation row has stopped the run
        validated="results/inputs/segmentation.tsv",
    output:
        raw=expand(
            "results/tracks/{model}/{{recording}}.parquet", model=TRACKING_MODELS
        ),
        smoothed=expand(
            "results/tracks/{model}/{{recording}}.smoothed.parquet",
            model=TRACKING_MODELS,
        ),
    log:
        "logs/tracks/{recording}.log",
    benchmark:
        "benchmarks/tracks/{recording}.tsv"
    conda:
        "../../envs/cnn.yaml"
    resources:
        gpu=FAN_GPUS,
    params:
        models=TRACKING_MODELS,
        tracking=config["tracking"],
        device=config["fan"]["device"],
        mixed_precision=config["fan"]["mixed_precision"],
        flip=config["fan"]["flip"],
        decoder=config["fan"]["decoder"],
        backend=config["realsense"]["backend"],
    script:
        "../scripts/track_landmarks.py"


rule reconstruct_3d:
    """3D landmarks (mm) from the aligned depth at each median-filtered landmark, for both
    models of one recording (one pass over its bag)."""
    input:
        bag=recording_bag,
        tracks=expand(
            "results/tracks/{model}/{{recording}}.smoothed.parquet",
            model=TRACKING_MODELS,
        ),
    output:
        expand(
            "results/landmarks3d/{model}/{{recording}}.parquet", model=TRACKING_MODELS
        ),
    log:
        "logs/landmarks3d/{recording}.log",
    benchmark:
        "benchmarks/landmarks3d/{recording}.tsv"
    conda:
        "../../envs/realsense.yaml"
    params:
        models=TRACKING_MODELS,
        radius=config["tracking"]["depth_radius"],
        tolerance_ms=config["realsense"]["pair_tolerance_ms"],
        backend=config["realsense"]["backend"],
    script:
        "../scripts/reconstruct_3d.py"


if SYNTHETIC:

    rule tracking_accuracy:
        """Tracked 2D and reconstructed 3D landmarks against the synthetic ground truth."""
        input:
            tracks=expand(
                "results/tracks/{model}/{recording}.smoothed.parquet",
                model=TRACKING_MODELS,
                recording=TRACKED_RECORDINGS,
            ),
            points3d=expand(
                "results/landmarks3d/{model}/{recording}.parquet",
                model=TRACKING_MODELS,
                recording=TRACKED_RECORDINGS,
            ),
            truth=expand(
                f"{SYNTH_DIR}/truth/{{recording}}.npz", recording=TRACKED_RECORDINGS
            ),
            recordings=f"{SYNTH_DIR}/recordings.tsv",
            participants=f"{SYNTH_DIR}/participants.tsv",
        output:
            summary="results/tracking/accuracy.tsv",
            per_recording="results/tracking/accuracy_per_recording.tsv",
        log:
            "logs/tracking/accuracy.log",
        conda:
            "../../envs/stats.yaml"
        params:
            canthi=config["accuracy"]["canthi"],
            recording_ids=TRACKED_RECORDINGS,
            # (model, recording) of each tracks/points3d input, in expand()'s order
            tracks=[(m, r) for m in TRACKING_MODELS for r in TRACKED_RECORDINGS],
        script:
            "../scripts/tracking_accuracy.py"

# The video stage: landmarks tracked in every frame with each model, median-filtered, and
# reconstructed in 3D from the depth stream; on the synthetic cohort, checked against truth.


rule track_landmarks:
    """FAN landmarks in every colour frame of one participant's tracked recordings with each
    model (one pass over each bag: detect, then track), and their median filter over
    tracking.median_window seconds. One job per participant: one interpreter, PyTorch and model
    load for all its recordings. With cross-fitting, the third model is the one of the
    participant's fold.
    """
    input:
        unpack(tracking_weights),
        bags=tracked_bags,
        # not read: the inputs checked against the bags first, so no tracking job starts
        # before a bad segmentation or annotation row has stopped the run
        validated="results/inputs/segmentation.tsv",
    output:
        raw=expand(
            "results/tracks/{model}/{{participant}}.parquet", model=TRACKING_MODELS
        ),
        smoothed=expand(
            "results/tracks/{model}/{{participant}}.smoothed.parquet",
            model=TRACKING_MODELS,
        ),
    log:
        "logs/tracks/{participant}.log",
    benchmark:
        "benchmarks/tracks/{participant}.tsv"
    conda:
        "../../envs/cnn.yaml"
    resources:
        gpu=FAN_GPUS,
    params:
        recordings=lambda wildcards: TRACKED_BY_PARTICIPANT[wildcards.participant],
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
    """3D landmarks (mm) from the aligned depth at each median-filtered landmark, for every
    model (and, on the synthetic cohort, R2's true 2D), of one participant's tracked recordings
    (one pass over each bag)."""
    input:
        bags=tracked_bags,
        tracks=expand(
            "results/tracks/{model}/{{participant}}.smoothed.parquet",
            model=RECONSTRUCTED,
        ),
    output:
        expand(
            "results/landmarks3d/{model}/{{participant}}.parquet",
            model=RECONSTRUCTED,
        ),
    log:
        "logs/landmarks3d/{participant}.log",
    benchmark:
        "benchmarks/landmarks3d/{participant}.tsv"
    conda:
        "../../envs/realsense.yaml"
    params:
        recordings=lambda wildcards: TRACKED_BY_PARTICIPANT[wildcards.participant],
        models=RECONSTRUCTED,
        radius=config["tracking"]["depth_radius"],
        deprojection=config["tracking"]["deprojection"],
        tolerance_ms=config["realsense"]["pair_tolerance_ms"],
        backend=config["realsense"]["backend"],
    script:
        "../scripts/reconstruct_3d.py"


if SYNTHETIC:

    rule tracking_accuracy:
        """Tracked 2D and reconstructed 3D landmarks against the synthetic ground truth."""
        input:
            tracks=expand(
                "results/tracks/{model}/{participant}.smoothed.parquet",
                model=TRACKING_MODELS,
                participant=TRACKED_PARTICIPANTS,
            ),
            points3d=expand(
                "results/landmarks3d/{model}/{participant}.parquet",
                model=TRACKING_MODELS,
                participant=TRACKED_PARTICIPANTS,
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
            # (model, participant, its recordings) of each tracks/points3d input, in expand()'s order
            files=[
                (m, p, TRACKED_BY_PARTICIPANT[p])
                for m in TRACKING_MODELS
                for p in TRACKED_PARTICIPANTS
            ],
        script:
            "../scripts/tracking_accuracy.py"

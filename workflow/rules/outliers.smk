# The relabelling loop (DeepLabCut's extract-outliers / refine / retrain): `snakemake outliers`
# exports, per tracked recording, the frames where tracking is least trustworthy, with a
# Landmarks_gt file pre-filled with the fine-tuned model's landmarks; corrected files placed in
# config outliers.relabelled join the annotations the FAN rules use on the next run.

RELABELLED = config["outliers"]["relabelled"]


if RELABELLED and not Path(RELABELLED).is_dir():
    raise WorkflowError(
        f"config outliers.relabelled: {RELABELLED} is not a directory (put the corrected "
        "results/outliers/<recording>/<recording>.txt files there, or set it to null)"
    )
# the corrected files (*.txt, not hidden), listed at parse time so that adding, removing or
# editing one reruns fine-tuning
RELABELLED_FILES = (
    sorted(str(p) for p in Path(RELABELLED).glob("*.txt") if not p.name.startswith("."))
    if RELABELLED
    else []
)
# the annotations the FAN rules use: the cohort's, or the cohort's merged with the corrected ones
FAN_ANNOTATIONS = (
    "results/fan/annotations.parquet"
    if RELABELLED
    else "results/inputs/annotations.parquet"
)


if RELABELLED:

    rule relabelled_annotations:
        """The cohort's annotations merged with the corrected outlier frames (checked like
        Landmarks_gt; a frame in both takes the corrected landmarks)."""
        input:
            annotations="results/inputs/annotations.parquet",
            relabelled=RELABELLED_FILES,
            frames=expand(
                "results/inputs/frames/{participant}.tsv", participant=PARTICIPANT_IDS
            ),
        output:
            "results/fan/annotations.parquet",
        log:
            "logs/fan/relabelled_annotations.log",
        conda:
            "../../envs/realsense.yaml"
        params:
            directory=RELABELLED,
            # recording id -> participant id (participants come from the recordings table)
            owners=dict(zip(RECORDINGS["recording_id"], RECORDINGS["participant_id"])),
        script:
            "../scripts/outliers_merge.py"


rule export_outliers:
    """The least trustworthy frames of one recording: images, scores and a pre-filled
    Landmarks_gt file to correct."""
    input:
        **{
            m: lambda wc, m=m: f"results/tracks/{m}/{PARTICIPANT_OF[wc.recording]}.parquet"
            for m in MODELS
        },
        bag=recording_bag,
    output:
        directory("results/outliers/{recording}"),
    log:
        "logs/outliers/{recording}.log",
    conda:
        "../../envs/realsense.yaml"
    params:
        frames=config["outliers"]["frames_per_recording"],
        weights=config["outliers"]["weights"],
        backend=config["realsense"]["backend"],
    script:
        "../scripts/outliers_export.py"


rule outliers:
    """Target (not in the default run): outlier frames of every tracked recording."""
    input:
        expand("results/outliers/{recording}", recording=TRACKED_RECORDINGS),

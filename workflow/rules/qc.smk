# Quality control of the video stage: a labelled video and a contact sheet of every tracked
# recording with both models' landmarks drawn on the frames, and a table of frames lost, depth
# missing at landmarks and detector re-runs that flags recordings over the config qc limits.

QC_RECORDINGS = RECORDINGS[
    RECORDINGS["recording_id"].isin(TRACKED_RECORDINGS)
].sort_values("recording_id")
QC_PARTICIPANTS = sorted(QC_RECORDINGS["participant_id"].unique())
# participant -> its tracked recording ids
QC_BY_PARTICIPANT = {
    p: list(rows["recording_id"]) for p, rows in QC_RECORDINGS.groupby("participant_id")
}
# participant -> qc_participant inputs: the .bag files and each model's median-filtered
# tracks, in QC_BY_PARTICIPANT order
QC_INPUTS = {
    p: {
        "bags": list(QC_RECORDINGS.set_index("recording_id").loc[recordings, "bag"]),
        **{
            m: [f"results/tracks/{m}/{r}.smoothed.parquet" for r in recordings]
            for m in MODELS
        },
    }
    for p, recordings in QC_BY_PARTICIPANT.items()
}
# the final QC targets (rule all): the table, its HTML view, every participant's videos and sheets
qc_outputs = lambda: [
    "results/qc/qc.tsv",
    "results/qc/qc.html",
    *expand("results/qc/{participant}", participant=QC_PARTICIPANTS),
]


rule qc_participant:
    """Labelled QC videos (H.264 MP4) and contact sheets (PNG) of one participant's tracked recordings,
    both models' median-filtered landmarks drawn on evenly spaced frames; one pass per .bag.
    """
    input:
        unpack(lambda wildcards: QC_INPUTS[wildcards.participant]),
    output:
        # the H.264 videos play in the report; the contact sheets (102 made it 194 MB) stay in
        # results/qc/<participant>/
        report(
            directory("results/qc/{participant}"),
            patterns=["{name}.mp4"],
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="{participant}",
            labels={"recording": "{name}", "format": "H.264 video"},
        ),
    log:
        "logs/qc/{participant}.log",
    benchmark:
        "benchmarks/qc/{participant}.tsv"
    conda:
        "../../envs/realsense.yaml"
    params:
        recordings=lambda wildcards: QC_BY_PARTICIPANT[wildcards.participant],
        models=MODELS,
        video_frames=config["qc"]["video_frames"],
        video_fps=config["qc"]["video_fps"],
        sheet_frames=config["qc"]["sheet_frames"],
        backend=config["realsense"]["backend"],
    script:
        "../scripts/qc_participant.py"


rule qc_table:
    """One row per tracked recording: frames lost, detector re-runs and landmarks without depth,
    per model, and whether any is over its config qc limit."""
    input:
        tracks=expand(
            "results/tracks/{model}/{recording}.parquet",
            model=MODELS,
            recording=TRACKED_RECORDINGS,
        ),
        points3d=expand(
            "results/landmarks3d/{model}/{recording}.parquet",
            model=MODELS,
            recording=TRACKED_RECORDINGS,
        ),
    output:
        tsv=report(
            "results/qc/qc.tsv",
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="QC table",
            labels={"table": "QC table", "format": "TSV"},
        ),
        html=report(
            "results/qc/qc.html",
            caption="../report/qc.rst",
            category="Quality control",
            subcategory="QC table",
            labels={"table": "QC table", "format": "HTML"},
        ),
    log:
        "logs/qc/qc.log",
    conda:
        "../../envs/realsense.yaml"
    params:
        recordings=QC_RECORDINGS[["recording_id", "participant_id", "task"]].to_dict(
            "records"
        ),
        limits={k: v for k, v in config["qc"].items() if k.startswith("max_")},
        # (model, recording) of each tracks/points3d input, in expand()'s order: ids are
        # opaque, never parsed back out of file names
        pairs=[(m, r) for m in MODELS for r in TRACKED_RECORDINGS],
    script:
        "../scripts/qc_table.py"

# Quality control of the video stage: a labelled video and a contact sheet of every tracked
# recording with both models' landmarks drawn on the frames, and a table of frames lost, depth
# missing at landmarks and detector re-runs that flags recordings over the config qc limits.

QC_RECORDINGS = RECORDINGS[
    RECORDINGS["recording_id"].isin(TRACKED_RECORDINGS)
].sort_values("recording_id")
# the final QC targets (rule all): the table, its HTML view, every participant's videos and sheets
qc_outputs = lambda: [
    "results/qc/qc.tsv",
    "results/qc/qc.html",
    *expand("results/qc/{participant}", participant=TRACKED_PARTICIPANTS),
]


rule qc_participant:
    """Labelled QC videos (H.264 MP4) and contact sheets (PNG) of one participant's tracked recordings,
    both models' median-filtered landmarks drawn on evenly spaced frames; one pass per .bag.
    """
    input:
        **{m: f"results/tracks/{m}/{{participant}}.smoothed.parquet" for m in MODELS},
        bags=tracked_bags,
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
        recordings=lambda wildcards: TRACKED_BY_PARTICIPANT[wildcards.participant],
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
            "results/tracks/{model}/{participant}.parquet",
            model=MODELS,
            participant=TRACKED_PARTICIPANTS,
        ),
        points3d=expand(
            "results/landmarks3d/{model}/{participant}.parquet",
            model=MODELS,
            participant=TRACKED_PARTICIPANTS,
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
        # (model, participant, its recordings) of each tracks/points3d input, in expand()'s
        # order: ids are opaque, never parsed back out of file names
        files=[
            (m, p, TRACKED_BY_PARTICIPANT[p])
            for m in MODELS
            for p in TRACKED_PARTICIPANTS
        ],
    script:
        "../scripts/qc_table.py"

# Validated inputs: the frame index of every recording, and the segmentation and manual
# annotations checked against it (segments and annotated frames must exist in the recording).


rule frame_index:
    """Colour frames of a participant's recordings: frame numbers, timestamps, paired depth frame."""
    input:
        bags=lambda wc: list(participant_recordings(wc).values()),
    output:
        "results/inputs/frames/{participant}.tsv",
    log:
        "logs/inputs/frames/{participant}.log",
    benchmark:
        "benchmarks/inputs/frames/{participant}.tsv"
    conda:
        "../../envs/realsense.yaml"
    params:
        recordings=participant_recordings,
        backend=config["realsense"]["backend"],
        tolerance_ms=config["realsense"]["pair_tolerance_ms"],
    script:
        "../scripts/frame_index.py"


rule validate_inputs:
    """Segmentation and annotations read in either convention, checked against the frame indexes."""
    input:
        participants=cohort_table("participants"),
        recordings=cohort_table("recordings"),
        segmentation=cohort_table("segmentation"),
        annotations=cohort_table("annotations"),
        frames=expand(
            "results/inputs/frames/{participant}.tsv", participant=PARTICIPANT_IDS
        ),
    output:
        segmentation="results/inputs/segmentation.tsv",
        annotations="results/inputs/annotations.parquet",
    log:
        "logs/inputs/validate_inputs.log",
    conda:
        "../../envs/realsense.yaml"
    script:
        "../scripts/validate_inputs.py"

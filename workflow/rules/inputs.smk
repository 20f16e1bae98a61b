# Validated inputs: the frame index of every recording, and the segmentation and manual
# annotations checked against it (segments and annotated frames must exist in the recording).


rule frame_index:
    """Colour frames of one recording with their frame numbers, timestamps and paired depth frame."""
    input:
        bag=bag_path,
    output:
        "results/inputs/frames/{recording}.tsv",
    log:
        "logs/inputs/frames/{recording}.log",
    benchmark:
        "benchmarks/inputs/frames/{recording}.tsv"
    conda:
        "../../envs/realsense.yaml"
    params:
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
        frames=expand("results/inputs/frames/{recording}.tsv", recording=RECORDING_IDS),
    output:
        segmentation="results/inputs/segmentation.tsv",
        annotations="results/inputs/annotations.parquet",
    log:
        "logs/inputs/validate_inputs.log",
    conda:
        "../../envs/realsense.yaml"
    script:
        "../scripts/validate_inputs.py"

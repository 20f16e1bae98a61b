# Features: per-repetition feature tables from the 3D landmarks of each source (both models and,
# on the synthetic cohort, the ground truth), and the count of everything excluded.


rule features:
    """Per-repetition features of every classified recording, per task and feature set."""
    input:
        tracks=feature_tracks,
        segmentation="results/inputs/segmentation.tsv",
    output:
        tables=[feature_table("{source}", t, s) for t, s in FEATURE_KEYS],
        dropped="results/features/{source}/dropped.tsv",
    log:
        "logs/features/{source}.log",
    benchmark:
        "benchmarks/features/{source}.tsv"
    conda:
        "../../envs/stats.yaml"
    params:
        source=lambda wc: wc.source,
        feature_keys=FEATURE_KEYS,
        sets=FEATURE_SETS,
        recording_ids=CLASSIFIED_RECORDINGS,
        track_files=lambda wc: feature_track_files(wc.source),
        recordings=classified_recordings(),
        max_gap_frames=config["features"]["max_gap_frames"],
        max_missing_fraction=config["features"]["max_missing_fraction"],
    script:
        "../scripts/features.py"


rule exclusions:
    """What classification leaves out: participants, recordings and repetitions, by reason."""
    input:
        segmentation="results/inputs/segmentation.tsv",
        dropped=expand("results/features/{source}/dropped.tsv", source=SOURCES),
    output:
        report(
            "results/tables/exclusions.tsv",
            category="Tables",
            caption="../report/exclusions.rst",
        ),
    log:
        "logs/tables/exclusions.log",
    conda:
        "../../envs/stats.yaml"
    params:
        sources=SOURCES,
        participants=PARTICIPANTS.to_dict("records"),
        recordings=RECORDINGS.drop(columns="bag").to_dict("records"),
    script:
        "../scripts/exclusions.py"

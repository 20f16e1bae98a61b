# The embedded default: a synthetic cohort shaped like Toronto NeuroFace, generated only when
# config cohort.source is "synthetic". Files mirror the real data's formats.


if SYNTHETIC:

    rule synthetic_tables:
        """participants.tsv and recordings.tsv of the synthetic cohort."""
        output:
            participants=f"{SYNTH_DIR}/participants.tsv",
            recordings=f"{SYNTH_DIR}/recordings.tsv",
        log:
            "logs/synthetic/tables.log",
        conda:
            "../../envs/realsense.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
        script:
            "../scripts/synthetic_tables.py"

    rule synthetic_participant:
        """All RealSense recordings (colour + depth .bag) of one participant, with ground truth."""
        output:
            bags=synthetic_bags(
                expand(
                    f"{SYNTH_DIR}/bags/{{{{participant}}}}_{{suffix}}.bag",
                    suffix=RECORDING_SUFFIXES,
                )
            ),
            truth=expand(
                f"{SYNTH_DIR}/truth/{{{{participant}}}}_{{suffix}}.npz",
                suffix=RECORDING_SUFFIXES,
            ),
        log:
            "logs/synthetic/participants/{participant}.log",
        benchmark:
            "benchmarks/synthetic/participants/{participant}.tsv"
        conda:
            "../../envs/realsense.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
        script:
            "../scripts/synthetic_participant.py"

    rule synthetic_labels:
        """Repetition segmentation (NeuroFace CSV) and manual annotations (Landmarks_gt)."""
        input:
            truth=expand(
                f"{SYNTH_DIR}/truth/{{recording}}.npz", recording=RECORDING_IDS
            ),
        output:
            segmentation=f"{SYNTH_DIR}/segmentation.csv",
            annotations=directory(f"{SYNTH_DIR}/Landmarks_gt"),
        log:
            "logs/synthetic/labels.log",
        conda:
            "../../envs/realsense.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
        script:
            "../scripts/synthetic_labels.py"

    rule synthetic_generic_corpus:
        """Generic annotated face crops (healthy, varied poses) for pre-training the demo FAN."""
        output:
            directory(f"{SYNTH_DIR}/generic"),
        log:
            "logs/synthetic/generic.log",
        benchmark:
            "benchmarks/synthetic/generic.tsv"
        conda:
            "../../envs/realsense.yaml"
        params:
            synthetic=SYNTHETIC_CONFIG,
        script:
            "../scripts/synthetic_generic_corpus.py"

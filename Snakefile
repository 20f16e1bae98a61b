# neuroface: video-based detection of neurological disease from facial landmarks.
# Reproduces Guarin et al. end to end; see README.md. Run: snakemake --cores 8


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    recording="|".join(RECORDING_IDS),
    participant="|".join(PARTICIPANT_IDS),
    model="|".join(MODELS),
    source="|".join(SOURCES),
    comparison="|".join(RUNS),
    task="|".join(CLASSIFICATION_TASKS),
    figure="|".join(FIGURES),


include: "workflow/rules/synthetic.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/fan.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/classification.smk"
include: "workflow/rules/ladder.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
        qc_outputs(),

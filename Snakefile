# neuroface: video-based detection of neurological disease from facial landmarks.
# Reproduces Guarin et al. end to end; see README.md. Run: snakemake --cores 8


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


cap_local_cores()


wildcard_constraints:
    recording=one_of(RECORDING_IDS),
    participant=one_of(PARTICIPANT_IDS),
    model="|".join(MODELS),
    source="|".join(SOURCES),
    comparison="|".join(RUNS),
    task="|".join(CLASSIFICATION_TASKS),
    figure="|".join(FIGURES),


include: "workflow/rules/synthetic.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/outliers.smk"
include: "workflow/rules/fan.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/classification.smk"
include: "workflow/rules/ladder.smk"
include: "workflow/rules/ablation.smk"


onstart:
    # the disk and CPU time the run should take (README "Scale"); never in --dry-run or --lint,
    # nor in the jobs a cluster runs (they start with --no-hooks)
    preflight_estimate(workflow.local_exec and workflow._cores)


rule all:
    default_target: True
    input:
        final_outputs(),
        qc_outputs(),


rule figures:
    """What a reviewer checks, without the video QC (no tracking QC rule in its DAG): Figs. 2-4,
    Tables II-III, the exclusion counts and the fine-tuning loss curve (the report's analysis
    part). Run: snakemake --cores 8 figures"""
    input:
        "results/figures/fig2.pdf",
        "results/figures/fig2.png",
        "results/tables/table3.tsv",
        "results/tables/table3.md",
        "results/tables/table2.tsv",
        "results/tables/table2.md",
        expand("results/figures/{figure}.{ext}", figure=FIGURES, ext=("pdf", "png")),
        "results/tables/exclusions.tsv",
        "results/fan/finetuning.png",
        "results/fan/finetuning.pdf",

# The fine-tuning data ablation (snakemake --cores 8 ablation; not in the default run): the last
# stack fine-tuned on subsets of the training participants' annotated frames -- one group, the
# clinical groups, all groups, with equal image counts; and a learning curve over participants per
# group -- every model evaluated on the same test participants (NRMSE per group, 95 % CIs).


rule ablation:
    """The fine-tuning data ablation's table and figure."""
    input:
        "results/tables/ablation.md",
        "results/figures/ablation.pdf",


rule ablation_subsets:
    """Each arm's training frames, drawn (seeded) from the split's training participants."""
    input:
        split=ablation_checked,
        annotations=FAN_ANNOTATIONS,
    output:
        "results/ablation/subsets.tsv",
    log:
        "logs/ablation/subsets.log",
    conda:
        "../../envs/realsense.yaml"
    params:
        compositions=ABLATION["compositions"],
        participants_per_group=ABLATION["participants_per_group"],
        seed=ABLATION["seed"],
    script:
        "../scripts/ablation_subsets.py"


rule finetune_fan_ablation:
    """Fine-tune the last hourglass on one arm's frames (the recipe of finetune_fan)."""
    input:
        pretrained=PRETRAINED_WEIGHTS,
        subsets="results/ablation/subsets.tsv",
        annotations=FAN_ANNOTATIONS,
        frames=expand("results/fan/frames/{participant}", participant=PARTICIPANT_IDS),
    output:
        weights="results/ablation/{arm}.pth",
        sidecar="results/ablation/{arm}.pth.json",
        history="results/ablation/{arm}.tsv",
    log:
        "logs/ablation/{arm}.log",
    benchmark:
        "benchmarks/ablation/{arm}.tsv"
    wildcard_constraints:
        arm=one_of(ABLATION_ARMS),
    conda:
        "../../envs/cnn.yaml"
    threads: config["fan"]["threads"]
    resources:
        gpu=FAN_GPUS,
    params:
        fan=fan_training_params("finetuning"),
        arm=lambda wc: wc.arm,
    script:
        "../scripts/finetune_fan.py"


rule ablation_accuracy:
    """Every arm's model, and the pre-trained one, on the test participants' annotated frames."""
    input:
        unpack(
            lambda wc: {
                "pretrained": PRETRAINED_WEIGHTS,
                **{arm: ablation_weights(arm) for arm in ABLATION_ARMS},
            }
        ),
        split="results/fan/split.tsv",
        annotations=FAN_ANNOTATIONS,
        frames=expand("results/fan/frames/{participant}", participant=PARTICIPANT_IDS),
    output:
        "results/ablation/per_image.tsv",
    log:
        "logs/ablation/per_image.log",
    benchmark:
        "benchmarks/ablation/per_image.tsv"
    conda:
        "../../envs/cnn.yaml"
    resources:
        gpu=FAN_GPUS,
    params:
        arms=ABLATION_ARMS,
        canthi=config["accuracy"]["canthi"],
        device=config["fan"]["device"],
        flip=config["fan"]["flip"],
        decoder=config["fan"]["decoder"],
        detector={k: config["tracking"][k] for k in ("detector", "sfd")},
    script:
        "../scripts/landmark_accuracy.py"


rule ablation_table:
    """NRMSE per arm and group with participant-bootstrap 95 % CIs; what each arm trained on."""
    input:
        per_image="results/ablation/per_image.tsv",
        subsets="results/ablation/subsets.tsv",
    output:
        tsv="results/tables/ablation.tsv",
        md=report(
            "results/tables/ablation.md",
            category="Tables",
            caption="../report/ablation.rst",
        ),
    log:
        "logs/tables/ablation.log",
    conda:
        "../../envs/stats.yaml"
    params:
        seed=ABLATION["seed"],
        resamples=ABLATION["bootstrap"],
        finetuned_arm=curve_arm(config["fan"]["train_participants_per_group"]),
    script:
        "../scripts/ablation_table.py"


rule ablation_figure:
    """The ablation's figure: A) composition arms, B) learning curve, NRMSE per group with CIs."""
    input:
        "results/tables/ablation.tsv",
    output:
        pdf="results/figures/ablation.pdf",
        png=report(
            "results/figures/ablation.png",
            category="Figures",
            caption="../report/ablation.rst",
        ),
    log:
        "logs/figures/ablation.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/ablation_figure.py"

# FAN: annotated frames, the train/test split, the pre-trained model (2DFAN-4 or a FAN
# pre-trained on the synthetic generic corpus), fine-tuning of the last stack with Adaptive
# Wing loss, and the landmark accuracy of both models (Fig. 2, Table III); with cross-fitting,
# one fine-tuned model per fold and their accuracy on every annotated participant.

from neuroface.fan.device import scheduler_gpus

# GPUs each FAN rule (here and in tracking.smk) asks for: 1 with fan.device cuda, or auto where the
# DAG is built on a machine with a GPU; 0 otherwise, so CPU jobs neither hold nor queue for a GPU.
FAN_GPUS = scheduler_gpus(config["fan"]["device"])


rule annotated_frames:
    """The manually annotated colour frames of one participant, as NeuroFace-style JPEGs."""
    input:
        bags=lambda wc: (
            []
            if FRAME_IMAGES and not RELABELLED
            else list(participant_recordings(wc).values())
        ),
        annotations=FAN_ANNOTATIONS,
    output:
        directory("results/fan/frames/{participant}"),
    log:
        "logs/fan/frames/{participant}.log",
    conda:
        "../../envs/realsense.yaml"
    params:
        recordings=participant_recordings,
        frame_images=FRAME_IMAGES or "",
        relabelled=RELABELLED or "",
    script:
        "../scripts/annotated_frames.py"


rule fan_split:
    """Seeded choice of the participants whose annotated frames fine-tune FAN; the rest test it
    (participants without annotated frames take no part)."""
    input:
        participants=cohort_table("participants"),
        annotations="results/inputs/annotations.parquet",
    output:
        "results/fan/split.tsv",
    log:
        "logs/fan/split.log",
    conda:
        "../../envs/realsense.yaml"
    params:
        per_group=config["fan"]["train_participants_per_group"],
        seed=config["fan"]["seed"],
    script:
        "../scripts/fan_split.py"


if PRETRAIN_FAN:

    rule pretrain_fan:
        """A FAN pre-trained on the synthetic generic face corpus (stands in for 2DFAN-4)."""
        input:
            corpus=f"{SYNTH_DIR}/generic",
        output:
            weights="results/fan/pretrained.pth",
            sidecar="results/fan/pretrained.pth.json",
            history="results/fan/pretraining.tsv",
        log:
            "logs/fan/pretrain.log",
        benchmark:
            "benchmarks/fan/pretrain.tsv"
        conda:
            "../../envs/cnn.yaml"
        threads: config["fan"]["threads"]
        resources:
            gpu=FAN_GPUS,
        params:
            fan=fan_training_params("pretraining"),
        script:
            "../scripts/pretrain_fan.py"


rule finetune_fan:
    """Fine-tune the last fan.finetuning.stacks hourglass stacks (the study: 1) on the training participants'
    annotated frames (AWing loss)."""
    input:
        pretrained=PRETRAINED_WEIGHTS,
        split="results/fan/split.tsv",
        annotations=FAN_ANNOTATIONS,
        frames=expand("results/fan/frames/{participant}", participant=PARTICIPANT_IDS),
    output:
        weights="results/fan/finetuned.pth",
        sidecar="results/fan/finetuned.pth.json",
        history="results/fan/finetuning.tsv",
        curve_pdf="results/fan/finetuning.pdf",
        curve=report(
            "results/fan/finetuning.png",
            category="FAN",
            caption="../report/finetuning.rst",
        ),
    log:
        "logs/fan/finetune.log",
    benchmark:
        "benchmarks/fan/finetune.tsv"
    conda:
        "../../envs/cnn.yaml"
    threads: config["fan"]["threads"]
    resources:
        gpu=FAN_GPUS,
    params:
        fan=fan_training_params("finetuning"),
    script:
        "../scripts/finetune_fan.py"


if FOLDS:

    rule crossfit_folds:
        """The cross-fitting folds (stratified by group, seeded), as planned when the DAG was
        built, and who has annotated frames: fold k's model trains on the annotated participants
        of the other folds."""
        output:
            "results/fan/crossfit/folds.tsv",
        log:
            "logs/fan/crossfit/folds.log",
        conda:
            "../../envs/realsense.yaml"
        params:
            fold_of=FOLD_OF,
            groups=dict(zip(PARTICIPANTS["participant_id"], PARTICIPANTS["group"])),
            annotated=sorted(ANNOTATED_PARTICIPANTS),
        script:
            "../scripts/crossfit_folds.py"

    rule finetune_fan_crossfit:
        """Fine-tune the last hourglass for one fold, on the annotated frames of every annotated
        participant outside the fold (the recipe of finetune_fan)."""
        input:
            pretrained=PRETRAINED_WEIGHTS,
            folds="results/fan/crossfit/folds.tsv",
            annotations=FAN_ANNOTATIONS,
            frames=expand(
                "results/fan/frames/{participant}", participant=PARTICIPANT_IDS
            ),
        output:
            weights="results/fan/crossfit/fold{fold}.pth",
            sidecar="results/fan/crossfit/fold{fold}.pth.json",
            history="results/fan/crossfit/fold{fold}.tsv",
        log:
            "logs/fan/crossfit/fold{fold}.log",
        benchmark:
            "benchmarks/fan/crossfit/fold{fold}.tsv"
        wildcard_constraints:
            fold=r"\d+",
        conda:
            "../../envs/cnn.yaml"
        threads: config["fan"]["threads"]
        resources:
            gpu=FAN_GPUS,
        params:
            fan=fan_training_params("finetuning"),
            train_participants=lambda wc: fold_training_participants(wc.fold),
        script:
            "../scripts/finetune_fan.py"

    rule landmark_accuracy_crossfit:
        """Every annotated participant's frames with the pre-trained, the fine-tuned and its
        fold's cross-fitted model, cropped by the face detector."""
        input:
            unpack(crossfit_accuracy_weights),
            split="results/fan/split.tsv",
            annotations=FAN_ANNOTATIONS,
            frames=expand(
                "results/fan/frames/{participant}", participant=PARTICIPANT_IDS
            ),
        output:
            "results/landmarks/crossfit_per_image.tsv",
        log:
            "logs/landmarks/crossfit_per_image.log",
        benchmark:
            "benchmarks/landmarks/crossfit_per_image.tsv"
        conda:
            "../../envs/cnn.yaml"
        resources:
            gpu=FAN_GPUS,
        params:
            fold_of=FOLD_OF,
            canthi=config["accuracy"]["canthi"],
            device=config["fan"]["device"],
            flip=config["fan"]["flip"],
            decoder=config["fan"]["decoder"],
            detector={k: config["tracking"][k] for k in ("detector", "sfd")},
        script:
            "../scripts/landmark_accuracy.py"

    rule table_iii_crossfit:
        """Cross-fitted accuracy: NRMSE per group of every annotated participant, on the fine-tuning
        split's training participants (seen by the fine-tuned model: its optimism) and its test
        participants; paired tests fine-tuned vs cross-fitted; bias tests."""
        input:
            "results/landmarks/crossfit_per_image.tsv",
        output:
            tsv="results/tables/table3_crossfit.tsv",
            md=report(
                "results/tables/table3_crossfit.md",
                category="Tables",
                caption="../report/table3_crossfit.rst",
            ),
        log:
            "logs/tables/table3_crossfit.log",
        conda:
            "../../envs/stats.yaml"
        params:
            alpha=config["accuracy"]["alpha"],
        script:
            "../scripts/table_iii_crossfit.py"

    rule fig2_crossfit:
        """Fig. 2 over every annotated participant: CDFs of per-image NRMSE of the pre-trained,
        fine-tuned and cross-fitted models, panels HC, PS, ALS."""
        input:
            "results/landmarks/crossfit_per_image.tsv",
        output:
            pdf="results/figures/fig2_crossfit.pdf",
            png=report(
                "results/figures/fig2_crossfit.png",
                category="Figures",
                caption="../report/fig2_crossfit.rst",
            ),
        log:
            "logs/figures/fig2_crossfit.log",
        conda:
            "../../envs/plot.yaml"
        script:
            "../scripts/fig2.py"


rule landmark_accuracy:
    """Both models on the test participants' annotated frames, cropped by the face detector."""
    input:
        pretrained=PRETRAINED_WEIGHTS,
        finetuned="results/fan/finetuned.pth",
        split="results/fan/split.tsv",
        annotations=FAN_ANNOTATIONS,
        frames=expand("results/fan/frames/{participant}", participant=PARTICIPANT_IDS),
    output:
        "results/landmarks/per_image.tsv",
    log:
        "logs/landmarks/per_image.log",
    benchmark:
        "benchmarks/landmarks/per_image.tsv"
    conda:
        "../../envs/cnn.yaml"
    resources:
        gpu=FAN_GPUS,
    params:
        canthi=config["accuracy"]["canthi"],
        device=config["fan"]["device"],
        flip=config["fan"]["flip"],
        decoder=config["fan"]["decoder"],
        detector={k: config["tracking"][k] for k in ("detector", "sfd")},
    script:
        "../scripts/landmark_accuracy.py"


rule table_iii:
    """Table III: NRMSE per group and model, paired tests between models, bias tests."""
    input:
        "results/landmarks/per_image.tsv",
    output:
        tsv="results/tables/table3.tsv",
        md=report(
            "results/tables/table3.md",
            category="Tables",
            caption="../report/table3.rst",
        ),
    log:
        "logs/tables/table3.log",
    conda:
        "../../envs/stats.yaml"
    params:
        alpha=config["accuracy"]["alpha"],
    script:
        "../scripts/table_iii.py"


rule fig2:
    """Fig. 2: CDFs of per-image NRMSE, pre-trained vs fine-tuned, panels HC, PS, ALS."""
    input:
        "results/landmarks/per_image.tsv",
    output:
        pdf="results/figures/fig2.pdf",
        png=report(
            "results/figures/fig2.png",
            category="Figures",
            caption="../report/fig2.rst",
        ),
    log:
        "logs/figures/fig2.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/fig2.py"


if not PRETRAIN_FAN and config["fan"]["pretrained"]["download"]:

    rule download_fan:
        """face-alignment's 2DFAN-4 weights, downloaded and checksum-verified."""
        output:
            PRETRAINED_WEIGHTS,
        log:
            "logs/fan/download.log",
        conda:
            "../../envs/cnn.yaml"
        script:
            "../scripts/download_fan.py"

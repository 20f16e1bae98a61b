# Classification: leave-one-subject-out random forests per run (HC vs a disease group, with its
# feature set) and task, for each landmark source; Table II and the ROC figures (Figs. 3-4).


rule classify:
    """Per-participant disease probabilities from a LOSO random forest, for every source."""
    input:
        lambda wc: [
            feature_table(source, wc.task, RUNS[wc.comparison][1])
            for source in SOURCES
        ],
    output:
        "results/classification/{comparison}/{task}.tsv",
    log:
        "logs/classification/{comparison}/{task}.log",
    benchmark:
        "benchmarks/classification/{comparison}/{task}.tsv"
    conda:
        "../../envs/stats.yaml"
    params:
        sources=SOURCES,
        disease=lambda wc: RUNS[wc.comparison][0],
        features=lambda wc: FEATURE_SETS[RUNS[wc.comparison][1]],
        random_forest=config["classification"]["random_forest"],
        seed=config["classification"]["seed"],
    script:
        "../scripts/classify.py"


rule table_ii:
    """Table II: AUC with confidence interval per run, task and source; paired DeLong tests."""
    input:
        expand(
            "results/classification/{comparison}/{task}.tsv",
            comparison=RUNS,
            task=CLASSIFICATION_TASKS,
        ),
    output:
        tsv="results/tables/table2.tsv",
        md=report(
            "results/tables/table2.md",
            category="Tables",
            caption="../report/table2.rst",
        ),
    log:
        "logs/tables/table2.log",
    conda:
        "../../envs/stats.yaml"
    params:
        level=config["classification"]["ci_level"],
    script:
        "../scripts/table_ii.py"


rule roc_figure:
    """Figs. 3-4: ROC curves of one run, panels A) BBP, B) OPEN, C) SPREAD."""
    input:
        probabilities=lambda wc: expand(
            "results/classification/{comparison}/{task}.tsv",
            comparison=FIGURES[wc.figure],
            task=CLASSIFICATION_TASKS,
        ),
        table="results/tables/table2.tsv",
    output:
        pdf="results/figures/{figure}.pdf",
        png=report(
            "results/figures/{figure}.png",
            category="Figures",
            caption="../report/roc.rst",
        ),
    log:
        "logs/figures/{figure}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        comparison=lambda wc: FIGURES[wc.figure],
        figure=lambda wc: wc.figure,
    script:
        "../scripts/roc_figure.py"

"""Rule ablation_table."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.accuracy import ablation_summary
from neuroface.io import atomic_path, setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
per_image = pd.read_csv(snakemake.input.per_image, sep="\t")
subsets = pd.read_csv(snakemake.input.subsets, sep="\t", dtype={"participant_id": str, "recording_id": str})
table = ablation_summary(per_image[per_image["detected"]], subsets, p.seed, p.resamples)
write_table(table, snakemake.output.tsv)

groups = [g for g in ("HC", "PS", "ALS") if g in set(table["group"])]
lines = [
    "| model | trained on | images | participants | " + " | ".join(f"{g} NRMSE (%) [95% CI]" for g in groups) + " |",
    "|---|---|---|---|" + "---|" * len(groups),
]
for model, t in table.groupby("model", sort=False):
    t = t.set_index("group")
    first = t.iloc[0]
    what = "generic corpus" if first["kind"] == "reference" else first["training_groups"]
    if model == p.finetuned_arm:
        what += " (the study's fine-tuned model)"
    cells = [
        f"{t.loc[g, 'mean']:.2f} [{t.loc[g, 'ci_low']:.2f}, {t.loc[g, 'ci_high']:.2f}]" if g in t.index else "n/a"
        for g in groups
    ]
    images = "" if first["kind"] == "reference" else f"{int(first['training_images'])}"
    people = "" if first["kind"] == "reference" else f"{int(first['training_participants'])}"
    lines.append(f"| {model} | {what} | {images} | {people} | " + " | ".join(cells) + " |")
n = table.groupby("group")["n_participants"].first().to_dict()
markdown = "\n".join(lines) + f"\n\nTest participants per group: {n}; CIs from {p.resamples} participant resamples.\n"
with atomic_path(snakemake.output.md) as tmp:
    tmp.write_text(markdown)
log.info("\n%s", markdown)

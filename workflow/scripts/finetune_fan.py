"""Rule finetune_fan."""

import _bootstrap  # noqa: F401
import pandas as pd
from _fan_config import training_config

from neuroface.fan.figures import loss_curve
from neuroface.fan.pipeline import cohort_samples, finetune
from neuroface.fan.weights import save_fan
from neuroface.io import setup_logging, write_table
from neuroface.plotting import save

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
fan = snakemake.params.fan
split = pd.read_csv(snakemake.input.split, sep="\t")
train_ids = set(split.loc[split["set"] == "train", "participant_id"])
frames_root = snakemake.input.frames[0].rsplit("/", 1)[0]
samples = cohort_samples(pd.read_parquet(snakemake.input.annotations), frames_root, train_ids)
log.info("fine-tuning on %d annotated frames of %d participants", len(samples), len(train_ids))
model, history = finetune(
    snakemake.input.pretrained, samples, training_config(fan, "finetuning", "awing", last_stack_only=True)
)
save_fan(
    model, snakemake.output.weights, {"fine_tuned_from": snakemake.input.pretrained, "training_images": len(samples)}
)
history = pd.DataFrame(history)
write_table(history, snakemake.output.history)
save(loss_curve(history), snakemake.output.curve_pdf, snakemake.output.curve)

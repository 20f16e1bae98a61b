"""Rules finetune_fan (the training participants of the fine-tuning split), finetune_fan_crossfit
(one fold: the annotated participants outside it) and finetune_fan_ablation (one arm's frames)."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.figures import loss_curve
from neuroface.fan.pipeline import cohort_samples, finetune
from neuroface.fan.train import training_config
from neuroface.fan.weights import save_fan
from neuroface.io import setup_logging, write_table
from neuroface.plotting import save

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
fan = snakemake.params.fan
annotations = pd.read_parquet(snakemake.input.annotations)
if "split" in snakemake.input.keys():
    split = pd.read_csv(snakemake.input.split, sep="\t")
    train_ids = set(split.loc[split["set"] == "train", "participant_id"])
elif "subsets" in snakemake.input.keys():  # one ablation arm: exactly its frames
    subsets = pd.read_csv(snakemake.input.subsets, sep="\t", dtype={"participant_id": str, "recording_id": str})
    arm = subsets[subsets["arm"] == snakemake.params.arm]
    wanted = set(zip(arm["recording_id"], arm["frame"].astype(int), strict=True))
    keep = [(r, int(f)) in wanted for r, f in zip(annotations["recording_id"], annotations["frame"], strict=True)]
    annotations = annotations[keep]
    if len(annotations) != len(arm):
        raise ValueError(f"arm {snakemake.params.arm}: {len(arm)} frames listed, {len(annotations)} annotated")
    train_ids = set(arm["participant_id"])
else:
    train_ids = set(snakemake.params.train_participants)
frames_root = snakemake.input.frames[0].rsplit("/", 1)[0]
samples = cohort_samples(annotations, frames_root, train_ids)
# who the model saw, from the frames it trains on (the cross-fitting tests check these against the folds)
seen = sorted(set(annotations.loc[annotations["participant_id"].isin(train_ids), "participant_id"]))
log.info("fine-tuning on %d annotated frames of %d participants", len(samples), len(seen))
# the last fan.finetuning.stacks stacks (the study: the last one) learn; the stem and earlier stacks stay frozen
settings = training_config(fan, "finetuning", "awing", trained_stacks=fan["finetuning"]["stacks"])
model, history = finetune(snakemake.input.pretrained, samples, settings)
save_fan(
    model,
    snakemake.output.weights,
    {"fine_tuned_from": snakemake.input.pretrained, "training_images": len(samples), "training_participants": seen},
)
history = pd.DataFrame(history)
write_table(history, snakemake.output.history)
if "curve" in snakemake.output.keys():
    save(loss_curve(history), snakemake.output.curve_pdf, snakemake.output.curve)

"""Rules landmark_accuracy (both models on the test participants' annotated frames),
landmark_accuracy_crossfit (every annotated participant, with the cross-fitted model of its fold too)
and ablation_accuracy (the pre-trained model and every ablation arm's on the test participants)."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.detection import make_detector
from neuroface.fan.device import job_device
from neuroface.fan.pipeline import evaluate
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
device = job_device(snakemake.params.device)
sets = ("test",)
if "arms" in snakemake.params.keys():
    models = {"pretrained": snakemake.input.pretrained, **{arm: snakemake.input[arm] for arm in snakemake.params.arms}}
else:
    models = {"pretrained": snakemake.input.pretrained, "finetuned": snakemake.input.finetuned}
if "fold_of" in snakemake.params.keys():  # cross-fitted: each participant's fold model, every participant
    models["finetuned_cf"] = {pid: snakemake.input[f"fold{fold}"] for pid, fold in snakemake.params.fold_of.items()}
    sets = ("train", "test")
frames_root = snakemake.input.frames[0].rsplit("/", 1)[0]
per_image = evaluate(
    models,
    pd.read_parquet(snakemake.input.annotations),
    frames_root,
    pd.read_csv(snakemake.input.split, sep="\t"),
    make_detector(snakemake.params.detector, device),
    snakemake.params.canthi,
    device=device,
    flip=snakemake.params.flip,
    decoder=snakemake.params.decoder,
    sets=sets,
)
failed = per_image[~per_image["detected"]].groupby(["model", "group"]).size()
log.info("detection failures per model and group: %s", failed.to_dict() or "none")
log.info("mean NRMSE: %s", per_image.groupby(["model", "set", "group"])["nrmse"].mean().round(2).to_dict())
write_table(per_image, snakemake.output[0])

"""What limits how far the fine-tuned landmarks follow the mouth: the model, or the fine-tuning's length and
augmentation? Re-fine-tunes a finished synthetic run's pre-trained FAN on one task's annotated frames for
several budgets and measures each model on every annotated frame.

    PYTHONPATH=src python tools/finetuning_budget.py WORKDIR [--tasks SPREAD] [--epochs 20 80]
        [--augmentation on off] [--threads 1]

Each arm fine-tunes the run's pre-trained weights as ``finetune_fan`` does (its stacks, loss, batch size, seed;
``results/fan/split.tsv``'s training participants), on the CPU, but only on the annotated frames of ``--tasks``,
for ``--epochs`` epochs at ``fan.finetuning.learning_rate`` held constant, with FAN's augmentation (``on``) or the
crop box's jitter alone (``off``, ``fan.finetuning.augmentation: false``). Every model (the arms and the run's own
``finetuned.pth``) then predicts every annotated frame of both sets, cropped from the annotated landmarks' box (so
that the face detector plays no part), with the run's decoder. Printed per model, set and task: images, mean NRMSE
and mouth-corner error (%), and r and gain of the predicted width (48-54) and opening (62-66) against the annotated
ones within recordings (``tools/mouth_opening.py``'s fits; gain 1 = the landmarks move as the mouth does); per arm,
its final training loss and CPU seconds. A model whose width gain on SPREAD grows with the epochs, on participants
it never saw as well, is limited by its training budget, not by its capacity, resolution or training faces.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuroface import landmarks as lm
from neuroface.config import read_config
from neuroface.fan import accuracy
from neuroface.fan.pipeline import cohort_samples
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.train import BOX_JITTER_ONLY, Augmentation, train, training_config
from neuroface.fan.weights import load_fan

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mouth_opening  # noqa: E402

TASKS = ("BBP", "OPEN", "SPREAD", "REST")


def annotated_samples(workdir: Path) -> pd.DataFrame:
    """Every annotated frame of the fine-tuning split's participants: columns ``sample`` (a
    :class:`~neuroface.fan.train.Sample`), ``recording``, ``task`` and ``set``."""
    results = workdir / "results"
    annotations = pd.read_parquet(results / "inputs" / "annotations.parquet")
    sets = mouth_opening.fan_split(results)
    rows = []
    for participant, set_name in sorted(sets.items()):
        for sample in cohort_samples(annotations, results / "fan" / "frames", {participant}):
            recording = sample.key.rsplit(":", 1)[0]
            rows.append((sample, recording, set_name))
    table = pd.DataFrame(rows, columns=["sample", "recording", "set"])
    table["task"] = table["recording"].map(mouth_opening.recording_tasks(results, table["recording"]))
    return table


def measure(model_name: str, model, frames: pd.DataFrame, decoder: str, canthi: accuracy.Canthi) -> pd.DataFrame:
    """``tools/mouth_opening.py``'s per-image table for ``model`` on ``frames``, cropped from the annotated
    landmarks' box."""
    truth = np.stack([s.points for s in frames["sample"]])
    boxes = np.stack([lm.landmark_box(p) for p in truth])
    pred, _ = LandmarkPredictor(model, decoder=decoder).predict([s.load() for s in frames["sample"]], boxes)
    return pd.DataFrame(
        {
            "model": model_name,
            "recording": frames["recording"].to_numpy(),
            "set": frames["set"].to_numpy(),
            "task": frames["task"].to_numpy(),
            **mouth_opening.image_measures(pred, truth, canthi, model.config.heatmap_size),
        }
    )


def fine_tune(
    pretrained: Path, samples: list, fan: Mapping, epochs: int, augment: bool, threads: int
) -> tuple[object, float, float]:
    """One arm: the fine-tuned model, its last epoch's training loss and the CPU seconds it took. ``fan`` is the run's
    validated ``fan`` config section: the arm is ``finetune_fan``'s training (:func:`training_config`) for ``epochs``
    epochs at the first learning rate throughout, with or without FAN's augmentation, on the CPU (whose seconds are
    measured) with ``threads`` threads and no loader processes."""
    cfg = replace(
        training_config(fan, "finetuning", "awing", trained_stacks=fan["finetuning"]["stacks"]),
        epochs=epochs,
        lr_steps={},
        augmentation=Augmentation() if augment else BOX_JITTER_ONLY,
        threads=threads,
        device="cpu",
        workers=0,
    )
    model = load_fan(pretrained)
    start = time.process_time()
    history = train(model, samples, cfg, progress=False)
    return model, history[-1]["loss"], time.process_time() - start


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, set and task: images, NRMSE, corner error, and r and gain of width and opening."""
    fits = mouth_opening.annotated_fits(table).set_index(["model", "set", "task", "measure"])
    wide = fits[["r", "gain"]].unstack("measure")
    wide.columns = [f"{measure} {stat}" for stat, measure in wide.columns]
    counts = table.groupby(["model", "set", "task"], sort=False).agg(
        images=("nrmse", "size"), nrmse=("nrmse", "mean"), corner=("corner error (%)", "mean")
    )
    out = counts.join(wide[["width gain", "width r", "opening gain", "opening r"]])
    return out.rename(columns={"nrmse": "NRMSE (%)", "corner": "corner error (%)"}).round(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--tasks", nargs="+", default=["SPREAD"], choices=TASKS)
    parser.add_argument("--epochs", nargs="+", type=int, default=[20, 80])
    parser.add_argument("--augmentation", nargs="+", choices=["on", "off"], default=["on", "off"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    results = args.workdir / "results"
    for needed in ("inputs/annotations.parquet", "fan/split.tsv", "fan/frames", "synthetic/truth"):
        if not (results / needed).exists():
            parser.error(f"{results / needed} is missing: WORKDIR must hold a finished run of the synthetic cohort")
    torch.set_num_threads(args.threads)
    config = read_config(args.workdir / "config.yaml")
    fan = config["fan"]
    weights = mouth_opening.study_weights(args.workdir)
    frames = annotated_samples(args.workdir)
    training = frames[(frames["set"] == "train") & frames["task"].isin(args.tasks)]
    canthi = config["accuracy"]["canthi"]
    tables, costs = [measure("run's fine-tuned", load_fan(weights["finetuned"]), frames, fan["decoder"], canthi)], []
    for epochs in args.epochs:
        for augmentation in args.augmentation:
            name = f"{'+'.join(args.tasks)}, {epochs} epochs, augmentation {augmentation}"
            model, loss, cpu = fine_tune(
                weights["pretrained"],
                list(training["sample"]),
                fan,
                epochs,
                augmentation == "on",
                args.threads,
            )
            tables.append(measure(name, model, frames, fan["decoder"], canthi))
            costs.append((name, len(training), loss, cpu))
            print(f"{name}: {len(training)} images, final loss {loss:.4f}, {cpu:.0f} CPU-s", flush=True)
    table = pd.concat(tables, ignore_index=True)
    table = table[table["task"] != "REST"]  # nothing moves at rest: no gain to fit
    print("\nEvery annotated frame, cropped from the annotated box (r, gain: predicted vs annotated change):")
    print(mouth_opening.markdown(summary(table)))
    print("\nArms:")
    print(
        mouth_opening.markdown(pd.DataFrame(costs, columns=["arm", "images", "final loss", "CPU-s"]).set_index("arm"))
    )


if __name__ == "__main__":
    main()

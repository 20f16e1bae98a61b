"""What each CPU inference choice (``tracking.cpu_inference``) does to landmarks from *trained* weights,
on a work directory's annotated test images: the benchmark's accuracy check with the run's own models.

    PYTHONPATH=src python tools/cpu_inference_accuracy.py WORKDIR [--weights results/fan/finetuned.pth ...]
        [--choices fp32,channels-last,onnxruntime,bf16] [--threads 1]

``tools/benchmark_tracking.py`` measures speed on FAN-4 with seeded (or head-fitted) weights, whose
flat or multi-peaked heatmaps let float rounding move an argmax far; this tool asks the accuracy
question on weights that were trained by the workflow (the demo FAN's, or 2DFAN-4 where the lab has
it). Every image is cropped from the Haar detector's box and refined once, as ``landmark_accuracy``
does; each choice's landmarks are compared with the fp32 reference (max and 99th percentile of the
per-landmark distance, px, and the share of landmarks moved more than 0.1 px) and with the ground
truth (mean NRMSE, %). It also prints each choice's forward time, side by side in one run: the same 32
seeded random crops of the model's input size for every choice (the time does not depend on the pixels),
interleaved rounds, median.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuroface.fan import accuracy
from neuroface.fan.detection import make_detector
from neuroface.fan.pipeline import detected_images
from neuroface.fan.predict import CPU_INFERENCE, LandmarkPredictor, cpu_bf16_isa
from neuroface.fan.weights import load_fan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument(
        "--weights", nargs="+", default=["results/fan/finetuned.pth", "resources/fan/demo_pretrained.pth"]
    )
    parser.add_argument("--choices", default="fp32,channels-last,onnxruntime,bf16")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--decoder", default="subpixel")
    args = parser.parse_args()
    choices = args.choices.split(",")
    if unknown := sorted(set(choices) - set(CPU_INFERENCE)):
        parser.error(f"unknown choice(s) {unknown}; choose from {CPU_INFERENCE}")
    if "fp32" not in choices:
        choices.insert(0, "fp32")
    torch.set_num_threads(args.threads)
    results = args.workdir / "results"
    split = pd.read_csv(results / "fan" / "split.tsv", sep="\t")
    annotations = pd.read_parquet(results / "inputs" / "annotations.parquet")
    test = detected_images(annotations, results / "fan" / "frames", split, make_detector({"detector": "haar"}, "cpu"))
    found = np.flatnonzero(test.found)
    images, truth = [test.images[i] for i in found], test.truth[found]
    boxes = np.stack([test.boxes[i] for i in found])
    print(
        f"{len(found)} test images with a detected face; {args.threads} thread(s); "
        f"CPU bf16 instructions: {', '.join(cpu_bf16_isa()) or 'none (bf16 emulated)'}"
    )
    for weights in args.weights:
        path = weights if Path(weights).is_absolute() else args.workdir / weights
        predictors = {
            c: LandmarkPredictor(load_fan(path), batch_size=16, decoder=args.decoder, cpu_inference=c) for c in choices
        }
        points = {c: p.predict_refined(images, boxes)[0] for c, p in predictors.items()}
        # forward passes only, on seeded random crops of the input size: interleaved rounds, median seconds
        size = predictors["fp32"].model.config.input_size
        crops = np.random.default_rng(0).integers(0, 256, (32, size, size, 3), dtype=np.uint8)
        seconds = {c: [] for c in choices}
        for _ in range(args.rounds):
            for c, p in predictors.items():
                start = time.perf_counter()
                p.heatmaps(crops)
                seconds[c].append(time.perf_counter() - start)
        reference = points["fp32"]
        print(f"\n{weights} ({size} px input)")
        print("| choice | frames/s | vs fp32 | max diff (px) | p99 diff (px) | moved > 0.1 px | NRMSE (%) |")
        print("|---|---|---|---|---|---|---|")
        base = np.median(seconds["fp32"])
        for c in choices:
            diff = np.linalg.norm(points[c] - reference, axis=-1)
            nrmse = accuracy.nrmse(points[c], truth, "outer").mean()
            speed = len(crops) / np.median(seconds[c])
            print(
                f"| {c} | {speed:.1f} | {base / np.median(seconds[c]):.2f}x | {diff.max():.3f} | "
                f"{np.percentile(diff, 99):.3f} | {(diff > 0.1).mean():.2%} | {nrmse:.3f} |"
            )


if __name__ == "__main__":
    main()

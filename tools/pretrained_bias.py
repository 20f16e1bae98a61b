"""Table III's bias tests for one model on a work directory's test images, without the fine-tuned model:
the domain-gap control needs only the pre-trained model's errors on the re-rendered patients.

    PYTHONPATH=src python tools/pretrained_bias.py WORKDIR [--weights resources/fan/demo_pretrained.pth]

Reads WORKDIR's annotations (results/inputs/annotations.parquet), annotated frames (results/fan/frames) and
split (results/fan/split.tsv); detector and decoder as the default config's landmark_accuracy rule. Prints mean
NRMSE per group and the HC-vs-patient t-tests of Table III (all test images, and faces facing the camera)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
from scipy import stats

from neuroface.fan.detection import make_detector
from neuroface.fan.pipeline import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--weights", default="resources/fan/demo_pretrained.pth")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = args.workdir / "results"
    table = evaluate(
        {"pretrained": args.weights},
        pd.read_parquet(results / "inputs" / "annotations.parquet"),
        results / "fan" / "frames",
        pd.read_csv(results / "fan" / "split.tsv", sep="\t"),
        make_detector({"detector": "haar"}, "cpu"),
        decoder="subpixel",
    )
    recordings = pd.read_csv(results / "synthetic" / "recordings.tsv", sep="\t")
    facing = dict(zip(recordings["recording_id"], recordings["faces_camera"], strict=True))
    table["faces_camera"] = table["image"].str.rsplit(":", n=1).str[0].map(facing)
    table = table[table["detected"]]
    for name, sub in (("all test images", table), ("faces facing the camera", table[table["faces_camera"]])):
        means = sub.groupby("group")["nrmse"].mean()
        tests = {
            g: stats.ttest_ind(sub.loc[sub.group == "HC", "nrmse"], sub.loc[sub.group == g, "nrmse"])
            for g in ("PS", "ALS")
        }
        print(
            f"{name}: NRMSE HC {means['HC']:.2f} %, PS {means['PS']:.2f} %, ALS {means['ALS']:.2f} %; "
            + "; ".join(f"HC vs {g}: t = {t.statistic:.2f}, p = {t.pvalue:.2g}" for g, t in tests.items())
        )


if __name__ == "__main__":
    main()

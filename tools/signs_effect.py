"""The clinical signs' effect on a FAN, measured directly: every patient's frames rendered with and without
their signs (same landmarks, same sensor noise), landmarks from the given weights through the video stage's
face detector, NRMSE against the true landmarks.

    PYTHONPATH=src python tools/signs_effect.py [--weights resources/fan/demo_pretrained.pth] [--frames 6]

Prints per participant and per group the mean NRMSE (%) without and with signs, and a paired t-test per group
over participants (only participants who show a sign)."""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
import yaml
from scipy import stats

from neuroface.fan import accuracy
from neuroface.fan.detection import make_detector
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.weights import load_fan
from neuroface.realsense import geometry
from neuroface.synthetic import generate
from neuroface.synthetic.cohort import plan_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--weights", default="resources/fan/demo_pretrained.pth")
    parser.add_argument("--frames", type=int, default=6, help="BBP frames per participant, evenly spaced")
    parser.add_argument("--decoder", default="subpixel")
    args = parser.parse_args()
    torch.set_num_threads(1)
    plan = plan_cohort(yaml.safe_load(open(args.config))["synthetic"])
    control = replace(plan, clinical_signs=False)
    predictor = LandmarkPredictor(load_fan(args.weights), device="cpu", decoder=args.decoder)
    detector = make_detector({"detector": "haar"}, "cpu")
    rows = []
    for pid, group in plan.participants[["participant_id", "group"]].to_numpy():
        who, plain = generate.participant(plan, pid), generate.participant(control, pid)
        if who.signs is None:
            continue
        rid = plan.recordings.query("participant_id == @pid and task == 'BBP'")["recording_id"].iloc[0]
        traj = generate.recording_motion(plan, rid, who=who)
        truth = geometry.project(traj.camera / 1000.0, who.rig.color).astype(np.float64)
        picks = np.linspace(0, len(truth) - 1, args.frames).astype(int)
        errors = {}
        for name, person in (("without", plain), ("with", who)):
            images = [person.renderer.render(truth[i], np.random.default_rng(int(i))) for i in picks]
            boxes = [detector(image) for image in images]
            found = [k for k, box in enumerate(boxes) if box is not None]
            if not found:
                errors[name] = np.nan
                continue
            pred, _ = predictor.predict_refined([images[k] for k in found], np.stack([boxes[k] for k in found]))
            errors[name] = float(np.mean(accuracy.nrmse(pred, truth[picks][found])))
        rows.append({"participant_id": pid, "group": group, **errors})
        print(f"{pid} {group}: NRMSE {errors['without']:.2f} % without signs, {errors['with']:.2f} % with", flush=True)
    table = pd.DataFrame(rows).dropna()
    for group, sub in table.groupby("group"):
        t = stats.ttest_rel(sub["with"], sub["without"])
        print(
            f"{group}: n = {len(sub)}, mean NRMSE {sub['without'].mean():.2f} % without, {sub['with'].mean():.2f} % "
            f"with (difference {np.mean(sub['with'] - sub['without']):+.2f}, range "
            f"{np.min(sub['with'] - sub['without']):+.2f} to {np.max(sub['with'] - sub['without']):+.2f}; "
            f"paired t p = {t.pvalue:.2g})"
        )


if __name__ == "__main__":
    main()

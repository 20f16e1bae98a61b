"""What sampling costs the features: per repetition, each feature at a frame rate against its
value at the study's 50 fps (the signal ladder's R0 vs R1, without rendering anything).

    PYTHONPATH=src python tools/ladder_frame_rates.py [--config config.yaml] [--task BBP] [--fps 5 10 15 20]

Prints, per frame rate and feature, Pearson r with the 50 fps value and the median ratio to it,
over the classified recordings of the config's synthetic cohort (true repetition boundaries).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import yaml

from neuroface.features.exclusions import classification_mask
from neuroface.features.repetitions import GapPolicy, recording_features
from neuroface.features.rungs import R0_FPS, motion_track
from neuroface.synthetic.cohort import plan_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--task", default="BBP")
    parser.add_argument("--fps", type=float, nargs="+", default=[5.0, 10.0, 15.0, 20.0])
    args = parser.parse_args()
    cfg = yaml.safe_load(open(args.config))
    plan = plan_cohort(cfg["synthetic"])
    recs = plan.recordings[classification_mask(plan.participants, plan.recordings)]
    recs = recs[recs["task"] == args.task]
    names = list(dict.fromkeys(n for s in cfg["features"]["sets"].values() for n in s))
    tables = {}
    for fps in [R0_FPS, *args.fps]:
        rows = []
        for rid in recs["recording_id"]:
            pos, t, pts, seg = motion_track(plan, rid, fps)
            kept, _ = recording_features(pos, t, pts, seg, names, GapPolicy(3, 0.2))
            rows += [{"recording_id": rid, **k} for k in kept]
        tables[fps] = pd.DataFrame(rows).set_index(["recording_id", "repetition"])
    ref = tables[R0_FPS]
    for fps in args.fps:
        t = tables[fps].reindex(ref.index)
        for n in names:
            a, b = t[n].to_numpy(float), ref[n].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            r = np.corrcoef(a[ok], b[ok])[0, 1] if ok.sum() > 2 and a[ok].std() > 0 else float("nan")
            ratio = np.median(a[ok] / b[ok]) if ok.any() else float("nan")
            print(f"{args.task}\t{fps:g} fps\t{n}\tr={r:.2f}\tmedian ratio={ratio:.2f}")


if __name__ == "__main__":
    main()

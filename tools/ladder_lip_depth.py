"""Lip depth on R2: the true 2D landmarks of synthetic recordings through the median filter and
the depth lookup, with the plain window median and with the lips' near-surface rule.

    PYTHONPATH=src python tools/ladder_lip_depth.py RESULTS_DIR [--window 0.1] [--tasks BBP OPEN] [--max 12]

RESULTS_DIR holds a synthetic cohort (``synthetic/bags``, ``synthetic/truth``). Prints the lip
landmarks' (48-67) 3D error about the face's common offset (median and 90th percentile over
frames and landmarks, mm) and the share of inner-lip reads more than 10 mm too deep.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import neuroface.tracking.reconstruct as reconstruct
from neuroface.features.rungs import true2d_track
from neuroface.tracks import points3d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--window", type=float, default=0.1, help="median filter window, s")
    parser.add_argument("--tasks", nargs="+", default=["BBP", "OPEN"])
    parser.add_argument("--max", type=int, default=12, help="recordings per task")
    args = parser.parse_args()
    synth = args.results / "synthetic"
    rules = {"plain median": (), "near surface": reconstruct.FOREGROUND_LANDMARKS}
    for task in args.tasks:
        truths = sorted((synth / "truth").glob(f"*_{task}_NORMAL.npz"))[: args.max]
        for name, landmarks in rules.items():
            reconstruct.FOREGROUND_LANDMARKS = landmarks
            errs, deep = [], []
            for t in truths:
                truth = dict(np.load(t))
                table = true2d_track(synth / "bags" / f"{t.stem}.bag", truth, args.window, 2)
                e = points3d(table) - truth["landmarks_3d"]
                rel = e - np.nanmean(e, axis=1, keepdims=True)
                errs.append(np.linalg.norm(rel[:, 48:68], axis=2).ravel())
                deep.append((rel[:, 60:68, 2] > 10).ravel())
            err = np.concatenate(errs)
            print(
                f"{task}\t{name}\twindow {args.window:g} s\t{len(truths)} recordings\t"
                f"lip error median {np.nanmedian(err):.2f} mm, p90 {np.nanpercentile(err, 90):.2f} mm\t"
                f"inner-lip reads > 10 mm deep {100 * np.concatenate(deep).mean():.1f} %"
            )
        reconstruct.FOREGROUND_LANDMARKS = rules["near surface"]


if __name__ == "__main__":
    main()

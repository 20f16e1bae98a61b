"""How far the models' landmarks follow the mouth as it opens and widens, on a work directory of the synthetic
cohort.

    PYTHONPATH=src python tools/mouth_opening.py WORKDIR [--models pretrained finetuned]

Opening = distance between the inner-lip midpoints 62 and 66, width = distance between the mouth corners 48
and 54, both in units of the true outer eye-corner distance (36-45), the normaliser of NRMSE. Two views:

* annotated test images (``results/landmarks/per_image.tsv``, ``results/inputs/annotations.parquet``): mean
  NRMSE and mouth error (landmarks 48-67, % of the eye-corner distance) per model, by the annotated opening;
* tracked recordings (``results/tracks/<model>/<participant>.smoothed.parquet`` against
  ``results/synthetic/truth``): per model, task and measure, the Pearson r of the predicted change within
  each recording (its mean removed: the ranges and speeds the features measure) with the true change, and
  its gain (least-squares slope of predicted on true: 1 = the landmarks move as the mouth does, 0 = they stay
  put); and per model and true-opening bin the mean true and predicted opening and the mouth error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.fan import accuracy
from neuroface.tracks import points, read_recordings

BINS = [-np.inf, 0.05, 0.15, 0.3, np.inf]
MOUTH = list(lm.MOUTH)
MEASURES = {"opening": (lm.INNER_UPPER_LIP, lm.INNER_LOWER_LIP), "width": (lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L)}


def distance(pts: np.ndarray, scale: np.ndarray, measure: str = "opening") -> np.ndarray:
    """``measure`` (a pair of :data:`MEASURES`) of ``(..., 68, 2)`` landmarks over ``scale`` (the true
    eye-corner distance)."""
    a, b = MEASURES[measure]
    return np.linalg.norm(pts[..., a, :] - pts[..., b, :], axis=-1) / scale


def test_images(results: Path) -> pd.DataFrame:
    """Mean NRMSE and mouth error (%) per model and annotated-opening bin, on the detected test images."""
    per_image = pd.read_csv(results / "landmarks" / "per_image.tsv", sep="\t")
    per_image = per_image[per_image["detected"]]
    ann = pd.read_parquet(results / "inputs" / "annotations.parquet")
    xy = np.stack(
        [ann[[f"x{i}" for i in range(lm.N_LANDMARKS)]].to_numpy(), ann[[f"y{i}" for i in range(lm.N_LANDMARKS)]]],
        axis=-1,
    )
    ann = pd.DataFrame(
        {
            "image": ann["recording_id"] + ":" + ann["frame"].astype(str),
            "opening": distance(xy, accuracy.intercanthal(xy)),
        }
    )
    table = per_image.merge(ann, on="image", how="left", validate="many_to_one")
    if table["opening"].isna().any():
        raise SystemExit(f"{results / 'landmarks' / 'per_image.tsv'}: images without an annotation")
    table["opening bin"] = pd.cut(table["opening"], BINS)
    summary = table.pivot_table(
        index="opening bin", columns="model", values=["nrmse", "error_mouth"], aggfunc="mean", observed=True
    )
    summary.columns = [f"{model} {value}" for value, model in summary.columns]
    counts = table.groupby("opening bin", observed=True)["image"].nunique().rename("images")
    return pd.concat([counts, summary], axis=1).round(2)


def tracked(results: Path, models: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per model, task and measure: r and gain of the predicted change within recordings; per model and
    true-opening bin: means."""
    rows = []
    for model in models:
        for path in sorted((results / "tracks" / model).glob("*.smoothed.parquet")):
            for recording, track in read_recordings(path).items():
                truth = np.load(results / "synthetic" / "truth" / f"{recording}.npz")
                true = truth["landmarks_2d"].astype(np.float64)
                pred = points(track)
                if pred.shape != true.shape:
                    raise SystemExit(f"{path}: {recording} has {len(pred)} frames, its truth {len(true)}")
                scale = accuracy.intercanthal(true)
                ok = np.isfinite(pred).all(axis=(1, 2))
                mouth = accuracy.point_errors(pred[:, MOUTH], true[:, MOUTH]).mean(axis=1) / scale
                table = pd.DataFrame(
                    {
                        "model": model,
                        "task": str(truth["task"]),
                        "true": distance(true, scale),
                        "predicted": distance(pred, scale),
                        "mouth error (%)": 100 * mouth,
                        **{
                            f"{m} {w}": distance(x, scale, m)
                            for m in MEASURES
                            for w, x in (("true", true), ("predicted", pred))
                        },
                    }
                )[ok]
                for m in MEASURES:  # changes within the recording
                    for w in ("true", "predicted"):
                        table[f"{m} {w}"] -= table[f"{m} {w}"].mean()
                rows.append(table)
    if not rows:
        raise SystemExit(f"{results / 'tracks'}: no smoothed tracks of {', '.join(models)}")
    frames = pd.concat(rows, ignore_index=True)
    fits = []
    for (model, task), g in frames.groupby(["model", "task"], sort=False):
        for m in MEASURES:
            x, y = g[f"{m} true"].to_numpy(), g[f"{m} predicted"].to_numpy()
            moves = x.std() > 0  # a measure the truth never changes has no gain
            gain = np.polyfit(x, y, 1)[0] if moves else np.nan
            r = np.corrcoef(x, y)[0, 1] if moves and y.std() > 0 else np.nan  # nan: never moves
            fits.append((model, task, m, len(g), r, gain))
    fits = pd.DataFrame(fits, columns=["model", "task", "measure", "frames", "r", "gain"]).round(2)
    frames["true opening bin"] = pd.cut(frames["true"], BINS)
    bins = (
        frames.groupby(["model", "true opening bin"], observed=True)
        .agg(
            frames=("true", "size"),
            true=("true", "mean"),
            predicted=("predicted", "mean"),
            mouth=("mouth error (%)", "mean"),
        )
        .rename(columns={"true": "true opening", "predicted": "predicted opening", "mouth": "mouth error (%)"})
        .round(3)
    )
    return fits, bins


def markdown(table: pd.DataFrame) -> str:
    """``table`` (its index as the first columns) as a Markdown table."""
    flat = table.reset_index()
    rows = [[str(v) if not isinstance(v, float) else f"{v:g}" for v in row] for row in flat.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + "---|" * len(flat.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--models", nargs="+", default=["pretrained", "finetuned"])
    args = parser.parse_args()
    results = args.workdir / "results"
    for needed in ("landmarks/per_image.tsv", "inputs/annotations.parquet", "synthetic/truth"):
        if not (results / needed).exists():
            parser.error(f"{results / needed} is missing: WORKDIR must hold a finished run of the synthetic cohort")
    print("Annotated test images, by annotated opening (eye-corner distances); mean NRMSE and mouth error (%):")
    print(markdown(test_images(results)))
    fits, bins = tracked(results, args.models)
    print("\nTracked recordings: predicted vs true change within recordings (r, gain = slope):")
    print(markdown(fits.set_index("model")))
    print("\nTracked recordings, by true opening:")
    print(markdown(bins))


if __name__ == "__main__":
    main()

"""How far the models' landmarks follow the mouth as it opens and widens, on a work directory of the synthetic
cohort.

    PYTHONPATH=src python tools/mouth_opening.py WORKDIR [--models pretrained finetuned] [--by-split]

Opening = distance between the inner-lip midpoints 62 and 66, width = distance between the mouth corners 48
and 54, both in units of the true outer eye-corner distance (36-45), the normaliser of NRMSE. Two views:

* annotated test images (``results/landmarks/per_image.tsv``, ``results/inputs/annotations.parquet``): mean
  NRMSE and mouth error (landmarks 48-67, % of the eye-corner distance) per model, by the annotated opening;
* tracked recordings (``results/tracks/<model>/<participant>.smoothed.parquet`` against
  ``results/synthetic/truth``): per model, task and measure, the Pearson r of the predicted change within
  each recording (its mean removed: the ranges and speeds the features measure) with the true change, and
  its gain (least-squares slope of predicted on true: 1 = the landmarks move as the mouth does, 0 = they stay
  put), also for the corners' asymmetry (the right corner's distance from the base of the nose less the left's,
  what a one-sided weakness changes), with the SD of each true change in image pixels; and per model and
  true-opening bin the mean true and predicted opening and the mouth error.

``--by-split`` fits r and gain separately for the participants whose annotated frames fine-tuned the model
(``train`` in ``results/fan/split.tsv``) and the others (``test``), and adds a third view: the study's two
models on every annotated frame, the fine-tuning images themselves included (predicted as
``landmark_accuracy`` predicts), with r and gain of the predicted opening and width against the annotated ones
within recordings, and the mouth-corner error, per set and task. Landmarks that follow a movement on the
training images but not on the others point to too few training faces; landmarks that follow it on neither,
to what the model can learn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.config import read_config
from neuroface.fan import accuracy, heatmaps
from neuroface.fan.detection import make_detector
from neuroface.fan.pipeline import detected_images
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.weights import load_fan
from neuroface.tracks import points, read_recordings

BINS = [-np.inf, 0.05, 0.15, 0.3, np.inf]
MOUTH = list(lm.MOUTH)
MEASURES = {"opening": (lm.INNER_UPPER_LIP, lm.INNER_LOWER_LIP), "width": (lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L)}
#: Tracked recordings only: the right corner's distance from the base of the nose (33) less the left's, what a
#: one-sided weakness changes (PS) and a symmetric spread leaves alone.
ASYMMETRY = "corner asymmetry"


def distance(pts: np.ndarray, scale: np.ndarray, measure: str = "opening") -> np.ndarray:
    """``measure`` (a pair of :data:`MEASURES`) of ``(..., 68, 2)`` landmarks over ``scale`` (the true
    eye-corner distance)."""
    a, b = MEASURES[measure]
    return np.linalg.norm(pts[..., a, :] - pts[..., b, :], axis=-1) / scale


def corner_asymmetry(pts: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Right mouth corner's distance from the base of the nose less the left's, over ``scale``."""
    right = np.linalg.norm(pts[..., lm.MOUTH_CORNER_R, :] - pts[..., lm.NOSE_BASE, :], axis=-1)
    left = np.linalg.norm(pts[..., lm.MOUTH_CORNER_L, :] - pts[..., lm.NOSE_BASE, :], axis=-1)
    return (right - left) / scale


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


def tracked(results: Path, models: list[str], split: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per model, task and measure: r and gain of the predicted change within recordings; per model and
    true-opening bin: means. With ``split`` (participant -> set, e.g. :func:`fan_split`), r and gain per
    model, set and task; a tracked participant the split does not name stops the tool."""
    rows = []
    for model in models:
        for path in sorted((results / "tracks" / model).glob("*.smoothed.parquet")):
            participant = path.name.removesuffix(".smoothed.parquet")
            if split is not None and participant not in split:
                raise SystemExit(f"{path}: participant {participant} is in no set of the fine-tuning split")
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
                        **({"set": split[participant]} if split is not None else {}),
                        "task": str(truth["task"]),
                        "true": distance(true, scale),
                        "predicted": distance(pred, scale),
                        "mouth error (%)": 100 * mouth,
                        **{
                            f"{m} {w}": distance(x, scale, m)
                            for m in MEASURES
                            for w, x in (("true", true), ("predicted", pred))
                        },
                        f"{ASYMMETRY} true": corner_asymmetry(true, scale),
                        f"{ASYMMETRY} predicted": corner_asymmetry(pred, scale),
                        "eye-corner distance (px)": scale,
                    }
                )[ok]
                table.insert(0, "recording", recording)
                rows.append(table)
    if not rows:
        raise SystemExit(f"{results / 'tracks'}: no smoothed tracks of {', '.join(models)}")
    frames = pd.concat(rows, ignore_index=True)
    fits = change_fits(frames, ["model", "set", "task"] if split is not None else ["model", "task"])
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


def within_recordings(frames: pd.DataFrame, column: str) -> pd.Series:
    """``column`` less its mean over each model's rows of each recording (columns ``model``, ``recording``):
    the changes within a recording."""
    return frames[column] - frames.groupby(["model", "recording"])[column].transform("mean")


def change_fits(frames: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys`` and measure: the number of rows (``frames``), Pearson r and gain (least-squares
    slope) of the predicted change on the true change within each recording (columns ``model`` and
    ``recording``; each model's mean over a recording removed from ``<measure> true`` and
    ``<measure> predicted``), and the r of the true change with the true opening's: near +-1, a model can
    follow the measure through the opening; near 0, only by seeing it. Measures are :data:`MEASURES` and, where
    ``frames`` has it, :data:`ASYMMETRY`; with an ``eye-corner distance (px)`` column, also the SD of the true
    change in image pixels (``true SD (px)``), the size a model's frame-to-frame jitter must stay below."""
    measures = [m for m in (*MEASURES, ASYMMETRY) if f"{m} true" in frames]
    pixels = "eye-corner distance (px)" in frames
    centred = frames.copy()
    for m in measures:
        for w in ("true", "predicted"):
            centred[f"{m} {w}"] = within_recordings(frames, f"{m} {w}")
    fits = []
    for key, g in centred.groupby(keys, sort=False):
        opening = g["opening true"].to_numpy()
        for m in measures:
            x, y = g[f"{m} true"].to_numpy(), g[f"{m} predicted"].to_numpy()
            moves = x.std() > 0  # a measure the truth never changes has no gain
            gain = np.polyfit(x, y, 1)[0] if moves else np.nan
            r = np.corrcoef(x, y)[0, 1] if moves and y.std() > 0 else np.nan  # nan: never moves
            with_opening = np.corrcoef(x, opening)[0, 1] if moves and opening.std() > 0 else np.nan
            size = ((x * g["eye-corner distance (px)"].to_numpy()).std(),) if pixels else ()
            fits.append((*key, m, len(g), r, gain, with_opening, *size))
    columns = [*keys, "measure", "frames", "r", "gain", "true r with opening", *(("true SD (px)",) if pixels else ())]
    return pd.DataFrame(fits, columns=columns).round(2)


def annotated(workdir: Path, weights: dict[str, Path]) -> pd.DataFrame:
    """Per model and annotated frame of every participant of the fine-tuning split, training set included:
    NRMSE (%), mouth-corner error (48 and 54, % of the eye-corner distance), the opening and width
    (eye-corner distances) of the annotation and of the prediction, and the eye-corner distance in the
    model's heatmap pixels (crop from the annotated landmarks' box). Predicted as ``landmark_accuracy``
    predicts: the run's face detector and crop refinement, decoder and flip, on the CPU (fp32)."""
    config = read_config(workdir / "config.yaml")
    results = workdir / "results"
    detector = make_detector({k: config["tracking"][k] for k in ("detector", "sfd")}, "cpu")
    images = detected_images(
        pd.read_parquet(results / "inputs" / "annotations.parquet"),
        results / "fan" / "frames",
        pd.read_csv(results / "fan" / "split.tsv", sep="\t", dtype={"participant_id": str}),
        detector,
        ("train", "test"),
    )
    found = np.flatnonzero(images.found)
    truth = images.truth[found]
    recordings = [images.keys[i].rsplit(":", 1)[0] for i in found]
    tasks = recording_tasks(results, recordings)
    crops, boxes = [images.images[i] for i in found], np.stack([images.boxes[i] for i in found])
    tables = []
    for model, path in weights.items():
        fan = load_fan(path)
        predictor = LandmarkPredictor(fan, flip=config["fan"]["flip"], decoder=config["fan"]["decoder"])
        pred, _ = predictor.predict_refined(crops, boxes)
        tables.append(
            pd.DataFrame(
                {
                    "model": model,
                    "image": [images.keys[i] for i in found],
                    "recording": recordings,
                    "set": [images.set_of[images.owners[i]] for i in found],
                    "task": [tasks[r] for r in recordings],
                    **image_measures(pred, truth, config["accuracy"]["canthi"], fan.config.heatmap_size),
                }
            )
        )
    return pd.concat(tables, ignore_index=True)


def recording_tasks(results: Path, recordings) -> dict[str, str]:
    """Recording id -> task, from the synthetic cohort's truth files."""
    return {r: str(np.load(results / "synthetic" / "truth" / f"{r}.npz")["task"]) for r in set(recordings)}


def image_measures(pred: np.ndarray, truth: np.ndarray, canthi: accuracy.Canthi, heatmap_size: int) -> dict:
    """Per annotated image (``(n, 68, 2)`` predicted and annotated landmarks): NRMSE (%), mouth-corner error
    (48 and 54, % of the eye-corner distance), the eye-corner distance in the model's heatmap pixels (for the
    crop from the annotated landmarks' box: 200 x its scale image pixels), and each of :data:`MEASURES` of the
    annotation and of the prediction: the columns :func:`annotated_fits` reads."""
    scale = accuracy.intercanthal(truth)
    corners = [lm.MOUTH_CORNER_R, lm.MOUTH_CORNER_L]
    crop_pixels = heatmaps.SCALE_TO_PIXELS * heatmaps.center_scale(np.stack([lm.landmark_box(t) for t in truth]))[1]
    return {
        "nrmse": accuracy.nrmse(pred, truth, canthi),
        "corner error (%)": 100 * accuracy.point_errors(pred[:, corners], truth[:, corners]).mean(axis=1) / scale,
        "eye-corner distance (heatmap px)": scale * heatmap_size / crop_pixels,
        **{f"{m} {w}": distance(x, scale, m) for m in MEASURES for w, x in (("true", truth), ("predicted", pred))},
    }


def annotated_fits(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, set and task of :func:`annotated`'s table: images, mean corner error and, per measure, r and
    gain of the predicted change within recordings (:func:`change_fits`) and the standard deviation of the
    true change within recordings in the model's heatmap pixels."""
    keys = ["model", "set", "task"]
    fits = change_fits(table, keys).rename(columns={"frames": "images"})
    corner = table.groupby(keys)["corner error (%)"].mean().round(2)
    sizes = []  # how far the true measure moves within recordings, in the model's heatmap pixels
    for m in MEASURES:
        change = within_recordings(table, f"{m} true") * table["eye-corner distance (heatmap px)"]
        sizes.append(change.groupby([table[k] for k in keys]).std(ddof=0).rename(m))
    sizes = pd.concat(sizes, axis=1).stack().rename("true SD (heatmap px)").round(2)
    sizes.index = sizes.index.set_names([*keys, "measure"])
    return fits.join(corner, on=keys).join(sizes, on=[*keys, "measure"])


def study_weights(workdir: Path) -> dict[str, Path]:
    """The run's pre-trained and fine-tuned weights: ``results/fan/pretrained.pth`` where the run pre-trained
    it, else the config's ``fan.pretrained.path`` (relative to the work directory)."""
    results = workdir / "results" / "fan"
    pretrained = results / "pretrained.pth"
    if not pretrained.exists():
        path = read_config(workdir / "config.yaml")["fan"]["pretrained"]["path"]
        pretrained = workdir / path if path else pretrained
    for path in (pretrained, results / "finetuned.pth"):
        if not path.is_file():
            raise SystemExit(f"{path} is missing: --by-split needs the run's pre-trained and fine-tuned weights")
    return {"pretrained": pretrained, "finetuned": results / "finetuned.pth"}


def fan_split(results: Path) -> dict[str, str]:
    """Participant -> ``train`` or ``test``, from the fine-tuning split ``results/fan/split.tsv``."""
    path = results / "fan" / "split.tsv"
    if not path.exists():
        raise SystemExit(f"{path} is missing: --by-split needs the run's fine-tuning split")
    table = pd.read_csv(path, sep="\t", dtype=str)
    return dict(zip(table["participant_id"], table["set"], strict=True))


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
    parser.add_argument("--by-split", action="store_true", help="r and gain per fine-tuning set (train / test)")
    args = parser.parse_args()
    results = args.workdir / "results"
    for needed in ("landmarks/per_image.tsv", "inputs/annotations.parquet", "synthetic/truth"):
        if not (results / needed).exists():
            parser.error(f"{results / needed} is missing: WORKDIR must hold a finished run of the synthetic cohort")
    print("Annotated test images, by annotated opening (eye-corner distances); mean NRMSE and mouth error (%):")
    print(markdown(test_images(results)))
    fits, bins = tracked(results, args.models, fan_split(results) if args.by_split else None)
    print("\nTracked recordings: predicted vs true change within recordings (r, gain = slope):")
    print(markdown(fits.set_index("model")))
    print("\nTracked recordings, by true opening:")
    print(markdown(bins))
    if args.by_split:
        weights = study_weights(args.workdir)
        table = annotated(args.workdir, {m: weights[m] for m in args.models if m in weights})
        print("\nAnnotated frames of both sets: predicted vs annotated change within recordings; corner error (%):")
        print(markdown(annotated_fits(table).set_index("model")))


if __name__ == "__main__":
    main()

"""The FAN stage as the workflow runs it: annotated frames, the train/test split, pre-training,
fine-tuning and the landmark-accuracy evaluation. Rule scripts call these functions."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from neuroface import accuracy
from neuroface.detect import HaarDetector
from neuroface.errors import InputError
from neuroface.fan.data import annotated_frames, frame_image_name, generic_corpus
from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.train import TrainingConfig, landmark_box, train
from neuroface.fan.weights import load_fan
from neuroface.io import atomic_dir
from neuroface.realsense.bag import open_bag

log = logging.getLogger(__name__)


def extract_annotated_frames(bags: Mapping[str, str], annotations: pd.DataFrame, out_dir: str | Path) -> int:
    """Write the annotated colour frames of some recordings as NeuroFace-style JPEGs
    (``<recording>.avi_<frame>.jpg``, quality 95); frames are 1-based colour-stream positions."""
    count = 0
    with atomic_dir(out_dir) as tmp:
        for rid, bag in bags.items():
            wanted = set(annotations.loc[annotations["recording_id"] == rid, "frame"].astype(int))
            if not wanted:
                continue
            for position, frame in enumerate(open_bag(bag).frames("color"), start=1):
                if position in wanted:
                    bgr = cv2.cvtColor(frame.data, cv2.COLOR_RGB2BGR)
                    cv2.imwrite(str(tmp / frame_image_name(rid, position)), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
                    count += 1
            missing = wanted - {int(p.name.rsplit("_", 1)[1][:-4]) for p in tmp.glob(f"{rid}.avi_*.jpg")}
            if missing:
                raise ValueError(f"{bag}: annotated frames {sorted(missing)[:5]} not in the recording")
    return count


def copy_annotated_frames(
    recording_ids: list[str], annotations: pd.DataFrame, images_dir: str | Path, out_dir: str | Path
) -> int:
    """Collect provided frame images (NeuroFace's ``Frames/<video>.avi_<frame>.jpg``, the video
    name with or without ``_color``) of some recordings under this project's names."""
    images_dir = Path(images_dir)
    count = 0
    with atomic_dir(out_dir) as tmp:
        for rid in recording_ids:
            for frame in annotations.loc[annotations["recording_id"] == rid, "frame"].astype(int):
                candidates = [images_dir / frame_image_name(name, frame) for name in (rid, f"{rid}_color")]
                found = next((c for c in candidates if c.is_file()), None)
                if found is None:
                    raise InputError(
                        candidates[0], f"annotated frame image not found (also tried {candidates[1].name})"
                    )
                shutil.copyfile(found, tmp / frame_image_name(rid, frame))
                count += 1
    return count


def split_participants(participants: pd.DataFrame, per_group: int, seed: int) -> pd.DataFrame:
    """Seeded choice of ``per_group`` training participants per group; the rest test the model."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, part in participants.sort_values("participant_id").groupby("group", sort=True):
        ids = part["participant_id"].to_numpy()
        if len(ids) <= per_group:
            raise ValueError(
                f"group {group} has {len(ids)} participants: cannot train on {per_group} and test on the rest"
            )
        train_ids = set(rng.choice(ids, size=per_group, replace=False))
        rows += [(pid, group, "train" if pid in train_ids else "test") for pid in ids]
    return pd.DataFrame(rows, columns=["participant_id", "group", "set"])


def heldout_nrmse(model: FAN, samples: list, canthi: accuracy.Canthi = "outer") -> np.ndarray:
    """Per-image NRMSE (%) of ``model`` on samples, cropped from their true landmark boxes."""
    images = [s.load() for s in samples]
    truth = np.stack([s.points for s in samples])
    pred, _ = LandmarkPredictor(model).predict(images, np.stack([landmark_box(p) for p in truth]))
    return accuracy.nrmse(pred, truth, canthi)


def pretrain(
    corpus_dir: str | Path, architecture: FANConfig, cfg: TrainingConfig, heldout_fraction: float = 0.1
) -> tuple[FAN, list[dict[str, float]], np.ndarray]:
    """Pre-train a FAN on the generic corpus (all stacks, heatmap MSE); returns the model, the
    training history and the per-image NRMSE on the held-out part of the corpus."""
    samples = generic_corpus(corpus_dir)
    order = np.random.default_rng(cfg.seed).permutation(len(samples))
    n_test = max(1, int(round(heldout_fraction * len(samples))))
    test, training = [samples[i] for i in order[:n_test]], [samples[i] for i in order[n_test:]]
    model = FAN(architecture)
    history = train(model, training, cfg)
    return model, history, heldout_nrmse(model, test)


def cohort_samples(annotations: pd.DataFrame, frames_root: str | Path, participants: set[str]) -> list:
    """Samples of the annotated frames of ``participants`` (frames under ``<root>/<participant>``)."""
    subset = annotations[annotations["recording_id"].str.split("_").str[0].isin(participants)]
    out = []
    for pid, part in subset.groupby(subset["recording_id"].str.split("_").str[0]):
        out += annotated_frames(part, Path(frames_root) / pid)
    return out


def finetune(pretrained: str | Path, samples: list, cfg: TrainingConfig) -> tuple[FAN, list[dict[str, float]]]:
    """Fine-tune the last stack of a pre-trained FAN with Adaptive Wing loss."""
    model = load_fan(pretrained)
    history = train(model, samples, cfg)
    return model, history


def evaluate(
    models: Mapping[str, str | Path],
    annotations: pd.DataFrame,
    frames_root: str | Path,
    split: pd.DataFrame,
    detector: HaarDetector,
    canthi: accuracy.Canthi = "outer",
    device: str = "cpu",
    flip: bool = False,
) -> pd.DataFrame:
    """Per test image and model: NRMSE, NME and per-region errors (%), under deployment conditions:
    the crop comes from the face detector (then refined from the first prediction). Images where
    the detector finds no face are kept with ``detected = False`` and no errors."""
    test = split[split["set"] == "test"]
    group_of = dict(zip(test["participant_id"], test["group"], strict=True))
    ann = annotations[annotations["recording_id"].str.split("_").str[0].isin(group_of)].reset_index(drop=True)
    samples = cohort_samples(ann, frames_root, set(group_of))
    keys = [s.key for s in samples]
    truth = np.stack([s.points for s in samples])
    images = [s.load() for s in samples]
    boxes = [detector(img) for img in images]
    found = np.array([b is not None for b in boxes])
    log.info("face detector: %d of %d test images", found.sum(), len(found))
    rows = pd.DataFrame({"image": keys, "participant_id": [k.split("_")[0] for k in keys]})
    rows["group"] = rows["participant_id"].map(group_of)
    rows["detected"] = found
    tables = []
    for name, path in models.items():
        predictor = LandmarkPredictor(load_fan(path), device=device, flip=flip)
        table = rows.copy()
        table["model"] = name
        if found.any():
            idx = np.flatnonzero(found)
            pred, _ = predictor.predict_refined([images[i] for i in idx], np.stack([boxes[i] for i in idx]))
            for column, values in (
                ("nrmse", accuracy.nrmse(pred, truth[idx], canthi)),
                ("nme", accuracy.nme(pred, truth[idx], canthi)),
            ):
                table.loc[idx, column] = values
            regions = accuracy.region_errors(pred, truth[idx], canthi)
            for column in regions:
                table.loc[idx, f"error_{column}"] = regions[column].to_numpy()
        tables.append(table)
    return pd.concat(tables, ignore_index=True)

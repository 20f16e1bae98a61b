"""The FAN stage as the workflow runs it: annotated frames, the train/test split, pre-training,
fine-tuning and the landmark-accuracy evaluation. Rule scripts call these functions."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neuroface.errors import InputError
from neuroface.fan import accuracy
from neuroface.fan.data import annotated_frames, generic_corpus
from neuroface.fan.detection import FaceDetector
from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.train import TrainingConfig, train
from neuroface.fan.weights import load_fan
from neuroface.landmarks import landmark_box

log = logging.getLogger(__name__)


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
    torch.manual_seed(cfg.seed)  # the initial weights too: the same config gives the same model
    model = FAN(architecture)
    history = train(model, training, cfg)
    return model, history, heldout_nrmse(model, test)


def cohort_samples(annotations: pd.DataFrame, frames_root: str | Path, participants: set[str]) -> list:
    """Samples of the annotated frames of ``participants`` (frames under ``<root>/<participant>``),
    by participant id, then in table order.

    ``annotations`` is the validated annotation table; its ``participant_id`` column (from the
    recordings table) says whose each frame is, recording ids are never parsed. Raises
    :class:`InputError` when none of ``participants`` has an annotated frame, naming the
    annotation files and their recordings' participants.
    """
    subset = annotations[annotations["participant_id"].isin(participants)]
    if subset.empty and participants:
        raise InputError(
            "results/inputs/annotations.parquet",
            f"no annotated frame of participant(s) {', '.join(sorted(participants))}: the annotations "
            f"({len(annotations)} frames) are of {_annotation_owners(annotations)}",
        )
    out = []
    for pid, part in subset.groupby("participant_id", sort=True):
        out += annotated_frames(part, Path(frames_root) / str(pid))
    return out


def _annotation_owners(annotations: pd.DataFrame, limit: int = 10) -> str:
    """'file (recording, participant), ...' of the annotation table, for error messages."""
    files = annotations.drop_duplicates("recording_id")
    items = [
        f"{source} (recording {rid}, participant {pid})"
        for source, rid, pid in zip(files["source"], files["recording_id"], files["participant_id"], strict=True)
    ]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return (", ".join(items[:limit]) + more) if items else "no recording"


def finetune(pretrained: str | Path, samples: list, cfg: TrainingConfig) -> tuple[FAN, list[dict[str, float]]]:
    """Fine-tune the last stack of a pre-trained FAN with Adaptive Wing loss."""
    model = load_fan(pretrained)
    history = train(model, samples, cfg)
    return model, history


@dataclass(frozen=True)
class DetectedImages:
    """The annotated images of chosen participants, in participant order, with the face detector's
    boxes: what the landmark-accuracy evaluation (and ``tools/cpu_inference_accuracy.py``) predicts on."""

    keys: list[str]
    owners: np.ndarray  #: participant id of each image
    images: list[np.ndarray]
    truth: np.ndarray  #: (n, 68, 2) annotated landmarks
    boxes: list[np.ndarray | None]  #: detector box per image, ``None`` where no face was found
    group_of: dict[str, str]  #: participant id -> group, for the chosen participants
    set_of: dict[str, str]  #: participant id -> split set

    @property
    def found(self) -> np.ndarray:
        return np.array([b is not None for b in self.boxes])


def detected_images(
    annotations: pd.DataFrame,
    frames_root: str | Path,
    split: pd.DataFrame,
    detector: FaceDetector,
    sets: Collection[str] = ("test",),
) -> DetectedImages:
    """The annotated frames of the ``split``'s participants in ``sets``, loaded, with their true
    landmarks and the face detector's box on each (deployment conditions: no box from the truth)."""
    chosen = split[split["set"].isin(set(sets))]
    group_of = dict(zip(chosen["participant_id"], chosen["group"], strict=True))
    set_of = dict(zip(chosen["participant_id"], chosen["set"], strict=True))
    ann = annotations[annotations["participant_id"].isin(group_of)].sort_values("participant_id", kind="stable")
    samples = cohort_samples(ann, frames_root, set(group_of))
    images = [s.load() for s in samples]
    boxes = [detector(img) for img in images]
    log.info("face detector: %d of %d images", sum(b is not None for b in boxes), len(boxes))
    return DetectedImages(
        keys=[s.key for s in samples],
        # cohort_samples keeps the participant-sorted table's order, so its rows name each sample's owner
        owners=ann["participant_id"].to_numpy(),
        images=images,
        truth=np.stack([s.points for s in samples]),
        boxes=boxes,
        group_of=group_of,
        set_of=set_of,
    )


def evaluate(
    models: Mapping[str, str | Path | Mapping[str, str | Path]],
    annotations: pd.DataFrame,
    frames_root: str | Path,
    split: pd.DataFrame,
    detector: FaceDetector,
    canthi: accuracy.Canthi = "outer",
    device: str = "cpu",
    flip: bool = False,
    decoder: str = "face-alignment",
    sets: Collection[str] = ("test",),
) -> pd.DataFrame:
    """Per image of the ``split``'s participants in ``sets`` and per model: NRMSE, NME and per-region
    errors (%), under deployment conditions: the crop comes from the face detector (then refined from
    the first prediction). Images where the detector finds no face are kept with ``detected = False``
    and no errors.

    ``models`` maps a model's name to its weights, or, for a cross-fitted model, to a mapping
    participant id -> weights: each participant's images are then predicted by its own fold's model.
    """
    test = detected_images(annotations, frames_root, split, detector, sets)
    found = test.found
    rows = pd.DataFrame({"image": test.keys, "participant_id": test.owners})
    rows["group"] = rows["participant_id"].map(test.group_of)
    rows["set"] = rows["participant_id"].map(test.set_of)
    rows["detected"] = found
    tables = []
    for name, weights in models.items():
        by_participant = weights if isinstance(weights, Mapping) else dict.fromkeys(test.group_of, weights)
        if missing := sorted(set(test.group_of) - set(by_participant)):
            raise ValueError(f"model {name!r} has no weights for participant(s) {', '.join(missing)}")
        table = rows.copy()
        table["model"] = name
        for path in sorted({str(by_participant[pid]) for pid in test.group_of}):
            mine = np.array([str(by_participant[pid]) == path for pid in test.owners], dtype=bool)
            idx = np.flatnonzero(found & mine)
            if not len(idx):
                continue
            predictor = LandmarkPredictor(load_fan(path), device=device, flip=flip, decoder=decoder)
            pred, _ = predictor.predict_refined([test.images[i] for i in idx], np.stack([test.boxes[i] for i in idx]))
            truth = test.truth[idx]
            for column, values in (
                ("nrmse", accuracy.nrmse(pred, truth, canthi)),
                ("nme", accuracy.nme(pred, truth, canthi)),
            ):
                table.loc[idx, column] = values
            regions = accuracy.region_errors(pred, truth, canthi)
            for column in regions:
                table.loc[idx, f"error_{column}"] = regions[column].to_numpy()
        tables.append(table)
    return pd.concat(tables, ignore_index=True)

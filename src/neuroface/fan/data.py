"""Annotated images for FAN training and evaluation: the generic corpus and the cohort's frames."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.errors import InputError
from neuroface.fan.train import Sample
from neuroface.inputs.annotated import frame_image_name


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(path, "not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def points_from_columns(table: pd.DataFrame, one_based: bool = True) -> np.ndarray:
    """``(N, 68, 2)`` float64 from columns ``x1, y1, ..., x68, y68`` (or ``x0..x67`` when
    ``one_based`` is False)."""
    first = 1 if one_based else 0
    xs = [f"x{j + first}" for j in range(lm.N_LANDMARKS)]
    ys = [f"y{j + first}" for j in range(lm.N_LANDMARKS)]
    return np.stack([table[xs].to_numpy(np.float64), table[ys].to_numpy(np.float64)], axis=-1)


def generic_corpus(directory: str | Path) -> list[Sample]:
    """The generic face corpus (``landmarks.csv`` + ``images/``) as training samples."""
    directory = Path(directory)
    table = pd.read_csv(directory / "landmarks.csv")
    points = points_from_columns(table)
    return [
        Sample(partial(read_rgb, directory / "images" / name), pts, str(name))
        for name, pts in zip(table["image"], points, strict=True)
    ]


def annotated_frames(annotations: pd.DataFrame, frames_dir: str | Path) -> list[Sample]:
    """Samples for the annotated frames (data model's annotation table, 0-based columns)."""
    frames_dir = Path(frames_dir)
    points = points_from_columns(annotations, one_based=False)
    return [
        Sample(partial(read_rgb, frames_dir / frame_image_name(rid, int(f))), pts, f"{rid}:{int(f)}")
        for rid, f, pts in zip(annotations["recording_id"], annotations["frame"], points, strict=True)
    ]

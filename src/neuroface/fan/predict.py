"""Landmarks from images with a FAN: batched crops, forward pass, decoding, optional flip-averaging."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from neuroface import landmarks as lm
from neuroface.fan import heatmaps
from neuroface.fan.model import FAN


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; other names unchanged."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def scheduler_gpus(device: str) -> int:
    """GPUs a FAN rule asks the scheduler for (``resources: gpu=``), decided when the DAG is built:
    1 for ``cuda``; for ``auto``, 1 only when a GPU is visible to the process building the DAG
    (a workstation with a GPU; not a SLURM login node, where ``cuda`` must be set explicitly);
    0 for ``cpu``. Jobs that will run on the CPU thus never hold a GPU nor queue behind one."""
    return int(torch.device(resolve_device(device)).type == "cuda")  # cuda, cuda:1, ... alike


def inference_dtype(device: str, mixed_precision: bool = True) -> torch.dtype | None:
    """Autocast dtype for inference on ``device``: on CUDA bf16 where supported, else fp16; ``None``
    (fp32) on the CPU or when ``mixed_precision`` is off."""
    if not mixed_precision or torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class LandmarkPredictor:
    """``predict(images, boxes)`` -> landmarks ``(N, 68, 2)`` image px and confidences ``(N, 68)``.

    Crops follow face-alignment's conventions (box centre moved up 0.12 h, scale (w + h) / 195);
    ``flip=True`` averages the heatmaps of the crop and its mirror (left/right swapped), as
    face-alignment's ``flip_input``; ``decoder`` is :func:`neuroface.fan.heatmaps.decode`'s method.
    """

    def __init__(
        self,
        model: FAN,
        device: str = "cpu",
        flip: bool = False,
        batch_size: int = 32,
        dtype: torch.dtype | None = None,
        channels_last: bool = False,
        decoder: str = "face-alignment",
    ) -> None:
        if decoder not in heatmaps.DECODERS:
            raise ValueError(f"unknown heatmap decoder {decoder!r}; choose one of {heatmaps.DECODERS}")
        self.decoder = decoder
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(self.device).eval()
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.channels_last = channels_last
        self.flip = flip
        self.batch_size = batch_size

    @torch.inference_mode()
    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """``(B, S, S, 3)`` uint8 crops -> last-stack heatmaps ``(B, 68, H, H)`` float32."""
        out = []
        for first in range(0, len(crops), self.batch_size):
            x = torch.from_numpy(crops[first : first + self.batch_size]).to(self.device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                hm = self.model(x)[-1]
                if self.flip:
                    hm = hm + self.model(x.flip(-1))[-1][:, list(lm.MIRROR)].flip(-1)
            out.append(hm.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.landmarks, 1, 1), np.float32)

    def predict(self, images: Sequence[np.ndarray], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self.model.config.input_size
        centers, scales = heatmaps.center_scale(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
        crops = (
            np.stack(
                [
                    heatmaps.crop(img, heatmaps.crop_matrix(c, s, size), size)
                    for img, c, s in zip(images, centers, scales, strict=True)
                ]
            )
            if len(images)
            else np.zeros((0, size, size, 3), np.uint8)
        )
        hm = self.heatmaps(crops)
        _, points, scores = heatmaps.decode(hm, centers, scales, method=self.decoder)
        if self.flip:
            scores = scores / 2.0
        return points, scores

    def predict_refined(
        self, images: Sequence[np.ndarray], boxes: np.ndarray, passes: int = 2
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predict from the given boxes, then again from each prediction's landmark box
        (a detector's box and a landmark box frame the face differently)."""
        points, scores = self.predict(images, boxes)
        for _ in range(passes - 1):
            points, scores = self.predict(images, np.stack([lm.landmark_box(p) for p in points]))
        return points, scores

"""Training FAN on annotated face images: pre-training (all stacks, heatmap MSE, intermediate
supervision) and fine-tuning (last stack only, Adaptive Wing loss), with FAN's optimiser and
augmentation. Seeded: on the CPU the same inputs and seed give the same weights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from neuroface import landmarks as lm
from neuroface.fan import heatmaps
from neuroface.fan.loss import weighted_adaptive_wing
from neuroface.fan.model import FAN
from neuroface.landmarks import landmark_box

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Augmentation:
    """FAN's training augmentation (Bulat & Tzimiropoulos): scale, rotation, flip, colour."""

    scale_sd: float = 0.3
    scale_range: tuple[float, float] = (0.7, 1.3)
    rotation_sd_deg: float = 30.0
    rotation_max_deg: float = 60.0
    rotation_probability: float = 0.4
    flip_probability: float = 0.5
    color_gain: tuple[float, float] = (0.7, 1.3)
    box_jitter: float = 0.05  # of the box size: shift and size of the crop box

    def sample(self, rng: np.random.Generator) -> dict[str, object]:
        rotation = 0.0
        if rng.random() < self.rotation_probability:
            rotation = float(
                np.clip(rng.normal(0, self.rotation_sd_deg), -self.rotation_max_deg, self.rotation_max_deg)
            )
        return {
            "zoom": float(np.clip(rng.normal(1.0, self.scale_sd), *self.scale_range)),
            "rotation": rotation,
            "flip": bool(rng.random() < self.flip_probability),
            "gain": rng.uniform(*self.color_gain, size=3).astype(np.float32),
            "jitter": rng.uniform(-self.box_jitter, self.box_jitter, size=3),
        }


NO_AUGMENTATION = Augmentation(0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, (1.0, 1.0), 0.0)


def make_example(
    image: np.ndarray,
    points: np.ndarray,
    box: np.ndarray,
    input_size: int,
    heatmap_size: int,
    params: dict[str, object],
) -> tuple[np.ndarray, np.ndarray]:
    """One training pair: input ``(3, S, S)`` float32 in [0, 1] and target ``(68, H, H)``.

    The crop comes from ``box`` (jittered), then zoom/rotation/flip about the crop centre; the
    landmarks go through the same transform (flip also swaps left/right landmarks).
    """
    b = np.asarray(box, dtype=np.float64)
    size = b[2:] - b[:2]
    jitter = np.asarray(params["jitter"])
    b = b + np.concatenate([jitter[:2] * size, jitter[:2] * size]) + np.concatenate([-size, size]) * jitter[2] / 2
    center, scale = heatmaps.center_scale(b)
    zoom, rotation, flip = float(params["zoom"]), float(params["rotation"]), bool(params["flip"])
    matrix = heatmaps.crop_matrix(center, scale, input_size, rotation, zoom, flip)
    crop = heatmaps.crop(image, matrix, input_size).astype(np.float32) / 255.0
    crop = np.clip(crop * np.asarray(params["gain"], dtype=np.float32), 0.0, 1.0)
    # landmarks in face-alignment's continuous crop coordinates, then the same augmentation
    u = heatmaps.to_crop(points, center, scale, input_size) - input_size / 2.0
    a = np.radians(rotation)
    rot = zoom * np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    u = u @ rot.T
    if flip:
        u = u[list(lm.MIRROR)] * np.array([-1.0, 1.0])
    u = (u + input_size / 2.0) * heatmap_size / input_size
    target = heatmaps.target_heatmaps(u, heatmap_size)
    return crop.transpose(2, 0, 1).copy(), target


@dataclass
class Sample:
    """An annotated image: a loader of ``(H, W, 3)`` uint8 RGB, landmarks ``(68, 2)`` px."""

    load: Callable[[], np.ndarray]
    points: np.ndarray
    key: str = ""


@dataclass
class TrainingConfig:
    epochs: int = 30
    batch_size: int = 10
    learning_rate: float = 2.5e-4
    lr_steps: dict[int, float] = field(default_factory=dict)  # epoch -> new learning rate
    loss: str = "mse"  # "mse" (all stacks) or "awing" (last stack)
    last_stack_only: bool = False
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = 0
    threads: int = 2


def freeze_all_but_last_stack(model: FAN) -> list[str]:
    """Freeze the stem and every stack but the last; returns the trainable parameter names."""
    prefixes = model.last_stack_prefixes()
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefixes))
        if p.requires_grad:
            trainable.append(name)
    return trainable


def _set_train_mode(model: FAN, last_stack_only: bool) -> None:
    """Train mode, but frozen parts keep their BatchNorm statistics (eval mode)."""
    model.train()
    if last_stack_only:
        prefixes = tuple(p.rstrip(".") for p in model.last_stack_prefixes())
        for name, module in model.named_children():
            if name not in prefixes:
                module.eval()
        model.bn1.eval()


def train(model: FAN, samples: Sequence[Sample], cfg: TrainingConfig, progress: bool = True) -> list[dict[str, float]]:
    """Train in place; returns per-epoch ``{"epoch", "loss", "lr"}`` (throughput goes to the log
    only, so the same config gives the same history)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    if cfg.last_stack_only:
        freeze_all_but_last_stack(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.RMSprop(params, lr=cfg.learning_rate)
    size, hm = model.config.input_size, model.config.heatmap_size
    boxes = [landmark_box(s.points) for s in samples]
    history = []
    for epoch in range(cfg.epochs):
        if epoch in cfg.lr_steps:
            for group in optimiser.param_groups:
                group["lr"] = cfg.lr_steps[epoch]
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.permutation(len(samples))
        _set_train_mode(model, cfg.last_stack_only)
        total, count, start = 0.0, 0, time.perf_counter()
        batches = range(0, len(order), cfg.batch_size)
        for first in tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, mininterval=10):
            pairs = [
                make_example(samples[i].load(), samples[i].points, boxes[i], size, hm, cfg.augmentation.sample(rng))
                for i in order[first : first + cfg.batch_size]
            ]
            x = torch.from_numpy(np.stack([p[0] for p in pairs]))
            y = torch.from_numpy(np.stack([p[1] for p in pairs]))
            outputs = model(x)
            if cfg.loss == "awing":
                loss = weighted_adaptive_wing(outputs[-1], y)
            else:
                loss = sum(F.mse_loss(out, y) for out in outputs) / len(outputs)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(pairs)
            count += len(pairs)
        elapsed = time.perf_counter() - start
        row = {
            "epoch": epoch + 1,
            "loss": total / count,
            "lr": optimiser.param_groups[0]["lr"],
        }
        history.append(row)
        log.info("epoch %d: loss %.5f, %.1f images/s", row["epoch"], row["loss"], count / elapsed)
    model.eval()
    return history

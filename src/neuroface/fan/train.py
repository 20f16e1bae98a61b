"""Training FAN on annotated face images: pre-training (all stacks, heatmap MSE, intermediate
supervision) and fine-tuning (the last stack as in the study, or the last few, the stem and earlier
stacks frozen; Adaptive Wing loss), with FAN's optimiser and augmentation. Seeded: on the CPU the
same inputs and seed give the same weights.

Batches come from a :class:`torch.utils.data.DataLoader` (``workers`` processes decode and augment
images; pinned memory on CUDA). The augmentation parameters are drawn in the main process, in the
order of the epoch's permutation, and travel with the sample index, so the batches (and hence the
weights) do not depend on the number of workers. On CUDA the forward pass runs under autocast
(bf16 where the GPU supports it, else fp16 with a :class:`torch.amp.GradScaler`); the master
weights, optimiser and loss stay fp32, and the trained model is returned on the CPU.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from neuroface import landmarks as lm
from neuroface.fan import heatmaps
from neuroface.fan.device import job_device
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
#: No scale, rotation, flip or colour change; the crop box still jitters by FAN's default (video crops come from
#: a face detector, not from the true landmarks).
BOX_JITTER_ONLY = Augmentation(0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, (1.0, 1.0), Augmentation.box_jitter)


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
    trained_stacks: int | None = None  # None: the whole network; k: the last k stacks, the rest frozen
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # "cpu" or "cuda" (resolve "auto" with device.job_device first)
    workers: int = 0  # DataLoader worker processes (0: load in the main process)
    mixed_precision: bool = True  # autocast on CUDA (bf16 if supported, else fp16 + GradScaler)


def training_config(fan: Mapping, stage: str, loss: str, trained_stacks: int | None) -> TrainingConfig:
    """The :class:`TrainingConfig` of the workflow config's ``fan.<stage>`` (``pretraining`` or ``finetuning``: epochs,
    batch size, learning rate and its steps, FAN's augmentation or the box jitter alone) with ``fan``'s shared seed,
    threads, device (``auto`` resolved here, on the machine that trains), DataLoader workers and mixed precision;
    ``loss`` and ``trained_stacks`` as :class:`TrainingConfig`'s."""
    section = fan[stage]
    return TrainingConfig(
        epochs=section["epochs"],
        batch_size=section["batch_size"],
        learning_rate=section["learning_rate"],
        lr_steps={int(k): float(v) for k, v in section["lr_steps"].items()},
        loss=loss,
        trained_stacks=trained_stacks,
        augmentation=Augmentation() if section.get("augmentation", True) else BOX_JITTER_ONLY,
        seed=fan["seed"],
        threads=fan["threads"],
        device=job_device(fan["device"]),
        workers=fan["workers"],
        mixed_precision=fan["mixed_precision"],
    )


def freeze_all_but_last_stacks(model: FAN, stacks: int = 1) -> list[str]:
    """Freeze the stem and every stack but the last ``stacks``; returns the trainable parameter names."""
    prefixes = model.last_stack_prefixes(stacks)
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefixes))
        if p.requires_grad:
            trainable.append(name)
    return trainable


def _set_train_mode(model: FAN, trained_stacks: int | None) -> None:
    """Train mode, but frozen parts keep their BatchNorm statistics (eval mode)."""
    model.train()
    if trained_stacks is not None:
        prefixes = tuple(p.rstrip(".") for p in model.last_stack_prefixes(trained_stacks))
        for name, module in model.named_children():
            if name not in prefixes:
                module.eval()
        model.bn1.eval()


class _Examples(torch.utils.data.Dataset):
    """Training pairs addressed by ``(sample index, augmentation parameters)``: the parameters are
    drawn in the main process, so workers only load and transform (no random state of their own)."""

    def __init__(self, samples: Sequence[Sample], boxes: Sequence[np.ndarray], input_size: int, heatmap_size: int):
        self.samples, self.boxes = samples, boxes
        self.input_size, self.heatmap_size = input_size, heatmap_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: tuple[int, dict[str, object]]) -> tuple[torch.Tensor, torch.Tensor]:
        i, params = item
        s = self.samples[i]
        x, y = make_example(s.load(), s.points, self.boxes[i], self.input_size, self.heatmap_size, params)
        return torch.from_numpy(x), torch.from_numpy(y)


def _batch_plan(n: int, cfg: TrainingConfig, epoch: int) -> list[list[tuple[int, dict[str, object]]]]:
    """One epoch's batches of ``(index, augmentation)``: a seeded permutation, then one augmentation
    draw per sample in that order (the same draws whatever the batch size or workers)."""
    rng = np.random.default_rng([cfg.seed, epoch])
    order = rng.permutation(n)
    items = [(int(i), cfg.augmentation.sample(rng)) for i in order]
    return [items[first : first + cfg.batch_size] for first in range(0, n, cfg.batch_size)]


def configure_determinism(device: torch.device) -> None:
    """Deterministic kernels. On the CPU every op FAN uses has one, so runs are bit-reproducible.
    On CUDA cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` (set here unless already set, before the
    first cuBLAS call) and cuDNN's autotuner is off; ops without a deterministic CUDA kernel warn
    instead of failing (``warn_only``), so CUDA runs are reproducible on one GPU model and
    driver up to such ops, and never bit-equal to CPU runs."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.use_deterministic_algorithms(True)


def autocast_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """The autocast dtype for training on ``device``: bf16 on CUDA GPUs that support it, else
    fp16; ``None`` (fp32) on the CPU or when disabled."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def train(model: FAN, samples: Sequence[Sample], cfg: TrainingConfig, progress: bool = True) -> list[dict[str, float]]:
    """Train in place on ``cfg.device``; returns per-epoch ``{"epoch", "loss", "lr"}``
    (throughput goes to the log only, so the same config gives the same history). The model is
    left in eval mode on the CPU."""
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    configure_determinism(device)
    if cfg.trained_stacks is not None:
        freeze_all_but_last_stacks(model, cfg.trained_stacks)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.RMSprop(params, lr=cfg.learning_rate)
    amp = autocast_dtype(device, cfg.mixed_precision)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
    size, hm = model.config.input_size, model.config.heatmap_size
    dataset = _Examples(samples, [landmark_box(s.points) for s in samples], size, hm)
    history = []
    log.info("training on %s (autocast %s, %d loader workers)", device, amp or "off", cfg.workers)
    for epoch in range(cfg.epochs):
        if epoch in cfg.lr_steps:
            for group in optimiser.param_groups:
                group["lr"] = cfg.lr_steps[epoch]
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=_batch_plan(len(samples), cfg, epoch),
            num_workers=cfg.workers,
            pin_memory=device.type == "cuda",
        )
        _set_train_mode(model, cfg.trained_stacks)
        total, count, start = 0.0, 0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, mininterval=10)
        for x, y in bar:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                outputs = model(x)
            outputs = [out.float() for out in outputs]
            if cfg.loss == "awing":
                loss = weighted_adaptive_wing(outputs[-1], y)
            else:
                loss = sum(F.mse_loss(out, y) for out in outputs) / len(outputs)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            total += float(loss.detach()) * len(x)
            count += len(x)
        elapsed = time.perf_counter() - start
        row = {
            "epoch": epoch + 1,
            "loss": total / count,
            "lr": optimiser.param_groups[0]["lr"],
        }
        history.append(row)
        log.info("epoch %d: loss %.5f, %.1f images/s", row["epoch"], row["loss"], count / elapsed)
    model.to("cpu").eval()
    return history

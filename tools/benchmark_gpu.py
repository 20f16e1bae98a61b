"""GPU benchmark of FAN-4 (2DFAN-4's architecture): face-alignment per image vs ours batched in
fp16/bf16, fine-tuning throughput, and the fraction of the compute floor reached. One command,
a few minutes on one GPU:

    python tools/benchmark_gpu.py [--device cuda] [--frames 512] [--batch 64] [--train-images 256]

Prints, from one run, side by side: frames/s of face-alignment's ``get_landmarks_from_image``
frame by frame (its usual use, fp32, the same weights and boxes), frames/s of
``LandmarkPredictor`` in batches (fp32, fp16, and bf16 where the GPU supports it; channels-last),
their ratios, the largest landmark difference of each from our fp32 path, fine-tuning images/s
(last stack, Adaptive Wing loss, autocast as the workflow trains), and the fraction of the GPU's
dense peak reached: achieved FLOP/s (frames/s x FLOP per frame, counted here with
``torch.utils.flop_counter``: ~50.5 GFLOP for FAN-4 at 256 px) over ``--peak-tflops`` (looked up
for known GPUs). Seeded random weights: the computation, hence the speed, does not depend on
their values (landmark differences are only indicative with them). Without a GPU it runs the same
steps on the CPU with few frames, to check that it works.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.train import Augmentation, Sample, TrainingConfig, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_tracking import face_alignment_with  # noqa: E402  (tools/ holds the shared loader)

#: Dense fp16/bf16 tensor-core peaks (TFLOP/s, without sparsity) from the vendors' data sheets.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A40": 150.0, "V100": 125.0}


def flops_per_frame(model: FAN) -> float:
    size = model.config.input_size
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, size, size, device=next(model.parameters()).device))
    return float(counter.get_total_flops())


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: str) -> tuple[float, object]:
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=None, help="default: 512 on CUDA, 4 on the CPU")
    parser.add_argument("--batch", type=int, default=None, help="default: 64 on CUDA, 4 on the CPU")
    parser.add_argument("--train-images", type=int, default=None, help="default: 256 on CUDA, 4 on the CPU")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense fp16/bf16 peak")
    parser.add_argument("--fa-compile", action="store_true", help="let face-alignment torch.compile its model")
    args = parser.parse_args()
    cuda = args.device == "cuda"
    frames_n = args.frames or (512 if cuda else 4)
    batch = args.batch or (64 if cuda else 4)
    train_n = args.train_images or (256 if cuda else 4)
    name = torch.cuda.get_device_name() if cuda else "CPU"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    print(f"device {args.device} ({name}), torch {torch.__version__}, {frames_n} frames, batch {batch}")

    torch.manual_seed(0)
    model = FAN(FANConfig()).eval()
    gflop = flops_per_frame(model) / 1e9
    print(f"FAN-4 forward: {gflop:.1f} GFLOP per 256x256 frame (torch.utils.flop_counter)")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(min(frames_n, 64))]
    images = [images[k % len(images)] for k in range(frames_n)]
    boxes = np.tile(np.array([[220.0, 120, 420, 340]]), (frames_n, 1))

    fa = face_alignment_with(model, args.device, compile=args.fa_compile)
    fa_n = min(frames_n, 128 if cuda else frames_n)
    fa.get_landmarks_from_image(images[0], detected_faces=[boxes[0]])
    elapsed, _ = timed(
        lambda: [fa.get_landmarks_from_image(images[k], detected_faces=[boxes[k]]) for k in range(fa_n)], args.device
    )
    fa_fps = fa_n / elapsed
    print(f"{'face-alignment get_landmarks_from_image, per image, fp32':62s} {fa_fps:9.3g} frames/s")

    dtypes = {"fp32": None, "fp16": torch.float16}
    if not cuda or torch.cuda.is_bf16_supported():
        dtypes["bf16"] = torch.bfloat16
    if not cuda:
        dtypes = {"fp32": None}  # CPU fallback: only checks that the steps run
    exact = None
    for label, dtype in dtypes.items():
        predictor = LandmarkPredictor(model, args.device, batch_size=batch, dtype=dtype, channels_last=cuda)
        predictor.predict(images[:batch], boxes[:batch])  # warm-up (cuDNN algorithm choice)
        elapsed, (points, _) = timed(lambda p=predictor: p.predict(images, boxes), args.device)
        fps = frames_n / elapsed
        exact = points if exact is None else exact
        floor = f", {fps * gflop / 1e3 / peak:.1%} of the {peak:.0f} TFLOP/s peak" if peak else ""
        print(
            f"{f'ours LandmarkPredictor, batch {batch}, {label}, channels-last={cuda}':62s} {fps:9.3g} frames/s "
            f"({fps / fa_fps:.2f}x face-alignment; {fps * gflop / 1e3:.3g} TFLOP/s{floor}; "
            f"max landmark difference from fp32 {np.abs(points - exact).max():.3f} px)"
        )
    model.to("cpu")

    size = 300
    samples = []
    for k in range(train_n):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        samples.append(Sample(lambda image=image: image, rng.uniform(90, 210, (68, 2)), str(k)))
    cfg = TrainingConfig(
        epochs=1,
        batch_size=min(32 if cuda else 2, train_n),
        loss="awing",
        trained_stacks=1,
        augmentation=Augmentation(),
        device=args.device,
        workers=min(8, os.cpu_count() or 1) if cuda else 0,
        threads=torch.get_num_threads(),
    )
    elapsed, _ = timed(lambda: train(model, samples, cfg, progress=False), args.device)
    autocast = "bf16" if cuda and torch.cuda.is_bf16_supported() else ("fp16" if cuda else "fp32")
    print(
        f"{f'fine-tuning the last stack, batch {cfg.batch_size}, {autocast}, {cfg.workers} workers':62s} "
        f"{train_n / elapsed:9.3g} images/s (one epoch of {train_n}, start-up included)"
    )
    if cuda:
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    sys.exit(main())

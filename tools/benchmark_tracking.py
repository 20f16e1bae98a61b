"""Benchmark: this project's batched FAN inference and tracker vs face-alignment, side by side.

Same frames, same weights, same face boxes: face-alignment's ``get_landmarks_from_image`` called
frame by frame (its usual use) against ``LandmarkPredictor.predict`` in batches, and the full
tracker (detector + tracking) on the recording. Prints frames per second, their ratio, the
largest landmark difference, the reader's decode rate per backend and the tracker's peak memory.

    python tools/benchmark_tracking.py BAG [--weights FILE] [--frames N] [--device cpu|cuda] [--batch B]

Without ``--weights`` a FAN-4 (2DFAN-4 architecture) with seeded random weights is used: the
computation, and so the speed and the agreement, do not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from neuroface.fan import heatmaps
from neuroface.fan.detection import HaarDetector
from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import LandmarkPredictor
from neuroface.fan.weights import FAN4_FILE, load_fan
from neuroface.landmarks import landmark_box
from neuroface.realsense.bag import open_bag
from neuroface.tracking.tracker import Tracker


def decode_rate(bag: str, backend: str) -> float:
    start, n = time.perf_counter(), 0
    for _ in open_bag(bag, backend).frames("color"):
        n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bag")
    parser.add_argument("--weights")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="default: 64 on CUDA, 4 on the CPU")
    args = parser.parse_args()
    args.batch = args.batch or (64 if args.device == "cuda" else 4)

    torch.manual_seed(0)
    model = load_fan(args.weights) if args.weights else FAN(FANConfig()).eval()
    frames = [f.data for _, f in zip(range(args.frames), open_bag(args.bag).frames("color"), strict=False)]
    detector = HaarDetector()
    first = detector(frames[0])
    boxes = np.repeat(first[None], len(frames), 0)
    # one pass of ours to get a landmark box per frame, then both methods use the same boxes
    boxes = np.stack([landmark_box(p) for p in LandmarkPredictor(model, args.device).predict(frames, boxes)[0]])

    # face-alignment, loading the same weights through its own code path (torch.hub cache)
    import face_alignment

    with tempfile.TemporaryDirectory() as home:
        os.environ["TORCH_HOME"] = home
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        cache.mkdir(parents=True)
        torch.save(model.state_dict(), cache / FAN4_FILE)
        fa = face_alignment.FaceAlignment(
            face_alignment.LandmarksType.TWO_D,
            device=args.device,
            flip_input=False,
            face_detector="folder",
            compile=False,
        )
    fa.get_landmarks_from_image(frames[0], detected_faces=[boxes[0]])  # warm-up
    start = time.perf_counter()
    theirs = np.stack(
        [fa.get_landmarks_from_image(f, detected_faces=[b])[0] for f, b in zip(frames, boxes, strict=True)]
    )
    fa_fps = len(frames) / (time.perf_counter() - start)

    dtype = torch.float16 if args.device == "cuda" else None
    ours_predictor = LandmarkPredictor(
        model, args.device, batch_size=args.batch, dtype=dtype, channels_last=args.device == "cuda"
    )
    ours_predictor.predict(frames[: min(len(frames), args.batch)], boxes[: min(len(frames), args.batch)])  # warm-up
    start = time.perf_counter()
    ours, _ = ours_predictor.predict(frames, boxes)
    our_fps = len(frames) / (time.perf_counter() - start)
    exact = LandmarkPredictor(model, args.device, batch_size=args.batch).predict(frames, boxes)[0]

    start = time.perf_counter()
    track = Tracker(ours_predictor, detector).track(
        f for _, f in zip(range(args.frames), open_bag(args.bag).frames("color"), strict=False)
    )
    tracker_fps = len(track) / (time.perf_counter() - start)

    print(f"device {args.device}, {len(frames)} frames, FAN {model.config}")
    print(f"face-alignment get_landmarks_from_image, frame by frame: {fa_fps:.2f} frames/s")
    print(f"neuroface LandmarkPredictor, batches of {args.batch}{' fp16' if dtype else ''}: {our_fps:.2f} frames/s")
    print(f"ratio: {our_fps / fa_fps:.2f}x")
    print(f"tracker end to end (Haar detection, tracking, decoding): {tracker_fps:.2f} frames/s")
    diff = np.abs(exact - theirs).max(axis=-1)
    print(
        "landmark difference, same boxes (fp32; face-alignment truncates to integers): "
        f"{(diff < 1).mean():.1%} of landmarks within 1 px, median {np.median(diff):.2f} px, max {diff.max():.2f} px"
    )
    centers, scales = heatmaps.center_scale(boxes)
    crops = np.stack([heatmaps.crop_face(f, c, s, 256) for f, c, s in zip(frames, centers, scales, strict=True)])
    with torch.inference_mode():
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255).to(args.device)
        fa_hm = torch.cat([fa.face_alignment_net(x[k : k + 1])[-1] for k in range(len(x))]).float().cpu().numpy()
    our_hm = LandmarkPredictor(model, args.device, batch_size=args.batch).heatmaps(crops)
    gap, peak = np.abs(fa_hm - our_hm).max(), our_hm.max()
    print(f"heatmap difference, same crops: max {gap:.2e} (heatmap peaks up to {peak:.3f})")
    if not args.weights:
        print("  (random weights give flat heatmaps, whose argmax such float-rounding differences can move)")
    print(f"fp16/batched vs fp32 landmarks: max {np.abs(ours - exact).max():.3f} px")
    for backend in ("rosbags", "pyrealsense2"):
        print(f"decode rate, {backend}: {decode_rate(args.bag, backend):.0f} colour frames/s")
    print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.device == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())

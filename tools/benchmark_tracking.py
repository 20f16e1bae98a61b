"""Benchmark: this project's batched FAN inference and tracker vs face-alignment, side by side.

Same frames, same weights, same face boxes: face-alignment's ``get_landmarks_from_image`` called
frame by frame (its usual use) against ``LandmarkPredictor.predict`` in batches, and the full
tracker (detector + tracking) on the recording. Prints frames per second, their ratio, the
largest landmark difference, the reader's decode rate per backend and the tracker's peak memory.

    python tools/benchmark_tracking.py BAG [--weights FILE] [--frames N] [--device cpu|cuda] [--batch B]
        [--truth NPZ --fit-steps K] [--candidates]

Without ``--weights`` a FAN-4 (2DFAN-4 architecture) with seeded random weights is used: the
computation, and so the speed, do not depend on the weights' values, but random weights give flat
heatmaps whose argmax means nothing. ``--truth`` (the synthetic recording's ``truth/*.npz``) with
``--fit-steps`` fits the last stack's 1x1 heads to the frames' true landmarks first
(``_fan_candidates.fit_last_head``), so the heatmaps are peaked as a trained FAN's and the
accuracy of the reduced-precision candidates means something. ``--candidates`` times the CPU
inference candidates on the same crops, side by side: per image vs batched, channels-last,
bf16 autocast, ``torch.compile`` and ONNX Runtime (when installed), with their frames/s, ratio
to face-alignment and largest landmark difference from our fp32 path.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fan_candidates as candidates  # noqa: E402

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


def compare_candidates(model, crops: np.ndarray, boxes: np.ndarray, fa, fa_fps: float, args) -> None:
    """The CPU inference candidates on the same crops, side by side, against our fp32 path."""
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
    flags = open("/proc/cpuinfo").read() if Path("/proc/cpuinfo").is_file() else ""
    bf16_isa = [f for f in ("avx512_bf16", "amx_bf16") if f in flags.split()]
    print(f"CPU bf16 instructions: {bf16_isa or 'none (bf16 is emulated)'}; {torch.get_num_threads()} threads")
    with torch.inference_mode():
        fa_one = lambda t: fa.face_alignment_net(t)[-1].float()  # noqa: E731
    runs = {
        "face-alignment net, per image": (fa_one, 1),
        "ours eager fp32, per image": (candidates.eager(model), 1),
        f"ours eager fp32, batch {args.batch}": (candidates.eager(model), args.batch),
        f"ours channels-last fp32, batch {args.batch}": (candidates.eager(model, True), args.batch),
        f"ours channels-last bf16 autocast, batch {args.batch}": (
            candidates.eager(model, True, torch.bfloat16),
            args.batch,
        ),
    }
    try:
        runs[f"ours torch.compile channels-last fp32, batch {args.batch}"] = (candidates.compiled(model), args.batch)
    except Exception as err:  # noqa: BLE001 - a missing compiler is a result, not a failure
        print(f"torch.compile unavailable: {err}")
    try:
        runs[f"ONNX Runtime fp32, batch {args.batch}"] = (
            candidates.onnxruntime_session(model, torch.get_num_threads()),
            args.batch,
        )
    except Exception as err:  # noqa: BLE001
        print(f"ONNX Runtime unavailable: {type(err).__name__}: {err}")
    reference = candidates.throughput(candidates.eager(model), x, args.batch)[1]  # our fp32 path
    ref_pts = candidates.landmarks(reference, boxes)
    print(f"{'candidate':58s} {'frames/s':>9s} {'vs FA':>7s} {'max |dlandmark| px':>19s} {'max |dheatmap|':>15s}")
    for name, (forward, batch) in runs.items():
        try:
            fps, hm = candidates.throughput(forward, x, batch)
        except Exception as err:  # noqa: BLE001
            print(f"{name:58s} failed: {type(err).__name__}: {err}")
            continue
        pts = candidates.landmarks(hm, boxes)
        print(
            f"{name:58s} {fps:9.2f} {fps / fa_fps:6.2f}x {np.abs(pts - ref_pts).max():19.3f} "
            f"{np.abs(hm - reference).max():15.2e}"
        )
    print(f"(vs FA: against get_landmarks_from_image at {fa_fps:.2f} frames/s; differences against our eager fp32)")


def face_alignment_with(model: torch.nn.Module, device: str, compile: bool = False):
    """face-alignment's ``FaceAlignment`` (2D, no flip, boxes given) holding ``model``'s weights, loaded
    through face-alignment's own code path: the state_dict is saved as 2DFAN-4 in a temporary torch.hub
    cache that face-alignment reads."""
    import face_alignment

    with tempfile.TemporaryDirectory() as home:
        os.environ["TORCH_HOME"] = home
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        cache.mkdir(parents=True)
        torch.save(model.state_dict(), cache / FAN4_FILE)
        return face_alignment.FaceAlignment(
            face_alignment.LandmarksType.TWO_D,
            device=device,
            flip_input=False,
            face_detector="folder",
            compile=compile,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bag")
    parser.add_argument("--weights")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="default: 64 on CUDA, 4 on the CPU")
    parser.add_argument("--truth", help="the recording's truth .npz (synthetic cohort): fit the heads to it")
    parser.add_argument("--fit-steps", type=int, default=0)
    parser.add_argument("--candidates", action="store_true", help="time the CPU inference candidates")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    args.batch = args.batch or (64 if args.device == "cuda" else 4)
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = load_fan(args.weights) if args.weights else FAN(FANConfig()).eval()
    frames = [f.data for _, f in zip(range(args.frames), open_bag(args.bag).frames("color"), strict=False)]
    detector = HaarDetector()
    first = detector(frames[0])
    boxes = np.repeat(first[None], len(frames), 0)
    if args.truth and args.fit_steps:
        truth = np.load(args.truth)["landmarks_2d"][: len(frames)].astype(np.float64)
        boxes = np.stack([landmark_box(p) for p in truth])
        size, hm_size = model.config.input_size, model.config.heatmap_size
        centers, scales = heatmaps.center_scale(boxes)
        crops = np.stack([heatmaps.crop_face(f, c, s, size) for f, c, s in zip(frames, centers, scales, strict=True)])
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
        targets = torch.from_numpy(
            np.stack(
                [
                    heatmaps.target_heatmaps(heatmaps.to_crop(p, c, s, hm_size), hm_size)
                    for p, c, s in zip(truth, centers, scales, strict=True)
                ]
            )
        )
        print(f"fitting the last stack's heads to {len(frames)} frames' true landmarks, {args.fit_steps} steps")
        candidates.fit_last_head(model, x, targets, args.fit_steps)
    # one pass of ours to get a landmark box per frame, then both methods use the same boxes
    boxes = np.stack([landmark_box(p) for p in LandmarkPredictor(model, args.device).predict(frames, boxes)[0]])

    # face-alignment, loading the same weights through its own code path (torch.hub cache)
    fa = face_alignment_with(model, args.device)
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
    if args.candidates:
        compare_candidates(model, crops, boxes, fa, fa_fps, args)
    for backend in ("rosbags", "pyrealsense2"):
        print(f"decode rate, {backend}: {decode_rate(args.bag, backend):.0f} colour frames/s")
    print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.device == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: this project's batched FAN inference and tracker vs face-alignment, side by side.

Same frames, same weights, same face boxes: face-alignment's ``get_landmarks_from_image`` called
frame by frame (its usual use) against ``LandmarkPredictor.predict`` in batches, and the full
tracker (detector + tracking) on the recording. Prints frames per second, their ratio, the
largest landmark difference, the reader's decode rate per backend and the tracker's peak memory.

    python tools/benchmark_tracking.py BAG [--weights FILE] [--frames N] [--device cpu|cuda] [--batch B]
        [--truth NPZ --fit-steps K] [--candidates [--batches 4,16] [--rounds R] [--no-compile]] [--threads T]

Without ``--weights`` a FAN-4 (2DFAN-4 architecture) with seeded random weights is used: the
computation, and so the speed, do not depend on the weights' values, but random weights give flat
heatmaps whose argmax means nothing. ``--truth`` (the synthetic recording's ``truth/*.npz``) with
``--fit-steps`` fits the last stack's 1x1 heads to the frames' true landmarks first
(``_fan_candidates.fit_last_head``), so the heatmaps are peaked as a trained FAN's and the
accuracy of the reduced-precision candidates means something. ``--candidates`` times the CPU
inference candidates on the same crops, side by side: per image vs batched (``--batches``),
channels-last, bf16 autocast, TorchScript freeze + ``optimize_for_inference``, ``torch.compile`` and
ONNX Runtime (when installed), then ``LandmarkPredictor.predict`` with each ``cpu_inference`` choice,
with their frames/s, ratio to face-alignment's ``get_landmarks_from_image`` and largest landmark
difference from our fp32 path. Every run is timed once per round, ``--rounds`` rounds interleaved
(medians printed), so that a change in the machine's load falls on all of them alike; still, time
on a quiet machine (``uptime``). ``--threads 1`` is a tracking job's setting (one thread per job).
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
from neuroface.fan.predict import LandmarkPredictor, cpu_bf16_isa
from neuroface.fan.weights import FAN4_FILE, load_fan
from neuroface.landmarks import landmark_box
from neuroface.realsense.bag import open_bag
from neuroface.tracking.tracker import Tracker


def decode_rate(bag: str, backend: str) -> float:
    start, n = time.perf_counter(), 0
    for _ in open_bag(bag, backend).frames("color"):
        n += 1
    return n / (time.perf_counter() - start)


def compare_candidates(model, frames, crops: np.ndarray, boxes: np.ndarray, fa, args) -> None:
    """The CPU inference candidates on the same crops, side by side and interleaved round by round
    (median of ``--rounds``), against face-alignment's ``get_landmarks_from_image`` timed in the same
    rounds: first the forward passes alone, then whole ``LandmarkPredictor.predict`` calls (crop,
    forward, decode) for each ``cpu_inference`` choice."""
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
    bf16 = cpu_bf16_isa()
    threads = torch.get_num_threads()
    print(f"CPU bf16 instructions: {', '.join(bf16) or 'none (bf16 is emulated)'}; {threads} threads")
    b = args.batch

    def fa_one(t: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return fa.face_alignment_net(t)[-1].float()

    forwards = {
        "face-alignment net, per image": (fa_one, 1),
        "ours eager fp32, per image": (candidates.eager(model), 1),
        **{f"ours eager fp32, batch {n}": (candidates.eager(model), n) for n in args.batches},
        f"ours channels-last fp32, batch {b}": (candidates.eager(model, True), b),
        f"ours channels-last bf16 autocast, batch {b}": (candidates.eager(model, True, torch.bfloat16), b),
    }
    for name, make in (
        (f"ours TorchScript frozen + optimize_for_inference, batch {b}", lambda: candidates.torchscript_frozen(model)),
        (f"ours torch.compile channels-last fp32, batch {b}", lambda: candidates.compiled(model)),
        (f"ONNX Runtime fp32, batch {b}", lambda: candidates.onnxruntime_session(model, threads)),
    ):
        if "compile" in name and not args.compile:
            continue
        try:
            forwards[name] = (make(), b)
        except Exception as err:  # noqa: BLE001 - a missing backend is a result, not a failure
            print(f"{name}: unavailable: {type(err).__name__}: {err}")
    predictors = {
        mode: LandmarkPredictor(model, batch_size=b, cpu_inference=mode)
        for mode in ("fp32", "channels-last", "onnxruntime", "bf16")
    }
    runs = {"face-alignment get_landmarks_from_image, per image": lambda: fa_landmarks(fa, frames, boxes)}
    for name, (forward, batch) in forwards.items():
        forward(x[:batch])  # warm-up (and torch.compile's compilation), untimed
        runs[name] = lambda forward=forward, batch=batch: torch.cat(
            [forward(x[k : k + batch]) for k in range(0, len(x), batch)]
        ).numpy()
    for mode, predictor in predictors.items():
        predictor.predict(frames[:b], boxes[:b])  # warm-up
        runs[f"ours LandmarkPredictor cpu_inference={mode}, batch {b}"] = lambda predictor=predictor: predictor.predict(
            frames, boxes
        )[0]
    print(f"timing {len(runs)} runs over {len(frames)} frames, {args.rounds} interleaved rounds")
    seconds, results = candidates.interleaved(runs, args.rounds)
    fa_fps = len(frames) / seconds[next(iter(runs))]
    reference = results["ours eager fp32, per image"]  # our fp32 path, heatmaps
    ref_pts = candidates.landmarks(reference, boxes)
    ref_predict = results[f"ours LandmarkPredictor cpu_inference=fp32, batch {b}"]
    print(f"{'run':62s} {'frames/s':>9s} {'vs FA':>7s} {'max |dlandmark| px':>19s} {'max |dheatmap|':>15s}")
    for name in runs:
        if name not in seconds:
            continue
        fps, out = len(frames) / seconds[name], results[name]
        if name.startswith("face-alignment get_"):
            dpts, dhm = "", ""
        elif name.startswith("ours LandmarkPredictor"):
            dpts, dhm = f"{np.abs(out - ref_predict).max():19.3f}", ""
        else:
            dpts, dhm = (
                f"{np.abs(candidates.landmarks(out, boxes) - ref_pts).max():19.3f}",
                f"{np.abs(out - reference).max():15.2e}",
            )
        print(f"{name:62s} {fps:9.2f} {fps / fa_fps:6.2f}x {dpts:>19s} {dhm:>15s}")
    print(
        f"(vs FA: against get_landmarks_from_image at {fa_fps:.2f} frames/s, median of {args.rounds} rounds; "
        "landmark differences (face-alignment decoding) against our eager fp32 path; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)"
    )


def fa_landmarks(fa, frames, boxes) -> np.ndarray:
    return np.stack([fa.get_landmarks_from_image(f, detected_faces=[b])[0] for f, b in zip(frames, boxes, strict=True)])


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
    parser.add_argument(
        "--batches",
        type=lambda s: [int(v) for v in s.split(",")],
        default=[4, 16],
        help="batch sizes of the eager fp32 candidate (--candidates)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (--candidates)")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip torch.compile")
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
    theirs = fa_landmarks(fa, frames, boxes)
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
        compare_candidates(model, frames, crops, boxes, fa, args)
    for backend in ("rosbags", "pyrealsense2"):
        print(f"decode rate, {backend}: {decode_rate(args.bag, backend):.0f} colour frames/s")
    print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.device == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())

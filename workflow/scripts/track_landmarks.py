"""Rule track_landmarks: every model over one pass of each colour stream of one participant's recordings."""

import time

import _bootstrap  # noqa: F401
import torch

from neuroface.fan.detection import make_detector
from neuroface.fan.device import job_device
from neuroface.fan.predict import LandmarkPredictor, inference_dtype
from neuroface.fan.weights import load_fan
from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.tracking.tracker import Tracker, TrackerSettings, track_together
from neuroface.tracks import median_smooth, stack_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
cfg = snakemake.params.tracking
models = snakemake.params.models
torch.set_num_threads(snakemake.threads)  # one job per core: no oversubscription when jobs run side by side
device = job_device(snakemake.params.device)
detector = make_detector(cfg, device)  # one detector (and its weights) for both trackers
settings = TrackerSettings(cfg["batch_size"], cfg["min_confidence"], cfg["max_jump"], cfg["margin"])
trackers = {
    model: Tracker(
        LandmarkPredictor(
            load_fan(snakemake.input[model]),
            device=device,
            flip=snakemake.params.flip,
            decoder=snakemake.params.decoder,
            batch_size=cfg["batch_size"],
            dtype=inference_dtype(device, snakemake.params.mixed_precision),
            channels_last=device == "cuda",
            cpu_inference=cfg["cpu_inference"],
        ),
        detector,
        settings,
    )
    for model in models
}
for model in models:  # what tracked these recordings (the cross-fitting tests read it)
    log.info("model %s: weights %s", model, snakemake.input[model])
recordings = snakemake.params.recordings
raw = {model: {} for model in models}
smoothed = {model: {} for model in models}
frames, start = 0, time.perf_counter()
for i, (recording, bag) in enumerate(zip(recordings, snakemake.input.bags, strict=True), 1):
    tracks = track_together(trackers, open_bag(bag, snakemake.params.backend).frames("color"))
    for model, track in tracks.items():
        log.info(
            "%d/%d %s %s: %d frames, %s",
            i,
            len(recordings),
            recording,
            model,
            len(track),
            track["status"].value_counts().to_dict(),
        )
        raw[model][recording] = track
        smoothed[model][recording] = median_smooth(track, cfg["median_window"])
    frames += len(next(iter(tracks.values())))
elapsed = time.perf_counter() - start
for model, raw_path, smoothed_path in zip(models, snakemake.output.raw, snakemake.output.smoothed, strict=True):
    write_table(stack_recordings(raw[model]), raw_path)
    write_table(stack_recordings(smoothed[model]), smoothed_path)
log.info(
    "%d recordings, %d frames x %d models in %.1f s on %s (%.1f frames/s per model)",
    len(recordings),
    frames,
    len(models),
    elapsed,
    device,
    frames * len(models) / elapsed,
)

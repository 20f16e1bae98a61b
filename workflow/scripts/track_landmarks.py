"""Rule track_landmarks: every model over one pass of a recording's colour frames."""

import time

import _bootstrap  # noqa: F401
import torch

from neuroface.fan.detection import make_detector
from neuroface.fan.device import resolve_device
from neuroface.fan.predict import LandmarkPredictor, inference_dtype
from neuroface.fan.weights import load_fan
from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.tracking.tracker import Tracker, TrackerSettings, track_together
from neuroface.tracks import median_smooth

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
cfg = snakemake.params.tracking
models = snakemake.params.models
torch.set_num_threads(snakemake.threads)  # one job per core: no oversubscription when jobs run side by side
device = resolve_device(snakemake.params.device)
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
for model in models:  # what tracked this recording (the cross-fitting tests read it)
    log.info("model %s: weights %s", model, snakemake.input[model])
start = time.perf_counter()
tracks = track_together(trackers, open_bag(snakemake.input.bag, snakemake.params.backend).frames("color"))
elapsed = time.perf_counter() - start
for model, track, raw, smoothed in zip(
    models, tracks.values(), snakemake.output.raw, snakemake.output.smoothed, strict=True
):
    log.info("%s: %d frames, %s", model, len(track), track["status"].value_counts().to_dict())
    write_table(track, raw)
    write_table(median_smooth(track, cfg["median_window"]), smoothed)
n = len(next(iter(tracks.values())))
log.info(
    "%d frames x %d models in %.1f s on %s (%.1f frames/s per model)",
    n,
    len(models),
    elapsed,
    device,
    n * len(models) / elapsed,
)

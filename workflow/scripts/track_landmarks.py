"""Rule track_landmarks."""

import time

import _bootstrap  # noqa: F401
import torch

from neuroface.fan.detection import make_detector
from neuroface.fan.predict import LandmarkPredictor, resolve_device
from neuroface.fan.weights import load_fan
from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.tracking.tracker import Tracker, TrackerSettings
from neuroface.tracks import median_smooth

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
cfg = snakemake.params.tracking
torch.set_num_threads(snakemake.threads)  # one job per core: no oversubscription when jobs run side by side
device = resolve_device(snakemake.params.device)
predictor = LandmarkPredictor(
    load_fan(snakemake.input.weights),
    device=device,
    flip=snakemake.params.flip,
    decoder=snakemake.params.decoder,
    batch_size=cfg["batch_size"],
    dtype=torch.float16 if device == "cuda" else None,
    channels_last=device == "cuda",
)
tracker = Tracker(
    predictor,
    make_detector(cfg, device),
    TrackerSettings(cfg["batch_size"], cfg["min_confidence"], cfg["max_jump"], cfg["margin"]),
)
start = time.perf_counter()
track = tracker.track(open_bag(snakemake.input.bag, snakemake.params.backend).frames("color"))
elapsed = time.perf_counter() - start
log.info(
    "%d frames in %.1f s (%.1f frames/s): %s",
    len(track),
    elapsed,
    len(track) / elapsed,
    track["status"].value_counts().to_dict(),
)
write_table(track, snakemake.output.raw)
write_table(median_smooth(track, cfg["median_window"]), snakemake.output.smoothed)

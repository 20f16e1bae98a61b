"""Rule qc_participant: a labelled QC video and a contact sheet of each tracked recording of one participant."""

import time

import _bootstrap  # noqa: F401

from neuroface.io import atomic_dir, setup_logging
from neuroface.qc.render import render_recording
from neuroface.realsense.bag import open_bag
from neuroface.tracks import read_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
inp, params = snakemake.input, snakemake.params
start = time.perf_counter()
frames = 0
tracks_of = {model: read_recordings(getattr(inp, model), params.recordings) for model in params.models}
with atomic_dir(snakemake.output[0]) as out:
    for i, recording in enumerate(params.recordings):
        tracks = {model: tracks_of[model][recording] for model in params.models}
        counts = render_recording(
            open_bag(inp.bags[i], params.backend).frames("color"),
            tracks,
            recording,
            out / f"{recording}.mp4",
            out / f"{recording}.png",
            video_frames=params.video_frames,
            fps=params.video_fps,
            sheet_frames=params.sheet_frames,
            progress=True,
        )
        frames += counts["frames"]
        log.info(
            "%d/%d %s: %d frames, %d in the video, %d on the sheet",
            i + 1,
            len(params.recordings),
            recording,
            *counts.values(),
        )
elapsed = time.perf_counter() - start
log.info(
    "%d recordings, %d frames read in %.1f s (%.1f frames/s)", len(params.recordings), frames, elapsed, frames / elapsed
)

"""Rule ladder_true2d: R2's 2D, the true 2D landmarks median-filtered as the models' tracks are (one file
per participant; reconstruct_3d takes them to 3D beside the models')."""

import _bootstrap  # noqa: F401
import numpy as np

from neuroface.features.rungs import true2d_smoothed
from neuroface.io import setup_logging, write_table
from neuroface.tracks import stack_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
truth = iter(snakemake.input.truth)
for recordings, out in zip(p.recordings, snakemake.output, strict=True):
    tables = {recording: true2d_smoothed(np.load(next(truth)), p.window_s) for recording in recordings}
    write_table(stack_recordings(tables), out)
    log.info("%s: %d recordings, %d frames", out, len(tables), sum(map(len, tables.values())))

"""Rule ladder_true2d: R2, the true 2D landmarks through the models' path, per classified recording
(one file per participant)."""

import _bootstrap  # noqa: F401
import numpy as np
from tqdm import tqdm

from neuroface.features.rungs import true2d_track
from neuroface.io import setup_logging, write_table
from neuroface.tracks import V_COLUMNS, stack_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
inputs = iter(zip(snakemake.input.bags, snakemake.input.truth, strict=True))
with tqdm(total=len(snakemake.input.bags), desc="true2d", mininterval=10) as progress:
    for recordings, out in zip(p.recordings, snakemake.output, strict=True):
        tables = {}
        for recording, (bag, truth) in zip(recordings, inputs, strict=False):
            tables[recording] = true2d_track(bag, np.load(truth), p.window_s, p.radius, p.tolerance_ms, p.backend)
            log.info(
                "%s: %d frames; landmarks with valid depth %.3f",
                recording,
                len(tables[recording]),
                tables[recording][V_COLUMNS].to_numpy().mean(),
            )
            progress.update()
        write_table(stack_recordings(tables), out)

"""Rule ladder_true2d: R2, the true 2D landmarks through the models' path, per classified recording."""

import _bootstrap  # noqa: F401
import numpy as np
from tqdm import tqdm

from neuroface.features.rungs import true2d_track
from neuroface.io import setup_logging, write_table
from neuroface.tracks import V_COLUMNS

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
p = snakemake.params
items = list(zip(snakemake.input.bags, snakemake.input.truth, snakemake.output, strict=True))
for bag, truth, out in tqdm(items, desc="true2d", mininterval=10):
    table = true2d_track(bag, np.load(truth), p.window_s, p.radius, p.tolerance_ms, p.backend)
    log.info("%s: %d frames; landmarks with valid depth %.3f", out, len(table), table[V_COLUMNS].to_numpy().mean())
    write_table(table, out)

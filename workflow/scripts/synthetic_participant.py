"""Rule synthetic_participant."""

import time
from pathlib import Path

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import synthesize_participant

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
start = time.perf_counter()
out_dir = Path(snakemake.output.bags[0]).parents[1]
frames = synthesize_participant(plan_cohort(snakemake.params.synthetic), snakemake.wildcards.participant, out_dir)
elapsed = time.perf_counter() - start
log.info("%d frames in %.1f s: %.1f frames/s", frames, elapsed, frames / elapsed)

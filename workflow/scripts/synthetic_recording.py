"""Rule synthetic_recording."""

import time

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.synth.cohort import plan_cohort
from neuroface.synth.generate import synthesize_recording

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
start = time.perf_counter()
stats = synthesize_recording(
    plan_cohort(snakemake.params.synthetic), snakemake.wildcards.recording, snakemake.output.bag, snakemake.output.truth
)
elapsed = time.perf_counter() - start
log.info("%d frames in %.1f s: %.1f frames/s", stats["frames"], elapsed, stats["frames"] / elapsed)

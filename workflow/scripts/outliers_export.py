"""Rule export_outliers."""

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.tracking.outliers import export_outliers
from neuroface.tracks import read_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
recording = snakemake.wildcards.recording
export_outliers(
    recording,
    snakemake.input.bag,
    read_recordings(snakemake.input.pretrained, [recording])[recording],
    read_recordings(snakemake.input.finetuned, [recording])[recording],
    snakemake.output[0],
    snakemake.params.frames,
    snakemake.params.weights,
    snakemake.params.backend,
)

"""Rule annotated_frames."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.pipeline import extract_annotated_frames
from neuroface.io import setup_logging

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
annotations = pd.read_parquet(snakemake.input.annotations)
count = extract_annotated_frames(snakemake.params.recordings, annotations, snakemake.output[0])
log.info("%d annotated frames written to %s", count, snakemake.output[0])

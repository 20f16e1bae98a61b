"""Rule annotated_frames: from provided frame images (NeuroFace style) or decoded from the bags."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs.annotated import copy_annotated_frames, extract_annotated_frames
from neuroface.io import setup_logging

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
annotations = pd.read_parquet(snakemake.input.annotations)
recordings = snakemake.params.recordings
if snakemake.params.frame_images:
    count = copy_annotated_frames(list(recordings), annotations, snakemake.params.frame_images, snakemake.output[0])
else:
    count = extract_annotated_frames(recordings, annotations, snakemake.output[0])
log.info("%d annotated frames written to %s", count, snakemake.output[0])

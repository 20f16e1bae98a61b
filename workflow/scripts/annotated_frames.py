"""Rule annotated_frames: from provided frame images (NeuroFace style) or decoded from the bags."""

from pathlib import Path

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs.annotated import copy_annotated_frames, extract_annotated_frames
from neuroface.io import setup_logging

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
annotations = pd.read_parquet(snakemake.input.annotations)
recordings = snakemake.params.recordings
if snakemake.params.frame_images:
    # corrected outlier frames (outliers.relabelled) have no provided image: decoded from the bags
    relabelled = snakemake.params.relabelled
    decode = annotations["source"].map(lambda source: Path(source).parent == Path(relabelled)) if relabelled else None
    count = copy_annotated_frames(
        list(recordings), annotations, snakemake.params.frame_images, snakemake.output[0], recordings, decode
    )
else:
    count = extract_annotated_frames(recordings, annotations, snakemake.output[0])
log.info("%d annotated frames written to %s", count, snakemake.output[0])

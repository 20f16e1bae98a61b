"""Rule validate_inputs: segmentation and annotations, checked against every recording's frames."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.inputs import tables
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
inp = snakemake.input
participants = tables.read_participants(inp.participants)
recordings = tables.read_recordings(inp.recordings, participants)
frames = pd.concat([pd.read_csv(f, sep="\t") for f in inp.frames], ignore_index=True)
n_frames = frames.groupby("recording_id").size().to_dict()
segmentation = tables.read_segmentation(inp.segmentation, recordings)
tables.check_segments_within(segmentation, n_frames, inp.segmentation)
annotations = tables.read_annotation_dir(inp.annotations, recordings)
for recording_id, part in annotations.groupby("recording_id"):
    tables.check_annotations_within(part, n_frames[recording_id], part["source"].iloc[0])
log.info(
    "%d repetitions in %d recordings; %d annotated frames in %d recordings",
    len(segmentation),
    segmentation["recording_id"].nunique(),
    len(annotations),
    annotations["recording_id"].nunique(),
)
write_table(segmentation, snakemake.output.segmentation)
write_table(annotations, snakemake.output.annotations)

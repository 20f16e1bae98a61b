"""Rule tracking_accuracy: tracked and reconstructed landmarks against the synthetic truth."""

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd

from neuroface.io import setup_logging, write_table
from neuroface.tracking.accuracy import accuracy_summary, track_errors
from neuroface.tracks import points, points3d, read_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
inp, params = snakemake.input, snakemake.params
recordings = pd.read_csv(inp.recordings, sep="\t").merge(pd.read_csv(inp.participants, sep="\t"), on="participant_id")
group_of = dict(zip(recordings["recording_id"], recordings["group"], strict=True))
truth = dict(zip(params.recording_ids, inp.truth, strict=True))
rows = []
for (model, _, recordings), track_file, file3d in zip(params.files, inp.tracks, inp.points3d, strict=True):
    tracks, tables3d = read_recordings(track_file, recordings), read_recordings(file3d, recordings)
    for recording in recordings:
        t = np.load(truth[recording])
        errors = track_errors(
            points(tracks[recording]),
            t["landmarks_2d"].astype(float),
            points3d(tables3d[recording]),
            t["landmarks_3d"].astype(float),
            params.canthi,
        )
        rows.append({"model": model, "recording_id": recording, "group": group_of[recording], **errors})
per_recording = pd.DataFrame(rows)
summary = accuracy_summary(per_recording)
log.info("\n%s", summary.to_string(index=False))
write_table(per_recording, snakemake.output.per_recording)
write_table(summary, snakemake.output.summary)

"""Rule tracking_accuracy: tracked and reconstructed landmarks against the synthetic truth."""

from pathlib import Path

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd

from neuroface.accuracy import track_errors
from neuroface.io import setup_logging, write_table
from neuroface.tracks import points, points3d

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
inp = snakemake.input
recordings = pd.read_csv(inp.recordings, sep="\t").merge(pd.read_csv(inp.participants, sep="\t"), on="participant_id")
group_of = dict(zip(recordings["recording_id"], recordings["group"], strict=True))
truth = {Path(p).stem: np.load(p) for p in inp.truth}
rows = []
for track_file, file3d in zip(inp.tracks, inp.points3d, strict=True):
    model, recording = Path(file3d).parent.name, Path(file3d).stem
    t = truth[recording]
    errors = track_errors(
        points(pd.read_parquet(track_file)),
        t["landmarks_2d"].astype(float),
        points3d(pd.read_parquet(file3d)),
        t["landmarks_3d"].astype(float),
        snakemake.params.canthi,
    )
    rows.append({"model": model, "recording_id": recording, "group": group_of[recording], **errors})
per_recording = pd.DataFrame(rows)
weighted = per_recording.assign(lost=per_recording["lost_share"] * per_recording["frames"])
summary = (
    weighted.groupby(["model", "group"])
    .agg(
        recordings=("recording_id", "size"),
        frames=("frames", "sum"),
        lost=("lost", "sum"),
        nrmse_mean=("nrmse_mean", "mean"),
        error3d_median_mm=("error3d_median_mm", "median"),
        error3d_p90_mm=("error3d_p90_mm", "median"),
        no_depth_share=("no_depth_share", "mean"),
    )
    .reset_index()
)
summary["lost_share"] = summary.pop("lost") / summary["frames"]
log.info("\n%s", summary.to_string(index=False))
write_table(per_recording, snakemake.output.per_recording)
write_table(summary, snakemake.output.summary)

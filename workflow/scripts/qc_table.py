"""Rule qc_table: per-recording QC metrics of both models, flagged against the config qc limits."""

import _bootstrap  # noqa: F401
import pandas as pd
from tqdm import tqdm

from neuroface.io import atomic_path, setup_logging, write_table
from neuroface.qc.metrics import qc_html, qc_row, track_metrics
from neuroface.tracks import V_COLUMNS, read_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
inp, params = snakemake.input, snakemake.params
limits = params.limits
metrics: dict[str, dict[str, dict[str, float]]] = {}
files = list(zip(params.files, inp.tracks, inp.points3d, strict=True))
for (model, _, recordings), track_file, file3d in tqdm(files, desc="qc metrics", unit="participant", mininterval=5):
    tracks = read_recordings(track_file, recordings, columns=["position", "status"])
    valid = read_recordings(file3d, recordings, columns=["position", *V_COLUMNS])
    for recording in recordings:
        metrics.setdefault(recording, {})[model] = track_metrics(tracks[recording], valid[recording])

info = pd.DataFrame(params.recordings).set_index("recording_id")
rows = [
    {
        "participant_id": info.at[recording, "participant_id"],
        "task": info.at[recording, "task"],
        **qc_row(recording, by_model, limits),
    }
    for recording, by_model in sorted(metrics.items())
]
table = pd.DataFrame(rows)
table = table[["recording_id", *[c for c in table.columns if c != "recording_id"]]]
for _, row in table[table["flagged"]].iterrows():
    log.warning("%s flagged: %s", row["recording_id"], row["reasons"])
log.info("%d of %d recordings flagged", int(table["flagged"].sum()), len(table))
write_table(table, snakemake.output.tsv)
with atomic_path(snakemake.output.html) as tmp:
    tmp.write_text(qc_html(table, limits))

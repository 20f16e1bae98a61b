"""Rule features: per-repetition feature tables of one landmark source, per task and feature set."""

from pathlib import Path

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd
from tqdm import tqdm

from neuroface.io import setup_logging, write_table
from neuroface.repetitions import GapPolicy, recording_features, track_from_table, track_from_truth

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
params = snakemake.params
info = pd.DataFrame(params.recordings).set_index("recording_id")
segmentation = pd.read_csv(snakemake.input.segmentation, sep="\t")
names = list(dict.fromkeys(n for s in params.sets.values() for n in s))
policy = GapPolicy(params.max_gap_frames, params.max_missing_fraction)

rows, dropped = [], []
for path in tqdm(snakemake.input.tracks, desc=f"features {params.source}", unit="recording"):
    recording = Path(path).name.split(".")[0]
    track = track_from_truth(np.load(path)) if path.endswith(".npz") else track_from_table(pd.read_parquet(path))
    segments = segmentation[segmentation["recording_id"] == recording]
    kept, lost = recording_features(*track, segments, names, policy)
    keys = {
        "participant_id": info.at[recording, "participant_id"],
        "group": info.at[recording, "group"],
        "task": info.at[recording, "task"],
        "recording_id": recording,
    }
    rows += [{**keys, **r} for r in kept]
    dropped += [{**keys, **d} for d in lost]
    for d in lost:
        log.warning("%s repetition %d dropped: %s", recording, d["repetition"], d["reason"])

table = pd.DataFrame(rows)
columns = ["participant_id", "group", "task", "recording_id", "repetition", "frames", "interpolated"]
for path, (task, feature_set) in zip(snakemake.output.tables, params.feature_keys, strict=True):
    wanted = columns + list(params.sets[feature_set])
    sub = table[table["task"] == task] if len(table) else pd.DataFrame(columns=wanted)
    write_table(sub[wanted], path)
    log.info("%s: %d repetitions of %d participants", path, len(sub), sub["participant_id"].nunique())
write_table(
    pd.DataFrame(dropped, columns=[*columns[:5], "frames", "reason"]),
    snakemake.output.dropped,
)
log.info("%d repetitions measured, %d dropped", len(rows), len(dropped))

"""Rule features: per-repetition feature tables of one landmark source, per task and feature set."""

from functools import lru_cache, partial

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd
from tqdm import tqdm

from neuroface.features.extract import feature_rows, split_tables
from neuroface.features.repetitions import GapPolicy, track_from_table, track_from_truth
from neuroface.io import setup_logging, write_table
from neuroface.tracks import read_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
params = snakemake.params


# the file of each classified recording (the truth's, or its participant's: the rule's inputs)
paths = list(zip(params.recording_ids, params.track_files, strict=True))
# a participant's file -> the classified recordings read from it
wanted: dict[str, list[str]] = {}
for recording, path in paths:
    wanted.setdefault(path, []).append(recording)


@lru_cache(maxsize=4)
def participant_tables(path: str) -> dict[str, pd.DataFrame]:
    """A participant's file of 3D landmarks, read once for all its classified recordings."""
    return read_recordings(path, wanted[path])


def load(path: str, recording: str):
    if path.endswith(".npz"):  # the truth: one file per recording
        return track_from_truth(np.load(path))
    return track_from_table(participant_tables(path)[recording])


table, dropped = feature_rows(
    ((recording, partial(load, path, recording)) for recording, path in tqdm(paths, desc=f"features {params.source}")),
    pd.DataFrame(params.recordings),
    pd.read_csv(snakemake.input.segmentation, sep="\t"),
    list(dict.fromkeys(n for s in params.sets.values() for n in s)),
    GapPolicy(params.max_gap_frames, params.max_missing_fraction),
)
for path, sub in zip(snakemake.output.tables, split_tables(table, params.feature_keys, params.sets), strict=True):
    write_table(sub, path)
    log.info("%s: %d repetitions of %d participants", path, len(sub), sub["participant_id"].nunique())
write_table(dropped, snakemake.output.dropped)
log.info("%d repetitions measured, %d dropped", len(table), len(dropped))

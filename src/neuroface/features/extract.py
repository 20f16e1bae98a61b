"""The ``features`` rule's computation: per-repetition feature tables of one landmark source.

Every classified recording's track is cut into repetitions by the segmentation
(:func:`neuroface.features.repetitions.recording_features`); the rows carry the recording's
participant, group and task, and are split into one table per (task, feature set).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from neuroface.features.repetitions import GapPolicy, recording_features

__all__ = ["DROPPED_COLUMNS", "KEY_COLUMNS", "Track", "feature_rows", "split_tables"]

#: A recording's track: times ``(T,)`` in ms, points ``(T, 68, 3)`` in mm, validity ``(T, 68)``.
Track = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Leading columns of every feature table.
KEY_COLUMNS = ("participant_id", "group", "task", "recording_id", "repetition", "frames", "interpolated")
#: Columns of the table of dropped repetitions.
DROPPED_COLUMNS = ("participant_id", "group", "task", "recording_id", "repetition", "frames", "reason")

log = logging.getLogger(__name__)


def feature_rows(
    tracks: Iterable[tuple[str, Callable[[], Track]]],
    recordings: pd.DataFrame,
    segmentation: pd.DataFrame,
    names: Sequence[str],
    policy: GapPolicy,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows of every repetition, and the dropped repetitions with their reasons.

    ``tracks``: (recording id, loader of its track) pairs, loaded one at a time; ``recordings``:
    recording_id, participant_id, group, task of each; ``segmentation``: recording_id,
    repetition, start, end (1-based positions in the colour stream).
    """
    info = recordings.set_index("recording_id")
    rows, dropped = [], []
    for recording, load in tracks:
        segments = segmentation[segmentation["recording_id"] == recording]
        kept, lost = recording_features(*load(), segments, list(names), policy)
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
    return pd.DataFrame(rows), pd.DataFrame(dropped, columns=list(DROPPED_COLUMNS))


def split_tables(
    table: pd.DataFrame, keys: Sequence[tuple[str, str]], sets: Mapping[str, Sequence[str]]
) -> list[pd.DataFrame]:
    """One table per (task, feature set) of ``keys``: the key columns and that set's features."""
    out = []
    for task, feature_set in keys:
        wanted = [*KEY_COLUMNS, *sets[feature_set]]
        sub = table[table["task"] == task] if len(table) else pd.DataFrame(columns=wanted)
        out.append(sub[wanted])
    return out

"""Which recordings enter classification, and a count of everything left out and why.

The filters apply in order (a recording is counted under the first reason that excludes it):
participants without consent to share, recordings flagged as not facing the camera, tasks
outside the classified ones; then, per landmark source, repetitions dropped for missing frames.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["CLASSIFICATION_TASKS", "classification_mask", "exclusion_table", "reason_group"]

CLASSIFICATION_TASKS = ("BBP", "OPEN", "SPREAD")

#: Drop reasons of :func:`neuroface.features.repetitions.fill_gaps` that carry a repetition's own
#: counts, and the group label (with the limit, a config value) they are counted under.
_COUNTED_REASONS = (
    (re.compile(r"^\d+ of \d+ frames missing \(> (?P<limit>[\d.]+%)\)$"), "more than {limit} of the frames missing"),
    (re.compile(r"^a gap of \d+ frames \(> (?P<limit>\d+)\)$"), "a gap longer than {limit} frames"),
)


def reason_group(reason: str) -> str:
    """The exclusion table's label for a repetition's drop ``reason``: the repetition's own counts
    left out, every limit kept as its number (``"9 of 20 frames missing (> 20%)"`` -> ``"more than
    20% of the frames missing"``); a reason without per-repetition counts is its own label."""
    for pattern, label in _COUNTED_REASONS:
        if m := pattern.match(reason):
            return label.format(**m.groupdict())
    return reason


def classification_mask(
    participants: pd.DataFrame, recordings: pd.DataFrame, tasks: Iterable[str] = CLASSIFICATION_TASKS
) -> pd.Series:
    """Boolean per recording row: consenting participant, facing the camera, a classified task."""
    consent = recordings["participant_id"].map(participants.set_index("participant_id")["consent_share"])
    return consent.astype(bool) & recordings["faces_camera"].astype(bool) & recordings["task"].isin(list(tasks))


def exclusion_table(
    participants: pd.DataFrame,
    recordings: pd.DataFrame,
    segmentation: pd.DataFrame,
    dropped: Mapping[str, pd.DataFrame],
    tasks: Iterable[str] = CLASSIFICATION_TASKS,
) -> pd.DataFrame:
    """Rows (stage, reason, source, participants, recordings, repetitions): what was excluded.

    ``segmentation`` has one row per repetition (recording_id, repetition); ``dropped`` maps a
    landmark source (pretrained, finetuned, truth) to its dropped repetitions (recording_id,
    repetition, reason). The first row counts everything; the last rows, per source, what is left.
    """
    tasks = list(tasks)
    reps = segmentation.groupby("recording_id").size()
    rec = recordings.assign(repetitions=recordings["recording_id"].map(reps).fillna(0).astype(int))
    consent = rec["participant_id"].map(participants.set_index("participant_id")["consent_share"]).astype(bool)
    steps = [
        ("no consent to share", ~consent),
        ("not facing the camera", consent & ~rec["faces_camera"].astype(bool)),
        (f"task not in {'/'.join(tasks)}", consent & rec["faces_camera"].astype(bool) & ~rec["task"].isin(tasks)),
    ]

    def row(stage: str, reason: str, source: str, sub: pd.DataFrame, repetitions: int) -> dict:
        return {
            "stage": stage,
            "reason": reason,
            "source": source,
            "participants": sub["participant_id"].nunique(),
            "recordings": len(sub),
            "repetitions": repetitions,
        }

    rows = [row("cohort", "all recordings", "all", rec, int(rec["repetitions"].sum()))]
    for reason, mask in steps:
        rows.append(row("recording", reason, "all", rec[mask], int(rec.loc[mask, "repetitions"].sum())))
    kept = rec[classification_mask(participants, recordings, tasks)]
    for source, table in dropped.items():
        lost = table[table["recording_id"].isin(kept["recording_id"])]
        reasons = lost["reason"].map(reason_group)
        for reason, group in lost.groupby(reasons):
            sub = kept[kept["recording_id"].isin(group["recording_id"])]
            rows.append(row("repetition", f"dropped: {reason}", source, sub, len(group)))
        rows.append(
            row("classified", "repetitions classified", source, kept, int(kept["repetitions"].sum()) - len(lost))
        )
    return pd.DataFrame(rows)

"""The manually annotated frames: the seeded train/test split of participants, and the frame
images (NeuroFace's ``<video>.avi_<frame>.jpg``) taken from the recordings or from provided files.

Torch-free, so the rules that only move frames and tables do not load the CNN stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from neuroface.errors import InputError
from neuroface.inputs import tables
from neuroface.io import atomic_dir
from neuroface.realsense.bag import open_bag


def frame_image_name(recording_id: str, frame: int) -> str:
    """NeuroFace's name for an annotated frame image: ``<video>.avi_<frame>.jpg``."""
    return f"{recording_id}.avi_{frame}.jpg"


def _decode_frames(bags: Mapping[str, str], annotations: pd.DataFrame, out_dir: Path) -> int:
    """Write the annotated colour frames of some recordings, decoded from their bags, into ``out_dir``."""
    count = 0
    for rid, bag in bags.items():
        wanted = set(annotations.loc[annotations["recording_id"] == rid, "frame"].astype(int))
        if not wanted:
            continue
        found = set()
        for position, frame in enumerate(open_bag(bag).frames("color"), start=1):
            if position in wanted:
                bgr = cv2.cvtColor(frame.data, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(out_dir / frame_image_name(rid, position)), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
                found.add(position)
        if wanted - found:
            raise InputError(bag, f"annotated frames {sorted(wanted - found)[:5]} not in the recording")
        count += len(found)
    return count


def extract_annotated_frames(bags: Mapping[str, str], annotations: pd.DataFrame, out_dir: str | Path) -> int:
    """Write the annotated colour frames of some recordings as NeuroFace-style JPEGs
    (``<recording>.avi_<frame>.jpg``, quality 95); frames are 1-based colour-stream positions."""
    with atomic_dir(out_dir) as tmp:
        return _decode_frames(bags, annotations, tmp)


def copy_annotated_frames(
    recording_ids: list[str],
    annotations: pd.DataFrame,
    images_dir: str | Path,
    out_dir: str | Path,
    bags: Mapping[str, str] | None = None,
    decode: pd.Series | None = None,
) -> int:
    """Collect provided frame images (NeuroFace's ``Frames/<video>.avi_<frame>.jpg``, the video
    name with or without ``_color``) of some recordings under this project's names. Rows where
    the boolean ``decode`` is true (corrected outlier frames, which have no provided image) are
    decoded from ``bags`` instead."""
    images_dir = Path(images_dir)
    decode = pd.Series(False, index=annotations.index) if decode is None else decode
    count = 0
    with atomic_dir(out_dir) as tmp:
        if decode.any():
            count += _decode_frames(bags or {}, annotations[decode], tmp)
        provided = annotations[~decode]
        for rid in recording_ids:
            for frame in provided.loc[provided["recording_id"] == rid, "frame"].astype(int):
                candidates = [images_dir / frame_image_name(name, frame) for name in (rid, f"{rid}_color")]
                found = next((c for c in candidates if c.is_file()), None)
                if found is None:
                    raise InputError(
                        candidates[0], f"annotated frame image not found (also tried {candidates[1].name})"
                    )
                shutil.copyfile(found, tmp / frame_image_name(rid, frame))
                count += 1
    return count


def read_relabelled(directory: str | Path, owners: Mapping[str, str], n_frames: Mapping[str, int]) -> pd.DataFrame:
    """Corrected annotation files (``<recording>.txt`` in ``directory``, as the outliers target
    exports them), read and checked exactly as the cohort's ``Landmarks_gt``: same reader, errors
    naming file and line, frames within the recording. ``owners``: recording id -> participant id."""
    recordings = pd.DataFrame({"recording_id": list(owners), "participant_id": list(owners.values())})
    relabelled = tables.read_annotation_dir(directory, recordings)
    for recording_id, part in relabelled.groupby("recording_id"):
        tables.check_annotations_within(part, n_frames[recording_id], part["source"].iloc[0])
    return relabelled


def merge_relabelled(annotations: pd.DataFrame, relabelled: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The annotations with corrected (relabelled) frames added; a frame in both takes the
    corrected landmarks. Returns (merged, sorted by recording and frame; the original rows that
    were replaced)."""
    key = ["recording_id", "frame"]
    corrected = pd.MultiIndex.from_frame(relabelled[key])
    replaced = pd.MultiIndex.from_frame(annotations[key]).isin(corrected)
    merged = pd.concat([annotations[~replaced], relabelled], ignore_index=True)
    return merged.sort_values(key, kind="stable", ignore_index=True), annotations[replaced]


def split_problems(groups: Mapping[str, str], annotated: Collection[str], per_group: int) -> list[str]:
    """Why the fine-tuning split cannot be made, one sentence per group (empty when it can).

    ``groups`` maps every participant id to its group; ``annotated`` holds the participants with
    annotated frames. Each group needs ``per_group`` of them to train and at least one to test.
    """
    counts: dict[str, int] = dict.fromkeys(sorted(set(groups.values())), 0)
    for pid in set(annotated):
        if pid in groups:
            counts[groups[pid]] += 1
    return [
        f"group {group} has {n} participants with annotated frames: fan.train_participants_per_group "
        f"is {per_group}, which needs at least {per_group + 1} ({per_group} to train, 1 to test)"
        for group, n in counts.items()
        if n <= per_group
    ]


def split_participants(
    participants: pd.DataFrame, per_group: int, seed: int, annotated: Collection[str] | None = None
) -> pd.DataFrame:
    """Seeded choice of ``per_group`` training participants per group; the rest test the model.

    Only participants in ``annotated`` (those with annotated frames; default: all) take part:
    one without annotations could neither train nor test the model.
    """
    if annotated is not None:
        participants = participants[participants["participant_id"].isin(set(annotated))]
    problems = split_problems(
        dict(zip(participants["participant_id"], participants["group"], strict=True)),
        participants["participant_id"],
        per_group,
    )
    if problems:
        raise ValueError("; ".join(problems))
    rng = np.random.default_rng(seed)
    rows = []
    for group, part in participants.sort_values("participant_id").groupby("group", sort=True):
        ids = part["participant_id"].to_numpy()
        train_ids = set(rng.choice(ids, size=per_group, replace=False))
        rows += [(pid, group, "train" if pid in train_ids else "test") for pid in ids]
    return pd.DataFrame(rows, columns=["participant_id", "group", "set"])

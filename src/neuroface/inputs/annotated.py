"""The manually annotated frames: the seeded train/test split of participants, the cross-fitting
folds, the fine-tuning data ablation's training subsets, and the frame images (NeuroFace's
``<video>.avi_<frame>.jpg``) taken from the recordings or from provided files.

Torch-free, so the rules that only move frames and tables do not load the CNN stack.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Collection, Mapping, Sequence
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


def crossfit_problems(groups: Mapping[str, str], annotated: Collection[str], folds: int) -> list[str]:
    """Why ``folds`` cross-fitting folds cannot be made, one sentence per reason (empty when they can).

    Every fold must hold a participant of every group (the folds are stratified), and every fold's model
    needs annotated frames from the other folds to train on."""
    if folds == 0:
        return []
    if folds < 2:
        return [f"fan.crossfit.folds is {folds}: 0 turns cross-fitting off, otherwise at least 2 folds"]
    problems = []
    for group in sorted(set(groups.values())):
        n = sum(1 for g in groups.values() if g == group)
        if n < folds:
            problems.append(f"group {group} has {n} participants, fewer than fan.crossfit.folds = {folds}")
    if len(set(annotated) & set(groups)) < 2:
        problems.append("cross-fitting needs annotated frames from at least 2 participants")
    return problems


def crossfit_folds(participants: pd.DataFrame, folds: int, seed: int) -> pd.DataFrame:
    """Seeded assignment of every participant to one of ``folds`` folds, stratified by group.

    Within each group (sorted by id, then shuffled with ``seed``), participants are dealt to the folds
    in turn, continuing where the previous group stopped, so that every fold gets ``floor`` or ``ceil``
    of each group's share and the folds' sizes differ by at most one overall. Fold ``k``'s model is
    fine-tuned on the annotated frames of the participants outside fold ``k`` and tracks only fold
    ``k``'s recordings, so no participant is tracked by a model that saw its face. Returns columns
    ``participant_id, group, fold`` (folds numbered from 0), sorted by participant id.
    """
    groups = dict(zip(participants["participant_id"], participants["group"], strict=True))
    if problems := crossfit_problems(groups, groups, folds):
        raise ValueError("; ".join(problems))
    rng = np.random.default_rng([seed, folds])
    rows, turn = [], 0
    for group, part in participants.sort_values("participant_id").groupby("group", sort=True):
        for pid in rng.permutation(part["participant_id"].to_numpy()):
            rows.append((pid, group, turn % folds))
            turn += 1
    return pd.DataFrame(rows, columns=["participant_id", "group", "fold"]).sort_values(
        "participant_id", ignore_index=True
    )


def composition_arm(groups: Sequence[str]) -> str:
    """The ablation arm's name for training data from ``groups``: ``mix-HC``, ``mix-PS-ALS``..."""
    return "mix-" + "-".join(groups)


def curve_arm(per_group: int) -> str:
    """The ablation arm's name for the learning curve's point with ``per_group`` participants per group."""
    return f"n-{per_group:02d}"


def ablation_subsets(
    annotations: pd.DataFrame,
    split: pd.DataFrame,
    compositions: Sequence[Sequence[str]],
    participants_per_group: Sequence[int],
    seed: int,
) -> pd.DataFrame:
    """The fine-tuning data ablation's training sets, drawn from the split's training participants only
    (its test participants evaluate every arm).

    * **Composition arms** (``mix-<groups>``): the same number of images ``N`` in every arm, an equal
      share ``N / k`` from each of the arm's ``k`` groups, drawn (seeded, without replacement) from all
      of that group's training participants' frames. ``N`` is the largest count every arm can draw
      equally from each of its groups, rounded down to a multiple of every arm's ``k``.
    * **Learning curve** (``n-<m>``): every annotated frame of the first ``m`` training participants
      of each group, in a seeded order, so that the sets are nested (``n-01`` within ``n-02``...).

    Returns rows ``arm, kind (composition|curve), participant_id, group, recording_id, frame``.
    """
    train = split[split["set"] == "train"]
    group_of = dict(zip(train["participant_id"], train["group"], strict=True))
    pool = annotations[annotations["participant_id"].isin(group_of)].assign(
        group=lambda t: t["participant_id"].map(group_of)
    )
    pool = pool.sort_values(["participant_id", "recording_id", "frame"], ignore_index=True)
    columns = ["participant_id", "group", "recording_id", "frame"]
    per_group_images = pool.groupby("group").size().to_dict()
    per_group_people = train.groupby("group").size().to_dict()
    problems = [
        f"composition {'+'.join(c)}: no training participant of group {g}"
        for c in compositions
        for g in c
        if g not in per_group_images
    ]
    problems += [
        f"learning curve: {m} participants per group, but group {g} has {n} training participants"
        for m in participants_per_group
        for g, n in per_group_people.items()
        if m > n
    ]
    if problems:
        raise ValueError("; ".join(problems))
    parts = []
    if compositions:
        multiple = math.lcm(*(len(c) for c in compositions))
        n = min(len(c) * min(per_group_images[g] for g in c) for c in compositions) // multiple * multiple
        for c in compositions:
            for g in c:
                rng = np.random.default_rng([seed, *map(ord, composition_arm(c)), *map(ord, g)])
                rows = pool[pool["group"] == g]
                take = np.sort(rng.choice(len(rows), size=n // len(c), replace=False))
                parts.append(rows.iloc[take][columns].assign(arm=composition_arm(c), kind="composition"))
    order = {}
    for g, ids in train.sort_values("participant_id").groupby("group", sort=True)["participant_id"]:
        order[g] = list(np.random.default_rng([seed, *map(ord, g)]).permutation(ids.to_numpy()))
    for m in participants_per_group:
        chosen = {pid for ids in order.values() for pid in ids[:m]}
        rows = pool[pool["participant_id"].isin(chosen)]
        parts.append(rows[columns].assign(arm=curve_arm(m), kind="curve"))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["arm", "kind", *columns])
    return out[["arm", "kind", *columns]]


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

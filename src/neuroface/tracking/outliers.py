"""Frames to relabel: where a recording's tracking is least trustworthy (DeepLabCut's "extract
outlier frames, refine, retrain" loop, for FAN).

Three criteria per tracked frame :math:`t` of a recording, from the fine-tuned model's landmarks
:math:`F_t` (68 x 2), their confidences :math:`c_t` and the pre-trained model's landmarks
:math:`P_t`, distances in face sizes :math:`s_t` (the diagonal of the box around :math:`F_t`, as
the tracker's ``max_jump``):

* uncertainty :math:`u_t = 1 - \\tfrac{1}{68}\\sum_j c_{tj}` (peak heatmap values; low = unsure);
* jump :math:`j_t = \\min_{n \\in \\{t-1, t+1\\}} \\operatorname{median}_j \\lVert F_{tj} - F_{nj}
  \\rVert / s_t`, over the neighbours that are tracked: a frame that leaves *both* neighbours is a
  glitch, while a fast but real movement moves away from one neighbour only and scores low;
* disagreement :math:`d_t = \\operatorname{median}_j \\lVert F_{tj} - P_{tj} \\rVert / s_t`
  between the two models (zero where the pre-trained model lost the face).

The criteria have different units and spreads, so each is made a one-sided robust z-score within
the recording, :math:`z = \\max(0, (v - \\operatorname{med} v) / (1.4826\\, \\mathrm{MAD}(v)))`
(the MAD scaled to a normal SD; floored at 1e-3, a thousandth of a face size or of the
confidence range, all three criteria being dimensionless, so that a criterion constant but for one
frame ranks that frame without an unbounded z), and a frame's score is :math:`\\sum_c w_c z_c`
with configured weights :math:`w_c` (0 switches a criterion off). The ``k`` highest-scoring
frames (ties: earlier frame first) are exported with their images and a ``Landmarks_gt`` file
pre-filled with the fine-tuned model's landmarks, to be corrected and fed back through config
``outliers.relabelled``.

Frames the fine-tuned model lost have no landmarks to correct and are never picked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.io import atomic_dir
from neuroface.realsense.bag import open_bag
from neuroface.tracks import C_COLUMNS, points

__all__ = [
    "CRITERIA",
    "export_outliers",
    "frame_criteria",
    "pick_outliers",
    "robust_z",
    "score_frames",
    "write_landmarks_gt",
]

log = logging.getLogger(__name__)

CRITERIA = ("uncertainty", "jump", "disagreement")
_MAD_TO_SD = 1.4826
_MIN_SCALE = 1e-3


def _face_sizes(pts: np.ndarray) -> np.ndarray:
    """Diagonal of the landmark box of each frame ``(T, 68, 2)`` -> ``(T,)``."""
    span = np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)
    return np.hypot(span[:, 0], span[:, 1])


def frame_criteria(pretrained: pd.DataFrame, finetuned: pd.DataFrame) -> pd.DataFrame:
    """The three criteria per frame of one recording (raw tracks of both models, same frames).

    Returns ``position, frame_number, tracked, uncertainty, jump, disagreement``; criteria are NaN
    on frames the fine-tuned model lost (``tracked`` False).
    """
    if not np.array_equal(pretrained["position"].to_numpy(), finetuned["position"].to_numpy()):
        raise ValueError("the two models' tracks do not cover the same frames")
    fine, pre = points(finetuned), points(pretrained)
    tracked = np.isfinite(fine).all(axis=(1, 2))
    size = np.where(tracked, _face_sizes(np.where(tracked[:, None, None], fine, 0.0)), np.nan)
    uncertainty = 1.0 - finetuned[C_COLUMNS].to_numpy(np.float64).mean(axis=1)

    def step(other: np.ndarray) -> np.ndarray:
        return np.median(np.linalg.norm(fine - other, axis=2), axis=1) / size

    previous = np.full_like(fine, np.nan)
    previous[1:] = fine[:-1]
    following = np.full_like(fine, np.nan)
    following[:-1] = fine[1:]
    neighbours = np.stack([step(previous), step(following)])
    jump = np.min(np.where(np.isfinite(neighbours), neighbours, np.inf), axis=0)
    jump[np.isinf(jump)] = 0.0  # no tracked neighbour: no jump to measure
    disagreement = np.nan_to_num(step(pre), nan=0.0)
    out = pd.DataFrame(
        {
            "position": finetuned["position"].to_numpy(),
            "frame_number": finetuned["frame_number"].to_numpy(),
            "tracked": tracked,
            "uncertainty": uncertainty,
            "jump": jump,
            "disagreement": disagreement,
        }
    )
    out.loc[~tracked, list(CRITERIA)] = np.nan
    return out


def robust_z(values: np.ndarray) -> np.ndarray:
    """One-sided robust z-score: ``max(0, (v - median) / max(1.4826 MAD, 1e-3))``, NaN kept."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full_like(values, np.nan)
    centre = np.median(finite)
    scale = max(_MAD_TO_SD * np.median(np.abs(finite - centre)), _MIN_SCALE)
    return np.maximum(0.0, (values - centre) / scale)


def score_frames(criteria: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """``criteria`` with ``z_<criterion>`` columns and the weighted ``score`` (NaN where lost)."""
    out = criteria.copy()
    score = np.zeros(len(out))
    for name in CRITERIA:
        z = robust_z(out[name].to_numpy(np.float64))
        out[f"z_{name}"] = z
        score = score + float(weights.get(name, 0.0)) * np.nan_to_num(z)
    out["score"] = np.where(out["tracked"], score, np.nan)
    return out


def pick_outliers(scores: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` highest-scoring tracked frames (ties: earlier first), by position."""
    ranked = scores[scores["tracked"]].sort_values(["score", "position"], ascending=[False, True], kind="stable")
    return ranked.head(k).sort_values("position")


def write_landmarks_gt(frames: np.ndarray, pts: np.ndarray, path: str | Path, decimals: int = 2) -> None:
    """A NeuroFace ``Landmarks_gt`` file: header ``Frame,x1,y1,...,x68,y68``, one row per frame
    (1-based colour-stream position), coordinates in colour pixels."""
    columns = {"Frame": np.asarray(frames, dtype=np.int64)}
    for j in range(lm.N_LANDMARKS):
        columns[f"x{j + 1}"] = np.round(pts[:, j, 0], decimals)
        columns[f"y{j + 1}"] = np.round(pts[:, j, 1], decimals)
    pd.DataFrame(columns).to_csv(path, index=False)


def export_outliers(
    recording_id: str,
    bag: str | Path,
    pretrained: pd.DataFrame,
    finetuned: pd.DataFrame,
    out_dir: str | Path,
    k: int,
    weights: Mapping[str, float],
    backend: str = "rosbags",
) -> pd.DataFrame:
    """Score one recording's frames, pick the ``k`` least trustworthy and write, into ``out_dir``
    (atomically): ``<recording>.txt`` (``Landmarks_gt``, the fine-tuned model's landmarks),
    ``<recording>.avi_<frame>.png`` (the colour frames, lossless) and ``scores.tsv`` (every
    frame's criteria, z-scores, score and ``picked``). Returns the scores."""
    scores = score_frames(frame_criteria(pretrained, finetuned), weights)
    picked = pick_outliers(scores, k)
    scores["picked"] = scores["position"].isin(picked["position"])
    wanted = set(picked["position"].astype(int))
    rows = finetuned.set_index("position").loc[picked["position"]]
    with atomic_dir(out_dir) as tmp:
        found = set()
        for position, frame in enumerate(open_bag(bag, backend).frames("color"), start=1):
            if position in wanted:
                bgr = cv2.cvtColor(frame.data, cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(tmp / f"{recording_id}.avi_{position}.png"), bgr)
                found.add(position)
        if found != wanted:
            raise ValueError(f"{bag}: frames {sorted(wanted - found)[:5]} not in the recording")
        if len(picked):
            write_landmarks_gt(picked["position"].to_numpy(), points(rows.reset_index()), tmp / f"{recording_id}.txt")
        else:
            log.warning("%s: the fine-tuned model lost every frame; no landmarks to pre-fill", recording_id)
        scores.to_csv(tmp / "scores.tsv", sep="\t", index=False, float_format="%.6g")
    log.info(
        "%s: %d of %d tracked frames exported, scores %s",
        recording_id,
        len(picked),
        int(scores["tracked"].sum()),
        np.round(picked["score"].to_numpy(), 2).tolist(),
    )
    return scores

"""Quality control of the video stage, the numbers: per-recording metrics, flags and the QC table.

Metrics come from a track table (:mod:`neuroface.tracks`) and its 3D reconstruction
(:mod:`neuroface.tracking.reconstruct`); a recording is flagged when a metric of either model exceeds
its ``qc`` config limit.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from neuroface.tracks import DETECTED, LOST, V_COLUMNS

__all__ = [
    "LIMIT_KEYS",
    "flags",
    "qc_html",
    "qc_row",
    "track_metrics",
]

#: QC metric -> the ``qc`` config key holding its upper limit.
LIMIT_KEYS = {
    "lost_fraction": "max_lost_fraction",
    "redetection_fraction": "max_redetection_fraction",
    "depth_missing_fraction": "max_depth_missing_fraction",
}


# --- metrics and flags -----------------------------------------------------------------------


def track_metrics(track: pd.DataFrame, points3d: pd.DataFrame) -> dict[str, float]:
    """QC metrics of one model on one recording.

    ``frames``; ``lost`` and ``lost_fraction`` (of frames); ``redetections``: detector runs that
    found the face again, i.e. frames ``detected`` after the recording's first detection, and
    ``redetection_fraction`` (of frames); ``depth_missing_fraction``: landmarks without valid depth
    (``v`` False, or no 3D row) among the non-lost frames' landmarks (NaN when none).
    """
    n = len(track)
    status = track["status"].to_numpy()
    lost = int((status == LOST).sum())
    redetections = max(int((status == DETECTED).sum()) - 1, 0)
    kept = track.loc[status != LOST, "position"].to_numpy()
    valid = points3d.set_index("position")[V_COLUMNS].reindex(kept).to_numpy(np.float64)
    valid = np.nan_to_num(valid, nan=0.0)
    return {
        "frames": n,
        "lost": lost,
        "lost_fraction": lost / n if n else math.nan,
        "redetections": redetections,
        "redetection_fraction": redetections / n if n else math.nan,
        "depth_missing_fraction": float(1.0 - valid.mean()) if valid.size else math.nan,
    }


def flags(metrics: Mapping[str, Mapping[str, float]], limits: Mapping[str, float]) -> tuple[bool, str]:
    """``(flagged, reasons)``: a model's metric strictly above its limit (``limits`` holds the ``qc``
    config keys of :data:`LIMIT_KEYS`) or a model with no frames; reasons joined by ``"; "``."""
    reasons = []
    for model, values in metrics.items():
        if not values["frames"]:
            reasons.append(f"{model}: no frames")
            continue
        for metric, key in LIMIT_KEYS.items():
            value = values[metric]
            if value > limits[key]:
                reasons.append(f"{model} {metric} {value:.3f} > {limits[key]:g}")
    return bool(reasons), "; ".join(reasons)


def qc_row(
    recording: str, metrics: Mapping[str, Mapping[str, float]], limits: Mapping[str, float]
) -> dict[str, object]:
    """One QC table row: ``recording_id``, ``{model}_{metric}`` for every model, ``flagged``, ``reasons``."""
    row: dict[str, object] = {"recording_id": recording}
    for model, values in metrics.items():
        row.update({f"{model}_{k}": v for k, v in values.items()})
    row["flagged"], row["reasons"] = flags(metrics, limits)
    return row


def qc_html(table: pd.DataFrame, limits: Mapping[str, float]) -> str:
    """A standalone HTML page of the QC table (fractions to 3 decimals), flagged rows highlighted."""
    flagged = int(table["flagged"].sum()) if len(table) else 0
    limit_text = ", ".join(f"{k} {limits[k]:g}" for k in LIMIT_KEYS.values())
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for _, row in table.iterrows():
        cells = []
        for column, value in row.items():
            if isinstance(value, float) and str(column).endswith("_fraction"):
                text = "" if math.isnan(value) else f"{value:.3f}"
            else:
                text = str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        style = ' class="flagged"' if row["flagged"] else ""
        body.append(f"<tr{style}>{''.join(cells)}</tr>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Video QC</title><style>'
        "body{font-family:sans-serif;font-size:12px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        "td:first-child,td:last-child{text-align:left}tr.flagged{background:#fdd}</style></head><body>"
        f"<p>{flagged} of {len(table)} recordings flagged (limits: {html.escape(limit_text)}).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )

"""The paper's colours and labels per landmark source (pre-trained blue, fine-tuned orange, ground
truth grey; cross-fitted green and true 3D black added here), shared by the figures
(:mod:`neuroface.plotting`) and the QC videos (:mod:`neuroface.qc.render`), which draw without
matplotlib and so do not import it."""

from __future__ import annotations

COLORS = {
    "pretrained": "#1f77b4",
    "finetuned": "#ff7f0e",
    "finetuned_cf": "#2ca02c",
    "true2d": "#7f7f7f",
    "true3d": "#000000",
}
LABELS = {
    "pretrained": "Pre-trained",
    "finetuned": "Fine-tuned",
    "finetuned_cf": "Fine-tuned, cross-fitted",
    "true2d": "True 2D (R2 ceiling)",
    "true3d": "True 3D (R1)",
}
GROUP_NAMES = {"HC": "HC", "PS": "PS", "ALS": "ALS"}

__all__ = ["COLORS", "GROUP_NAMES", "LABELS"]

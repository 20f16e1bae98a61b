"""Shared figure style: the paper's colours and labels (:mod:`neuroface.colors`), matplotlib settings
and reproducible saving. The figures themselves live with their stage: Fig. 2 in :mod:`neuroface.fan.figures`,
Figs. 3-4 in :mod:`neuroface.classification.figures`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neuroface.colors import COLORS, GROUP_NAMES, LABELS  # noqa: E402
from neuroface.io import atomic_path  # noqa: E402

plt.rcParams.update(
    {
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.hashsalt": "neuroface",
        "figure.dpi": 100,
    }
)


def save(fig: plt.Figure, pdf: str | Path, png: str | Path) -> None:
    """Write a figure as PDF (vector) and PNG (300 dpi), atomically and reproducibly."""
    for path, kwargs in ((pdf, {"metadata": {"CreationDate": None, "ModDate": None}}), (png, {"dpi": 300})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:], bbox_inches="tight", **kwargs)
    plt.close(fig)


__all__ = ["COLORS", "GROUP_NAMES", "LABELS", "plt", "save"]

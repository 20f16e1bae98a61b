"""Offline face detection for choosing FAN crops, behind one interface (:class:`FaceDetector`).

Two detectors, chosen by config ``tracking.detector`` (:func:`make_detector`):

* :class:`HaarDetector`: OpenCV 4's bundled frontal-face Haar cascade (Viola & Jones 2001). Fast,
  no weights, but it misses turned heads.
* :class:`SFDDetector`: S3FD, the single-shot scale-invariant face detector (Zhang et al. 2017,
  ICCV, "S3FD: Single Shot Scale-invariant Face Detector") that face-alignment uses by default.
  The network (:class:`S3FD`) is written here; its ``state_dict`` has the key names and shapes of
  face-alignment's ``s3fd-619a316812.pth``, which it loads with the same checksum and
  ``weights_only`` rules as 2DFAN-4 (:mod:`neuroface.fan.weights`).

S3FD in brief. A VGG-16 trunk (conv1_1 ... conv5_3, then fc6/fc7 as convolutions) and two extra
blocks give six feature maps with strides :math:`s = 4, 8, \\dots, 128`. At every cell
:math:`(i, j)` of the map with stride :math:`s` sits one square anchor of side :math:`4s`
centred at :math:`(s/2 + j s, s/2 + i s)`. Each map predicts a face/background score (two-way
softmax; on the stride-4 map the background logit is the max of three "max-out" logits, which
suppresses the many small false positives) and a box offset :math:`(t_x, t_y, t_w, t_h)`, decoded
with SSD's variances :math:`(0.1, 0.2)`:

.. math::

    c = a_c + 0.1\\, t_{xy}\\, a_{wh}, \\qquad wh = a_{wh} \\exp(0.2\\, t_{wh}).

The three shallowest maps are L2-normalised per cell and rescaled by learned per-channel weights
(initial 10, 8, 5; Liu et al. 2016, ParseNet). Candidates scoring above 0.05 are kept, greedy
non-maximum suppression at IoU 0.3 removes overlaps (box areas on the inclusive pixel grid,
``(x2 - x1 + 1)(y2 - y1 + 1)``), and faces scoring above 0.5 are returned. The input is the BGR
image minus the per-channel means (104, 117, 123), not rescaled. These conventions are
face-alignment's, so that the boxes, and the FAN crops derived from them, are the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuroface.errors import InputError
from neuroface.fan.weights import SFD_FILE, SFD_URL, load_state_dict, locate_sfd

__all__ = [
    "SFD_FILE",
    "SFD_URL",
    "S3FD",
    "FaceDetector",
    "HaarDetector",
    "SFDDetector",
    "locate_sfd",
    "make_detector",
    "nms",
]


class FaceDetector(ABC):
    """A face detector: ``detector(rgb)`` -> the box ``(4,)`` (x1, y1, x2, y2, colour pixels) of the
    face to track, or ``None`` when no face is found. ``rgb`` is ``(H, W, 3) uint8``."""

    @abstractmethod
    def __call__(self, rgb: np.ndarray) -> np.ndarray | None: ...


@dataclass(frozen=True)
class HaarDetector(FaceDetector):
    """Largest frontal face; ``min_size`` in pixels. Returns boxes (x1, y1, x2, y2) or None."""

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 60
    cascade_file: str = "haarcascade_frontalface_default.xml"

    @cached_property
    def _cascade(self) -> cv2.CascadeClassifier:
        path = cv2.data.haarcascades + self.cascade_file
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise FileNotFoundError(f"OpenCV Haar cascade not found at {path} (opencv-python >= 5 no longer ships it)")
        return cascade

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = self._cascade.detectMultiScale(
            grey, self.scale_factor, self.min_neighbors, minSize=(self.min_size, self.min_size)
        )
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        return np.array([x, y, x + w, y + h], dtype=np.float64)


# --- S3FD ---------------------------------------------------------------------------------------

#: VGG-16 trunk: (block, number of 3x3 convolutions, output channels); 2x2 max-pooling after each.
_VGG_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
#: Detection sources, shallow to deep: (feature name, channels, L2-norm initial scale or None).
_SOURCES = (
    ("conv3_3_norm", 256, 10.0),
    ("conv4_3_norm", 512, 8.0),
    ("conv5_3_norm", 512, 5.0),
    ("fc7", 1024, None),
    ("conv6_2", 512, None),
    ("conv7_2", 256, None),
)
#: Logits of the stride-4 classifier: three background (max-out) and one face.
_MAXOUT_BACKGROUND = 3
BGR_MEAN = (104.0, 117.0, 123.0)
VARIANCES = (0.1, 0.2)
CANDIDATE_THRESHOLD = 0.05
NMS_IOU = 0.3


class _ChannelL2Norm(nn.Module):
    """Each cell's feature vector divided by its L2 norm (+1e-10), times a learned per-channel
    scale (ParseNet)."""

    def __init__(self, channels: int, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10
        return x / norm * self.weight.view(1, -1, 1, 1)


class S3FD(nn.Module):
    """The S3FD network. ``forward(x)`` on ``(N, 3, H, W)`` mean-subtracted BGR returns, for each of
    the six sources, the classification logits ``(N, 2, H/s, W/s)`` (background max-out already
    applied on the first) and box offsets ``(N, 4, H/s, W/s)``: ``[cls1, reg1, ..., cls6, reg6]``.

    Layer names are those of face-alignment's weights file (``conv1_1`` ... ``conv7_2``, ``fc6``,
    ``fc7``, ``conv3_3_norm``, ``<source>_mbox_conf`` / ``_mbox_loc``).
    """

    def __init__(self) -> None:
        super().__init__()
        channels = 3
        self._blocks: list[list[str]] = []
        for block, n, out in _VGG_BLOCKS:
            self._blocks.append([f"conv{block}_{i}" for i in range(1, n + 1)])
            for name in self._blocks[-1]:
                self.add_module(name, nn.Conv2d(channels, out, 3, padding=1))
                channels = out
        self.fc6 = nn.Conv2d(512, 1024, 3, padding=3)  # padding 3: the map grows by 4 cells
        self.fc7 = nn.Conv2d(1024, 1024, 1)
        self.conv6_1 = nn.Conv2d(1024, 256, 1)
        self.conv6_2 = nn.Conv2d(256, 512, 3, stride=2, padding=1)
        self.conv7_1 = nn.Conv2d(512, 128, 1)
        self.conv7_2 = nn.Conv2d(128, 256, 3, stride=2, padding=1)
        for k, (name, ch, scale) in enumerate(_SOURCES):
            if scale is not None:
                self.add_module(name, _ChannelL2Norm(ch, scale))
            n_cls = 2 + (_MAXOUT_BACKGROUND - 1 if k == 0 else 0)
            self.add_module(f"{name}_mbox_conf", nn.Conv2d(ch, n_cls, 3, padding=1))
            self.add_module(f"{name}_mbox_loc", nn.Conv2d(ch, 4, 3, padding=1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        h = x
        for names in self._blocks:
            for name in names:
                h = F.relu(getattr(self, name)(h))
            if hasattr(self, f"{names[-1]}_norm"):  # conv3_3, conv4_3, conv5_3 are sources
                features[f"{names[-1]}_norm"] = getattr(self, f"{names[-1]}_norm")(h)
            h = F.max_pool2d(h, 2, 2)
        h = F.relu(self.fc7(F.relu(self.fc6(h))))
        features["fc7"] = h
        h = F.relu(self.conv6_2(F.relu(self.conv6_1(h))))
        features["conv6_2"] = h
        features["conv7_2"] = F.relu(self.conv7_2(F.relu(self.conv7_1(h))))
        out: list[torch.Tensor] = []
        for k, (name, _, _) in enumerate(_SOURCES):
            cls = getattr(self, f"{name}_mbox_conf")(features[name])
            if k == 0:
                background = cls[:, :_MAXOUT_BACKGROUND].max(dim=1, keepdim=True).values
                cls = torch.cat([background, cls[:, _MAXOUT_BACKGROUND:]], dim=1)
            out += [cls, getattr(self, f"{name}_mbox_loc")(features[name])]
        return out


def nms(boxes: np.ndarray, iou: float = NMS_IOU) -> np.ndarray:
    """Greedy non-maximum suppression of ``(N, 5)`` boxes (x1, y1, x2, y2, score): indices kept,
    best first. Areas and overlaps on the inclusive pixel grid (+1), as face-alignment."""
    x1, y1, x2, y2, score = boxes.T
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(score)[::-1]  # ties: reversed quicksort order, face-alignment's
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        overlap = w * h / (area[best] + area[rest] - w * h)
        order = rest[overlap <= iou]
    return np.array(keep, dtype=np.int64)


def decode_candidates(outputs: list[np.ndarray], threshold: float = CANDIDATE_THRESHOLD) -> np.ndarray:
    """``(M, 5)`` candidate boxes (x1, y1, x2, y2, face probability) of one image from the six
    sources' softmax probabilities ``(2, h, w)`` and offsets ``(4, h, w)``."""
    found = []
    for k in range(len(outputs) // 2):
        prob, loc = outputs[2 * k], outputs[2 * k + 1]
        stride = 2 ** (k + 2)
        rows, cols = np.nonzero(prob[1] > threshold)
        if rows.size == 0:
            continue
        centre = np.stack([cols, rows], axis=1) * float(stride) + stride / 2
        side = stride * 4.0
        t = loc[:, rows, cols].T  # float32 until multiplied by the anchor sides (float64)
        c = centre + (t[:, :2] * np.float32(VARIANCES[0])).astype(np.float64) * side
        wh = side * np.exp(t[:, 2:] * np.float32(VARIANCES[1])).astype(np.float64)
        corner = c - wh / 2
        found.append(np.concatenate([corner, corner + wh, prob[1, rows, cols, None]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 5))


class SFDDetector(FaceDetector):
    """S3FD faces in an RGB image: :meth:`detect` gives every face (x1, y1, x2, y2, score) above
    ``threshold`` after NMS; calling the detector gives the largest, the face to track."""

    def __init__(self, network: S3FD, device: str = "cpu", threshold: float = 0.5):
        self.device = device
        self.threshold = threshold
        self.network = network.to(device).eval()

    @classmethod
    def from_file(cls, path: str | Path, expected_sha256: str | None = None, **kwargs: Any) -> SFDDetector:
        """From a weights file in face-alignment's format (checksum verified, ``weights_only``)."""
        network = S3FD()
        state = load_state_dict(path, expected_sha256)
        try:
            network.load_state_dict(state)
        except RuntimeError as exc:
            raise InputError(path, f"not S3FD weights (face-alignment's {SFD_FILE} format): {exc}") from exc
        return cls(network, **kwargs)

    @torch.no_grad()
    def raw_outputs(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The network's outputs on one image, classification logits turned into probabilities:
        ``[prob1, loc1, ..., prob6, loc6]``, each ``(C, h, w)`` float32."""
        bgr = torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1].transpose(2, 0, 1)))
        x = bgr.to(self.device, torch.float32)[None] - torch.tensor(BGR_MEAN, device=self.device).view(1, 3, 1, 1)
        outputs = self.network(x)
        outputs = [F.softmax(o, dim=1) if k % 2 == 0 else o for k, o in enumerate(outputs)]
        return [o[0].cpu().numpy() for o in outputs]

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Every face found: ``(F, 5)`` boxes and scores, best first."""
        candidates = decode_candidates(self.raw_outputs(rgb))
        if len(candidates) == 0:
            return candidates
        faces = candidates[nms(candidates)]
        return faces[faces[:, 4] > self.threshold]

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        faces = self.detect(rgb)
        if len(faces) == 0:
            return None
        area = (faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1])
        return faces[int(np.argmax(area)), :4].astype(np.float64)


def make_detector(tracking: Mapping[str, Any], device: str = "cpu") -> FaceDetector:
    """The detector config ``tracking`` names (``detector``: haar or sfd, ``sfd``: path/sha256),
    on ``device`` (S3FD; the Haar cascade runs on the CPU)."""
    kind = tracking.get("detector", "haar")
    if kind == "haar":
        return HaarDetector()
    if kind == "sfd":
        sfd = tracking.get("sfd") or {}
        return SFDDetector.from_file(locate_sfd(sfd.get("path")), sfd.get("sha256"), device=device)
    raise ValueError(f"unknown face detector {kind!r} (haar or sfd)")

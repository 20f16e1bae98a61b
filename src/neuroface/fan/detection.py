"""Offline face detection for choosing FAN crops, behind one interface (:class:`FaceDetector`).

:class:`HaarDetector` uses OpenCV 4's bundled frontal-face Haar cascade. The same detector serves the
landmark evaluation and the video stage (deployment conditions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

__all__ = ["FaceDetector", "HaarDetector"]


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

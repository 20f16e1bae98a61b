"""Video landmark tracking: detect once, then follow the face from frame to frame.

Frames are processed in chunks of ``batch_size``; every frame of a chunk is cropped from the
last well-tracked landmarks before the chunk (faces move little within a chunk at video rates),
so FAN runs batched. A frame whose mean heatmap confidence falls below ``min_confidence`` or
whose landmarks jump by more than ``max_jump`` face sizes is re-detected on its own; a frame
still failing is ``lost``. Streams the recording: never more than one chunk in memory.
:func:`track_together` runs several trackers (one per model) over one pass of the recording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neuroface import landmarks as lm
from neuroface.fan.predict import LandmarkPredictor
from neuroface.realsense.bag import Frame
from neuroface.tracks import C_COLUMNS, DETECTED, LOST, TRACKED, X_COLUMNS, Y_COLUMNS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerSettings:
    batch_size: int = 16
    min_confidence: float = 0.25  # mean peak heatmap value; below = tracking lost
    max_jump: float = 0.25  # median landmark displacement between frames / face size; above = lost
    margin: float = 0.1  # box grown by this fraction of its size for the next chunk's crops


def _face_size(points: np.ndarray) -> float:
    box = lm.landmark_box(points)
    return float(np.hypot(box[2] - box[0], box[3] - box[1]))


def _grow(box: np.ndarray, margin: float) -> np.ndarray:
    size = box[2:] - box[:2]
    return box + np.concatenate([-size, size]) * margin / 2


class Tracker:
    """Landmarks for every colour frame of a recording: ``track(frames) -> DataFrame``."""

    def __init__(
        self,
        predictor: LandmarkPredictor,
        detector: Callable[[np.ndarray], np.ndarray | None],
        settings: TrackerSettings | None = None,
    ) -> None:
        self.predictor = predictor
        self.detector = detector
        self.settings = settings or TrackerSettings()

    def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        box = self.detector(image)
        if box is None:
            return None
        points, scores = self.predictor.predict_refined([image], box[None])
        if scores[0].mean() < self.settings.min_confidence:
            return None
        return points[0], scores[0]

    def _ok(self, points: np.ndarray, scores: np.ndarray, previous: np.ndarray) -> bool:
        """Confident enough, and no jump from the previous frame's landmarks."""
        if scores.mean() < self.settings.min_confidence:
            return False
        jump = np.median(np.linalg.norm(points - previous, axis=1)) / _face_size(previous)
        return bool(jump <= self.settings.max_jump)

    def _predict_from(
        self, previous: np.ndarray, chunk: list[Frame], first: int
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Batched predictions for ``chunk[first:]``, all cropped from ``previous`` landmarks."""
        if first >= len(chunk):
            return {}
        box = _grow(lm.landmark_box(previous), self.settings.margin)
        rest = chunk[first:]
        pts, conf = self.predictor.predict([f.data for f in rest], np.repeat(box[None], len(rest), 0))
        return {first + i: (pts[i], conf[i]) for i in range(len(rest))}

    def _chunks(self, frames: Iterable[Frame]) -> Iterator[list[Frame]]:
        chunk: list[Frame] = []
        for frame in frames:
            chunk.append(frame)
            if len(chunk) == self.settings.batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def track(self, frames: Iterable[Frame]) -> pd.DataFrame:
        """One row per frame: position (1-based), frame_number, timestamp_ms, status,
        x0..x67 / y0..y67 (colour pixels, NaN when lost) and c0..c67 (confidence)."""
        return track_together({"": self}, frames)[""]

    def _step(self, chunk: list[Frame], state: _State) -> None:
        """Track one chunk of frames, appending its rows to ``state``."""
        nan = np.full((lm.N_LANDMARKS,), np.nan)
        batch: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if state.last is not None:  # the whole chunk cropped from the last tracked landmarks
            batch = self._predict_from(state.last, chunk, 0)
        results: list[tuple[str, np.ndarray, np.ndarray]] = []
        for k, frame in enumerate(chunk):
            result = None
            if state.last is not None and k in batch and self._ok(*batch[k], state.last):
                result = (TRACKED, *batch[k])
            if result is None:
                found = self._detect(frame.data)
                if found is not None:
                    result = (DETECTED, *found)
                    batch = self._predict_from(found[0], chunk, k + 1)  # the rest follows the detection
            if result is None:
                results.append((LOST, np.stack([nan, nan], -1), nan))
                state.last = None  # the next frame starts again from the detector
            else:
                results.append(result)
                state.last = result[1]
        for frame, (status, pts, conf) in zip(chunk, results, strict=True):
            state.position += 1
            state.rows.append(
                (state.position, frame.frame_number, frame.timestamp_ms, status, *pts[:, 0], *pts[:, 1], *conf)
            )


@dataclass
class _State:
    """A tracker's progress through one recording: last tracked landmarks, rows so far."""

    last: np.ndarray | None = None
    position: int = 0
    rows: list[tuple] = field(default_factory=list)


def track_together(trackers: Mapping[str, Tracker], frames: Iterable[Frame]) -> dict[str, pd.DataFrame]:
    """Several trackers (e.g. one per model) over one pass of a recording's frames: each chunk is
    decoded once and handed to every tracker in turn, so the recording is read once and never more
    than one chunk is in memory. Each tracker's table equals its own :meth:`Tracker.track`'s."""
    sizes = {t.settings.batch_size for t in trackers.values()}
    if len(sizes) != 1:
        raise ValueError(f"trackers tracked together need one batch size, got {sorted(sizes)}")
    states = {name: _State() for name in trackers}
    first = next(iter(trackers.values()))
    for chunk in first._chunks(frames):
        for name, tracker in trackers.items():
            tracker._step(chunk, states[name])
    columns = ["position", "frame_number", "timestamp_ms", "status", *X_COLUMNS, *Y_COLUMNS, *C_COLUMNS]
    return {name: pd.DataFrame(state.rows, columns=columns) for name, state in states.items()}

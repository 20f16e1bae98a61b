"""Shared fixtures: small RealSense recordings written by the project's own writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics
from neuroface.realsense.writer import BagWriter, StreamSpec

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE_BAG = SHARED / "realsense" / "reference-d400-like.bag"

COLOR_INTR = Intrinsics(
    160, 120, 81.3, 59.1, 154.0, 153.5, Distortion.INVERSE_BROWN_CONRADY, (0.12, -0.21, 0.0011, -0.0007, 0.05)
)
DEPTH_INTR = Intrinsics(160, 120, 79.6, 60.4, 96.0, 96.0, Distortion.BROWN_CONRADY, (0.0, 0.0, 0.0, 0.0, 0.0))
DEPTH_TO_COLOR = Extrinsics.from_quaternion(np.array([0.002, -0.004, 0.001, 1.0]), np.array([0.015, 0.0002, -0.0004]))


def synthetic_frames(n: int, seed: int = 0) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
    """``(frame_number, timestamp_ms, rgb, depth)`` tuples with a smooth surface 0.4-0.6 m away."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:120, 0:160]
    out = []
    for i in range(n):
        depth = (500 + 80 * np.sin(xx / 17.0 + i) * np.cos(yy / 23.0)).astype(np.uint16)
        depth[rng.random(depth.shape) < 0.02] = 0  # holes
        rgb = np.stack([(xx + 7 * i) % 256, (yy * 2 + i) % 256, rng.integers(0, 256, xx.shape)], -1).astype(np.uint8)
        out.append((1000 + i, 5000.0 + 20.0 * i, rgb, depth))
    return out


def write_bag(path: Path, frames, drop_depth: tuple[int, ...] = ()) -> Path:
    with BagWriter(path, StreamSpec(COLOR_INTR, 50), StreamSpec(DEPTH_INTR, 50), DEPTH_TO_COLOR, 0.001) as w:
        for number, ts, rgb, depth in frames:
            if number not in drop_depth:
                w.write_depth(number, ts, depth)
            w.write_color(number, ts, rgb)
    return path


@pytest.fixture(scope="session")
def small_bag(tmp_path_factory) -> Path:
    return write_bag(tmp_path_factory.mktemp("bags") / "small.bag", synthetic_frames(6))


@pytest.fixture(scope="session")
def reference_bag() -> Path:
    if not REFERENCE_BAG.is_file():
        pytest.skip(f"librealsense reference recording not found at {REFERENCE_BAG}")
    return REFERENCE_BAG

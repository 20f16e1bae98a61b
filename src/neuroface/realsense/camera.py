"""Camera models as librealsense reports them: ``rs2_intrinsics`` and ``rs2_extrinsics``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Distortion(enum.IntEnum):
    """``rs2_distortion``; values are librealsense's enum values."""

    NONE = 0
    MODIFIED_BROWN_CONRADY = 1
    INVERSE_BROWN_CONRADY = 2
    FTHETA = 3
    BROWN_CONRADY = 4
    KANNALA_BRANDT4 = 5

    @property
    def ros_name(self) -> str:
        """Name as ``rs2_distortion_to_string`` writes it into ``CameraInfo.distortion_model``."""
        return _ROS_NAMES[self]

    @classmethod
    def from_ros_name(cls, name: str) -> Distortion:
        for model, ros_name in _ROS_NAMES.items():
            if ros_name == name:
                return model
        raise ValueError(f"unknown distortion model {name!r}; expected one of {sorted(_ROS_NAMES.values())}")


_ROS_NAMES = {
    Distortion.NONE: "None",
    Distortion.MODIFIED_BROWN_CONRADY: "Modified Brown Conrady",
    Distortion.INVERSE_BROWN_CONRADY: "Inverse Brown Conrady",
    Distortion.FTHETA: "Ftheta",
    Distortion.BROWN_CONRADY: "Brown Conrady",
    Distortion.KANNALA_BRANDT4: "Kannala Brandt4",
}


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of one stream, pixels; ``coeffs`` as librealsense orders them."""

    width: int
    height: int
    ppx: float
    ppy: float
    fx: float
    fy: float
    model: Distortion = Distortion.NONE
    coeffs: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def as_float32(self) -> Intrinsics:
        """Round every value to float32, as ``rs2_intrinsics`` stores them."""
        f = lambda v: float(np.float32(v))  # noqa: E731
        return Intrinsics(
            self.width,
            self.height,
            f(self.ppx),
            f(self.ppy),
            f(self.fx),
            f(self.fy),
            Distortion(self.model),
            tuple(f(c) for c in self.coeffs),  # type: ignore[arg-type]
        )

    @property
    def K(self) -> np.ndarray:
        """3x3 camera matrix, float64."""
        return np.array([[self.fx, 0.0, self.ppx], [0.0, self.fy, self.ppy], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Extrinsics:
    """Rigid transform between two streams: ``p_to = rotation @ p_from + translation`` (metres).

    ``rotation`` is a row-major 3x3 matrix; librealsense's ``rs2_extrinsics.rotation`` is the same
    matrix stored column-major (see :meth:`rs2_rotation`).
    """

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        object.__setattr__(self, "rotation", np.asarray(self.rotation, dtype=np.float64).reshape(3, 3))
        object.__setattr__(self, "translation", np.asarray(self.translation, dtype=np.float64).reshape(3))

    @classmethod
    def from_rs2(cls, rotation: list[float], translation: list[float]) -> Extrinsics:
        """From ``rs2_extrinsics`` fields (column-major rotation)."""
        return cls(np.asarray(rotation, dtype=np.float64).reshape(3, 3).T, translation)

    @property
    def rs2_rotation(self) -> list[float]:
        """Rotation as ``rs2_extrinsics.rotation`` (column-major, 9 floats)."""
        return [float(v) for v in self.rotation.T.ravel()]

    @classmethod
    def from_quaternion(cls, q_xyzw: np.ndarray, translation: np.ndarray) -> Extrinsics:
        """From a unit quaternion (x, y, z, w), as ``geometry_msgs/Transform`` stores it."""
        x, y, z, w = np.asarray(q_xyzw, dtype=np.float64) / np.linalg.norm(q_xyzw)
        rot = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )
        return cls(rot, translation)

    def quaternion(self) -> np.ndarray:
        """Unit quaternion (x, y, z, w) of :attr:`rotation` (Shepperd's method), float64."""
        m = self.rotation
        trace = np.trace(m)
        if trace > 0:
            s = 2.0 * np.sqrt(trace + 1.0)
            q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
        else:
            i = int(np.argmax(np.diag(m)))
            j, k = (i + 1) % 3, (i + 2) % 3
            s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
            q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
            q[i] = 0.25 * s
            q[j] = (m[j, i] + m[i, j]) / s
            q[k] = (m[k, i] + m[i, k]) / s
        q = np.asarray(q)
        return q / np.linalg.norm(q)

    def inverse(self) -> Extrinsics:
        rt = self.rotation.T
        return Extrinsics(rt, -rt @ self.translation)

    def compose(self, then: Extrinsics) -> Extrinsics:
        """The transform that applies ``self`` first, then ``then``."""
        return Extrinsics(then.rotation @ self.rotation, then.rotation @ self.translation + then.translation)

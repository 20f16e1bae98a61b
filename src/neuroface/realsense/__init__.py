"""Intel RealSense recordings: camera models, geometry, and ROS1 ``.bag`` reading/writing."""

from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics

__all__ = ["Distortion", "Extrinsics", "Intrinsics"]

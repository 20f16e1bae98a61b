"""Write librealsense-layout ROS1 ``.bag`` recordings (file version 4) that ``pyrealsense2`` plays.

The layout follows a reference file recorded by librealsense itself: one sensor per stream
("Stereo Module" with ``Depth_0``, "RGB Camera" with ``Color_0``), ``info`` and
``info/camera_info`` per stream, a ``tf/1`` transform per stream from the depth (reference)
stream, the ``Depth_Units`` option, per-frame metadata, LZ4-compressed chunks. The file is
written to a temporary name and renamed on success, so no partial recording is ever left.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import lz4.frame
import numpy as np
from rosbags.rosbag1 import Writer

from neuroface.io import remove_stale
from neuroface.realsense import rosformat as rf
from neuroface.realsense.camera import Extrinsics, Intrinsics


def _roslz4_compress(data: bytes) -> bytes:
    """LZ4 frame as ROS's ``roslz4`` (and so librealsense) reads it: independent blocks,
    content checksum, no stored content size."""
    return lz4.frame.compress(
        data,
        compression_level=0,
        block_size=lz4.frame.BLOCKSIZE_MAX1MB,
        content_checksum=True,
        block_linked=False,
        store_size=False,
    )


_STATIC_TIME = 1  # ns; librealsense stamps static messages at the start of the file
_GROUP = 1  # extrinsics group index, as librealsense numbers it
_FIRST_FRAME_TIME = 1_000_000  # ns; frames stamped with the static messages are skipped by playback


@dataclass(frozen=True)
class StreamSpec:
    """A stream to record: intrinsics (``width``/``height`` included) and nominal frame rate."""

    intrinsics: Intrinsics
    fps: int


class BagWriter:
    """Streaming writer: ``with BagWriter(...) as w: w.write_depth(...); w.write_color(...)``.

    ``depth_to_color`` in metres; ``depth_scale`` metres per Z16 unit. Frames are stamped with
    their ``timestamp_ms`` (hardware clock) and keep the ``frame_number`` given; the bag's own
    record time is the offset from the first frame.
    """

    def __init__(
        self,
        path: str | Path,
        color: StreamSpec,
        depth: StreamSpec,
        depth_to_color: Extrinsics,
        depth_scale: float = 0.001,
        device_info: Mapping[str, str] | None = None,
        compression: bool = True,
        color_encoding: str = "rgb8",
        timestamp_domains: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self.color, self.depth = color, depth
        self.depth_to_color = depth_to_color
        self.depth_scale = float(np.float32(depth_scale))
        self.device_info = dict(device_info or {"Name": "Intel RealSense D415", "Serial Number": "000000000000"})
        self.compression = compression
        if color_encoding not in (*rf.COLOR_ENCODINGS, "mono8"):
            raise ValueError(f"colour encoding {color_encoding!r}: write one of {[*rf.COLOR_ENCODINGS, 'mono8']}")
        #: each stream's ROS encoding (colour frames are given as RGB and stored in it; mono8 keeps green only)
        self.encodings = {"depth": rf.DEPTH_ENCODING, "color": color_encoding}
        #: each stream's clock, written into every frame's metadata
        self.timestamp_domains = {"depth": "Hardware Clock", "color": "Hardware Clock", **(timestamp_domains or {})}
        self._store = rf.typestore()
        self._t0: float | None = None
        self._conns: dict[str, object] = {}

    # -- context management -------------------------------------------------------------------
    def __enter__(self) -> BagWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(self.path, token=r"\d+")  # any process's, not only this one's
        self._writer = Writer(self._tmp)
        if self.compression:
            self._writer.set_compression(Writer.CompressionFormat.LZ4)
            self._writer.compressor = _roslz4_compress
        self._writer.open()
        self._write_static()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._writer.close()
        finally:
            if exc_type is None:
                os.replace(self._tmp, self.path)
            else:
                self._tmp.unlink(missing_ok=True)

    # -- messages -------------------------------------------------------------------------------
    def _conn(self, topic: str, msgtype: str) -> object:
        if topic not in self._conns:
            self._conns[topic] = self._writer.add_connection(topic, msgtype, typestore=self._store)
        return self._conns[topic]

    def _put(self, topic: str, msgtype: str, msg: object, t_ns: int) -> None:
        self._writer.write(self._conn(topic, msgtype), t_ns, self._store.serialize_ros1(msg, msgtype))

    def _msg(self, msgtype: str, **fields: object) -> object:
        return self._store.types[msgtype](**fields)

    def _header(self, seq: int, timestamp_ms: float, frame_id: str = "") -> object:
        sec, nsec = divmod(int(round(timestamp_ms * 1e6)), 1_000_000_000)
        time = self._msg("builtin_interfaces/msg/Time", sec=sec, nanosec=nsec)
        return self._msg("std_msgs/msg/Header", seq=seq, stamp=time, frame_id=frame_id)

    def _write_static(self) -> None:
        t = _STATIC_TIME
        self._put(
            rf.FILE_VERSION_TOPIC, "std_msgs/msg/UInt32", self._msg("std_msgs/msg/UInt32", data=rf.FILE_VERSION), t
        )
        for key, value in self.device_info.items():
            self._put(
                rf.DEVICE_INFO_TOPIC,
                "diagnostic_msgs/msg/KeyValue",
                self._msg("diagnostic_msgs/msg/KeyValue", key=key, value=value),
                t,
            )
        sensors = {"depth": (0, "Stereo Module", self.depth), "color": (1, "RGB Camera", self.color)}
        for kind, (sensor, name, spec) in sensors.items():
            prefix = rf.stream_prefix(sensor, kind)
            encoding = self.encodings[kind]
            self._put(
                f"{prefix}/info",
                rf.STREAM_INFO_MSG,
                self._msg(rf.STREAM_INFO_MSG, fps=spec.fps, encoding=encoding, is_recommended=False),
                t,
            )
            self._put(f"{prefix}/info/camera_info", "sensor_msgs/msg/CameraInfo", self._camera_info(spec.intrinsics), t)
            self._put(
                f"/device_0/sensor_{sensor}/info",
                "diagnostic_msgs/msg/KeyValue",
                self._msg("diagnostic_msgs/msg/KeyValue", key="Name", value=name),
                t,
            )
            ext = Extrinsics() if kind == "depth" else self.depth_to_color
            self._put(f"{prefix}/tf/{_GROUP}", "geometry_msgs/msg/Transform", self._transform(ext), t)
        option = "/device_0/sensor_0/option/Depth_Units"
        self._put(
            f"{option}/value", "std_msgs/msg/Float32", self._msg("std_msgs/msg/Float32", data=self.depth_scale), t
        )
        self._put(
            f"{option}/description",
            "std_msgs/msg/String",
            self._msg("std_msgs/msg/String", data="Number of meters represented by a single depth unit"),
            t,
        )

    def _camera_info(self, intr: Intrinsics) -> object:
        i = intr.as_float32()
        return self._msg(
            "sensor_msgs/msg/CameraInfo",
            header=self._header(0, 0.0),
            height=i.height,
            width=i.width,
            distortion_model=i.model.ros_name,
            D=np.array(i.coeffs, dtype=np.float64),
            K=np.array([i.fx, 0, i.ppx, 0, i.fy, i.ppy, 0, 0, 1], dtype=np.float64),
            R=np.zeros(9),
            P=np.zeros(12),
            binning_x=0,
            binning_y=0,
            roi=self._msg(
                "sensor_msgs/msg/RegionOfInterest", x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
            ),
        )

    def _transform(self, ext: Extrinsics) -> object:
        q = ext.quaternion()
        q = -q if q[3] > 0 else q  # librealsense stores the quaternion with w <= 0
        vec = self._msg(
            "geometry_msgs/msg/Vector3",
            x=float(ext.translation[0]),
            y=float(ext.translation[1]),
            z=float(ext.translation[2]),
        )
        rot = self._msg("geometry_msgs/msg/Quaternion", x=float(q[0]), y=float(q[1]), z=float(q[2]), w=float(q[3]))
        return self._msg("geometry_msgs/msg/Transform", translation=vec, rotation=rot)

    def _write_frame(
        self, kind: str, frame_number: int, timestamp_ms: float, data: np.ndarray, spec: StreamSpec
    ) -> None:
        intr = spec.intrinsics
        dtype, shape, bpp = (
            (np.uint16, (intr.height, intr.width), 2)
            if kind == "depth"
            else (np.uint8, (intr.height, intr.width, 3), 3)
        )
        arr = np.ascontiguousarray(data)
        if arr.dtype != dtype or arr.shape != shape:
            raise ValueError(
                f"{kind} frame {frame_number}: expected {np.dtype(dtype)} {shape}, got {arr.dtype} {arr.shape}"
            )
        if self._t0 is None:
            self._t0 = timestamp_ms
        t_ns = _FIRST_FRAME_TIME + max(0, int(round((timestamp_ms - self._t0) * 1e6)))
        sensor = 0 if kind == "depth" else 1
        prefix = rf.stream_prefix(sensor, kind)
        encoding = self.encodings[kind]
        if encoding == "mono8":
            arr, bpp = np.ascontiguousarray(arr[..., 1]), 1
        elif kind == "color":
            bpp, order = rf.COLOR_ENCODINGS[encoding]
            stored = np.full((*arr.shape[:2], bpp), 255, np.uint8)
            stored[..., list(order)] = arr
            arr = stored
        header = self._header(frame_number, timestamp_ms, frame_id=str(_GROUP))
        image = self._store.serialize_ros1(
            self._msg(
                "sensor_msgs/msg/Image",
                header=header,
                height=intr.height,
                width=intr.width,
                encoding=encoding,
                is_bigendian=0,
                step=intr.width * bpp,
                data=arr.reshape(-1).view(np.uint8),
            ),
            "sensor_msgs/msg/Image",
        )
        trailer = struct.pack("<f", self.depth_scale if kind == "depth" else 0.0)  # as librealsense writes
        self._writer.write(self._conn(f"{prefix}/image/data", "sensor_msgs/msg/Image"), t_ns, bytes(image) + trailer)
        for key, value in (
            ("system_time", f"{timestamp_ms:.6f}"),
            ("timestamp_domain", self.timestamp_domains[kind]),
            ("Actual Fps", str(int(spec.fps * 1000))),
        ):
            self._put(
                f"{prefix}/image/metadata",
                "diagnostic_msgs/msg/KeyValue",
                self._msg("diagnostic_msgs/msg/KeyValue", key=key, value=value),
                t_ns,
            )

    def write_depth(self, frame_number: int, timestamp_ms: float, depth: np.ndarray) -> None:
        """Append a depth frame: ``(H, W) uint16`` raw units."""
        self._write_frame("depth", frame_number, timestamp_ms, depth, self.depth)

    def write_color(self, frame_number: int, timestamp_ms: float, rgb: np.ndarray) -> None:
        """Append a colour frame: ``(H, W, 3) uint8`` RGB."""
        self._write_frame("color", frame_number, timestamp_ms, rgb, self.color)

"""Read RealSense ``.bag`` recordings: colour (RGB8, or BGR8/RGBA8/BGRA8 turned into RGB) and depth (Z16)
frames plus calibration.

Two backends return the same :class:`Recording` metadata and :class:`Frame` objects:

* ``rosbags`` (default): pure Python, reads every recorded image message;
* ``pyrealsense2``: librealsense's own non-real-time playback, the cross-check. It is not
  frame-exact at the start of a file (it can drop the first colour frame), so compare the two
  on frame numbers, never on positions.

Frames stream one at a time; a recording is never loaded whole.
"""

from __future__ import annotations

import math
import queue
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from rosbags.rosbag1 import Reader, ReaderError
from rosbags.serde import SerdeError

from neuroface.errors import InputError
from neuroface.realsense import rosformat as rf
from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics

StreamKind = Literal["color", "depth"]
Backend = Literal["rosbags", "pyrealsense2"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: pyrealsense2's timestamp-domain names -> the strings librealsense stores in the bag
_DOMAINS = {"hardware_clock": "Hardware Clock", "system_time": "System Time", "global_time": "Global Time"}


@dataclass(frozen=True)
class StreamProfile:
    """One recorded stream: format, nominal rate, intrinsics, and where it lives in the bag."""

    kind: StreamKind
    sensor: int
    index: int
    fps: int
    encoding: str
    intrinsics: Intrinsics


@dataclass(frozen=True)
class Recording:
    """Calibration of a colour + depth recording.

    ``depth_scale``: metres per Z16 unit. ``depth_to_color``: extrinsics, metres.
    """

    path: Path
    color: StreamProfile
    depth: StreamProfile
    depth_scale: float
    depth_to_color: Extrinsics


@dataclass(frozen=True)
class Frame:
    """One image. ``data``: ``(H, W, 3) uint8`` RGB or ``(H, W) uint16`` raw depth units.

    ``frame_number`` is the camera's counter; ``timestamp_ms`` the frame timestamp in
    milliseconds (``timestamp_domain`` says which clock).
    """

    frame_number: int
    timestamp_ms: float
    data: np.ndarray
    timestamp_domain: str = ""


class BagReader(Protocol):
    recording: Recording

    def frames(self, kind: StreamKind) -> Iterator[Frame]: ...


@dataclass(frozen=True)
class RawImage:
    """A decoded ``sensor_msgs/Image``; ``data`` is a read-only byte view."""

    seq: int
    timestamp_ms: float
    frame_id: str
    height: int
    width: int
    encoding: str
    step: int
    data: np.ndarray


def parse_image(raw: bytes | memoryview, path: Path) -> RawImage:
    """Decode a ROS1 ``sensor_msgs/Image``.

    librealsense appends 4 bytes after the pixel array (the depth units as float32 on depth
    frames, zeros on colour frames), which strict deserialisers reject; they are ignored here.
    """
    buf = memoryview(raw)
    try:
        seq, sec, nsec, n = struct.unpack_from("<IIII", buf, 0)
        pos = 16 + n
        frame_id = bytes(buf[16:pos]).decode()
        height, width, n = struct.unpack_from("<III", buf, pos)
        pos += 12
        encoding = bytes(buf[pos : pos + n]).decode()
        pos += n + 1  # encoding, is_bigendian
        step, n = struct.unpack_from("<II", buf, pos)
        pos += 8
    except (struct.error, UnicodeDecodeError) as exc:
        raise _bad(path, f"corrupt image message ({exc})") from exc
    if pos + n > len(buf):
        raise _bad(path, f"image message {seq} is truncated: {len(buf) - pos} of {n} pixel bytes")
    data = np.frombuffer(buf, dtype=np.uint8, count=n, offset=pos)
    return RawImage(
        seq,
        (sec + 1e-9 * nsec) * 1000.0,  # ROS toSec() in ms, as librealsense
        frame_id,
        height,
        width,
        encoding,
        step,
        data,
    )


def _bad(path: Path, problem: str) -> InputError:
    return InputError(path, f"not a readable RealSense recording: {problem}")


def _describe(exc: BaseException) -> str:
    """An exception from inside a reader as one line: its type and first line of message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def check_encodings(path: Path, color: str, depth: str) -> None:
    """Stop on a stream format that is not read here, naming it (before any frame is decoded)."""
    if color not in rf.COLOR_ENCODINGS:
        readable = ", ".join(e.upper() for e in rf.COLOR_ENCODINGS)
        raise _bad(
            path,
            f"the colour stream is recorded as {color!r}; colour is read as {readable}: record it in one of these "
            "or convert the recording with librealsense",
        )
    if depth != rf.DEPTH_ENCODING:
        raise _bad(path, f"the depth stream is recorded as {depth!r}, not as Z16 ({rf.DEPTH_ENCODING!r})")


def _pixels(data: np.ndarray, kind: StreamKind, profile: StreamProfile) -> np.ndarray:
    """A frame's bytes (flat ``uint8``, row-major without padding) as ``(H, W)`` uint16 depth units or ``(H, W, 3)``
    uint8 RGB, a copy: BGR8's and BGRA8's channels reordered, an alpha byte dropped."""
    h, w = profile.intrinsics.height, profile.intrinsics.width
    if kind == "depth":
        return data.view(np.uint16).reshape(h, w).copy()
    bpp, order = rf.COLOR_ENCODINGS[profile.encoding]
    pixels = data.reshape(h, w, bpp)
    return pixels.copy() if bpp == 3 and order == (0, 1, 2) else pixels[..., list(order)]


class RosbagsReader:
    """Pure-Python reader on the ``rosbags`` package; returns every recorded image message."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "file not found")
        with open(self.path, "rb") as fh:
            if fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
                raise _bad(
                    self.path,
                    "a ROS2 (.db3, SQLite) recording, which newer librealsense versions write; this workflow reads "
                    "librealsense's ROS1 .bag recordings (file version 4)",
                )
        self._store = rf.typestore()
        try:
            with Reader(self.path) as reader:
                self.recording = self._read_recording(reader)
        except InputError:
            raise
        except (ReaderError, RuntimeError, struct.error, SerdeError) as exc:
            raise _bad(self.path, str(exc)) from exc
        except Exception as exc:  # whatever else the reader meets in a damaged file, named
            raise _bad(self.path, _describe(exc)) from exc

    def _static(self, reader: Reader, topic: str) -> object | None:
        conns = [c for c in reader.connections if c.topic == topic]
        for conn, _, raw in reader.messages(connections=conns):
            return self._store.deserialize_ros1(raw, conn.msgtype)
        return None

    def _read_recording(self, reader: Reader) -> Recording:
        version = self._static(reader, rf.FILE_VERSION_TOPIC)
        if version is None or version.data != rf.FILE_VERSION:  # type: ignore[attr-defined]
            found = None if version is None else version.data  # type: ignore[attr-defined]
            raise _bad(self.path, f"file version {found}, expected {rf.FILE_VERSION}")
        profiles: dict[str, StreamProfile] = {}
        for conn in reader.connections:
            m = rf.IMAGE_TOPIC.match(conn.topic)
            if not m or m.group(3) not in rf.STREAMS:
                continue
            kind = rf.STREAMS[m.group(3)][0]
            sensor, index = int(m.group(2)), int(m.group(4))
            prefix = rf.stream_prefix(sensor, kind, index)
            info = self._static(reader, f"{prefix}/info")
            cam = self._static(reader, f"{prefix}/info/camera_info")
            if info is None or cam is None:
                raise _bad(self.path, f"stream {prefix} has no info/camera_info")
            intr = Intrinsics(
                int(cam.width),
                int(cam.height),
                float(cam.K[2]),
                float(cam.K[5]),  # type: ignore[attr-defined]
                float(cam.K[0]),
                float(cam.K[4]),  # type: ignore[attr-defined]
                Distortion.from_ros_name(cam.distortion_model),  # type: ignore[attr-defined]
                tuple(float(v) for v in list(cam.D)[:5]) + (0.0,) * (5 - min(5, len(cam.D))),  # type: ignore[attr-defined]
            ).as_float32()
            encoding = str(info.encoding).lower()  # type: ignore[attr-defined]
            profiles[kind] = StreamProfile(kind, sensor, index, int(info.fps), encoding, intr)
        for kind in ("color", "depth"):
            if kind not in profiles:
                raise _bad(self.path, f"no {kind} stream")
        color, depth = profiles["color"], profiles["depth"]
        check_encodings(self.path, color.encoding, depth.encoding)
        scale = self._static(reader, f"/device_0/sensor_{depth.sensor}/option/Depth_Units/value")
        if scale is None or not scale.data > 0:  # type: ignore[attr-defined]
            raise _bad(self.path, "no Depth_Units option for the depth sensor")
        return Recording(
            self.path,
            color,
            depth,
            float(np.float32(scale.data)),  # type: ignore[attr-defined]
            self._extrinsics(reader, depth, color),
        )

    def _extrinsics(self, reader: Reader, depth: StreamProfile, color: StreamProfile) -> Extrinsics:
        """Depth-to-colour extrinsics from the per-stream ``tf/<group>`` transforms.

        Each stream's transform maps the group's reference stream into that stream, so
        depth->colour = (reference->colour) after (reference->depth)^-1.
        """

        def tf(profile: StreamProfile) -> Extrinsics:
            prefix = rf.stream_prefix(profile.sensor, profile.kind, profile.index)
            topics = [c.topic for c in reader.connections if c.topic.startswith(f"{prefix}/tf/")]
            if not topics:
                raise _bad(self.path, f"stream {prefix} has no extrinsics (tf)")
            msg = self._static(reader, topics[0])
            q, t = msg.rotation, msg.translation  # type: ignore[attr-defined]
            return Extrinsics.from_quaternion(np.array([q.x, q.y, q.z, q.w]), np.array([t.x, t.y, t.z]))

        ext = tf(depth).inverse().compose(tf(color))
        return Extrinsics(ext.rotation.astype(np.float32), ext.translation.astype(np.float32))

    def frames(self, kind: StreamKind) -> Iterator[Frame]:
        profile = getattr(self.recording, kind)
        prefix = rf.stream_prefix(profile.sensor, kind, profile.index)
        intr = profile.intrinsics
        bpp = 2 if kind == "depth" else rf.COLOR_ENCODINGS[profile.encoding][0]
        expected = intr.width * intr.height * bpp
        try:
            with Reader(self.path) as reader:
                conns = [
                    c for c in reader.connections if c.topic in (f"{prefix}/image/data", f"{prefix}/image/metadata")
                ]
                domain = ""
                pending: Frame | None = None
                for conn, _, raw in reader.messages(connections=conns):
                    if conn.topic.endswith("/metadata"):
                        msg = self._store.deserialize_ros1(raw, conn.msgtype)
                        if msg.key == "timestamp_domain":  # type: ignore[attr-defined]
                            domain = msg.value  # type: ignore[attr-defined]
                        continue
                    if pending is not None:
                        yield Frame(pending.frame_number, pending.timestamp_ms, pending.data, domain)
                    image = parse_image(raw, self.path)
                    if image.encoding.lower() != profile.encoding:
                        raise _bad(
                            self.path,
                            f"{kind} frame {image.seq} is encoded as {image.encoding!r}, "
                            f"its stream as {profile.encoding!r}",
                        )
                    if image.data.nbytes != expected or (image.width, image.height) != (intr.width, intr.height):
                        raise _bad(
                            self.path,
                            f"{kind} frame {image.seq} is {image.width}x{image.height} with "
                            f"{image.data.nbytes} bytes, expected {intr.width}x{intr.height}, {expected}",
                        )
                    pending = Frame(image.seq, image.timestamp_ms, _pixels(image.data, kind, profile))
                if pending is not None:
                    yield Frame(pending.frame_number, pending.timestamp_ms, pending.data, domain)
        except InputError:
            raise
        except Exception as exc:  # lz4 raises RuntimeError; damaged files anything else
            raise _bad(self.path, _describe(exc)) from exc


class PyRealSenseReader:
    """librealsense's playback (``pyrealsense2``), non-real-time, one sensor at a time."""

    def __init__(self, path: str | Path, timeout_s: float = 10.0) -> None:
        import pyrealsense2 as rs

        self._rs = rs
        self.path = Path(path)
        self.timeout_s = timeout_s
        if not self.path.is_file():
            raise InputError(self.path, "file not found")
        try:
            device = rs.context().load_device(str(self.path))
        except Exception as exc:  # librealsense raises RuntimeError; anything else, named too
            raise _bad(self.path, _describe(exc)) from exc
        profiles: dict[str, StreamProfile] = {}
        scale = math.nan
        for sensor_index, sensor in enumerate(device.query_sensors()):
            for p in sensor.get_stream_profiles():
                kind = {rs.stream.color: "color", rs.stream.depth: "depth"}.get(p.stream_type())
                if kind is None:
                    continue
                i = p.as_video_stream_profile().get_intrinsics()
                intr = Intrinsics(
                    i.width, i.height, i.ppx, i.ppy, i.fx, i.fy, Distortion(int(i.model)), tuple(i.coeffs)
                )
                # librealsense's format names, as the rosbags backend reads them (Z16 is written as mono16)
                encoding = "mono16" if p.format() == rs.format.z16 else str(p.format()).rsplit(".", 1)[-1]
                profiles[kind] = StreamProfile(kind, sensor_index, p.stream_index(), p.fps(), encoding, intr)  # type: ignore[arg-type]
                self.__dict__.setdefault("_profiles", {})[kind] = p
            if sensor.supports(rs.option.depth_units):
                scale = sensor.get_option(rs.option.depth_units)
        if "color" not in profiles or "depth" not in profiles:
            raise _bad(self.path, "needs one colour and one depth stream")
        check_encodings(self.path, profiles["color"].encoding, profiles["depth"].encoding)
        self._recorded = _recorded_frames(self.path, profiles)
        e = self._profiles["depth"].get_extrinsics_to(self._profiles["color"])
        ext = Extrinsics.from_rs2(e.rotation, e.translation)
        self.recording = Recording(
            self.path,
            profiles["color"],
            profiles["depth"],
            float(np.float32(scale)),
            Extrinsics(ext.rotation.astype(np.float32), ext.translation.astype(np.float32)),
        )
        del device

    def frames(self, kind: StreamKind) -> Iterator[Frame]:
        rs = self._rs
        device = rs.context().load_device(str(self.path))
        playback = device.as_playback()
        playback.set_real_time(False)
        profile = getattr(self.recording, kind)
        sensor = device.query_sensors()[profile.sensor]
        target = [
            p
            for p in sensor.get_stream_profiles()
            if p.stream_index() == profile.index
            and p.stream_type() == (rs.stream.color if kind == "color" else rs.stream.depth)
        ]
        frames: queue.Queue[Frame | None] = queue.Queue(maxsize=8)
        done = threading.Event()

        def on_frame(f: object) -> None:
            if done.is_set():
                return
            data = _pixels(np.asanyarray(f.get_data()).reshape(-1).view(np.uint8), kind, profile)  # type: ignore[attr-defined]
            domain = _DOMAINS.get(str(f.get_frame_timestamp_domain()).split(".")[-1], "")  # type: ignore[attr-defined]
            frames.put(Frame(int(f.get_frame_number()), float(f.get_timestamp()), data, domain))  # type: ignore[attr-defined]

        sensor.open(target)
        sensor.start(on_frame)
        played = 0
        try:
            while True:
                try:
                    frame = frames.get(timeout=0.05)
                except queue.Empty:
                    if playback.current_status() == rs.playback_status.stopped and frames.empty():
                        break
                    continue
                if frame is not None:
                    played += 1
                    yield frame
        finally:
            done.set()
            while not frames.empty():
                frames.get_nowait()
            try:
                sensor.stop()
                sensor.close()
            except RuntimeError:
                pass
        recorded = self._recorded.get(kind)
        if recorded is not None and played != recorded:
            raise InputError(
                self.path,
                f"librealsense's playback gave {played} of the {recorded} recorded {kind} frames (it can skip a "
                "file's first frame), which would shift every frame position that annotations and segmentation "
                "refer to; read this file with realsense.backend: rosbags",
            )


def _recorded_frames(path: Path, profiles: dict[str, StreamProfile]) -> dict[str, int]:
    """How many images each stream's topic holds, from the bag's index (nothing decoded). A stream is left out where
    rosbags cannot read the index or finds no such topic (librealsense may still play the file; it is then not
    checked)."""
    try:
        with Reader(path) as bag:
            counts = {
                kind: sum(
                    c.msgcount
                    for c in bag.connections
                    if c.topic == f"{rf.stream_prefix(p.sensor, kind, p.index)}/image/data"
                )
                for kind, p in profiles.items()
            }
    except Exception:  # noqa: BLE001 - a file only librealsense reads is still played, unchecked
        return {}
    return {kind: n for kind, n in counts.items() if n > 0}


def open_bag(path: str | Path, backend: Backend = "rosbags") -> BagReader:
    """Open a recording with the chosen backend (``rosbags`` reads every frame; the default)."""
    if backend == "rosbags":
        return RosbagsReader(path)
    if backend == "pyrealsense2":
        return PyRealSenseReader(path)
    raise ValueError(f"unknown .bag backend {backend!r}; use 'rosbags' or 'pyrealsense2'")


def framesets(reader: BagReader, tolerance_ms: float | None = None) -> Iterator[tuple[int, Frame, Frame | None]]:
    """Pair each colour frame with the depth frame nearest in time, streaming.

    Yields ``(position, color, depth)`` with ``position`` the 1-based index of the colour frame
    in the recording (the frame index of an exported video); ``depth`` is None when no depth
    frame lies within ``tolerance_ms`` (default: half a depth frame period). Timestamps must not
    run backwards within a stream, and both streams' must be on the same clock (librealsense falls
    back to the host's "System Time" for a sensor without frame metadata, while the other may keep
    its "Hardware Clock": such timestamps cannot be compared); frame numbers are kept as recorded,
    gaps and all.
    """
    rec = reader.recording
    tol = 0.5 * 1000.0 / rec.depth.fps if tolerance_ms is None else tolerance_ms
    depth_iter = _monotonic(reader.frames("depth"), rec.path, "depth")
    prev: Frame | None = None
    nxt = next(depth_iter, None)
    for position, color in enumerate(_monotonic(reader.frames("color"), rec.path, "color"), start=1):
        if position == 1 and nxt is not None:
            _same_clock(rec.path, color.timestamp_domain, nxt.timestamp_domain)
        while nxt is not None and nxt.timestamp_ms <= color.timestamp_ms:
            prev, nxt = nxt, next(depth_iter, None)
        candidates = [f for f in (prev, nxt) if f is not None and abs(f.timestamp_ms - color.timestamp_ms) <= tol]
        best = min(candidates, key=lambda f: abs(f.timestamp_ms - color.timestamp_ms), default=None)
        yield position, color, best


def _same_clock(path: Path, color: str, depth: str) -> None:
    """Stop where the two streams name different clocks (a bag without frame metadata names none)."""
    if color and depth and color != depth:
        raise InputError(
            path,
            f"colour frames are timed on the {color!r} clock and depth frames on the {depth!r} clock, so they "
            "cannot be paired in time (record with frame metadata enabled for both sensors, or with global time on)",
        )


def _monotonic(frames: Iterator[Frame], path: Path, kind: str) -> Iterator[Frame]:
    last = -math.inf
    for f in frames:
        if f.timestamp_ms < last:
            raise InputError(
                path,
                f"{kind} timestamps run backwards at frame {f.frame_number} "
                f"({f.timestamp_ms:.3f} ms after {last:.3f} ms)",
            )
        last = f.timestamp_ms
        yield f


def frame_index(reader: BagReader, tolerance_ms: float | None = None) -> pd.DataFrame:
    """One row per colour frame: ``position`` (1-based), ``frame_number``, ``timestamp_ms`` and the
    paired depth frame's ``depth_frame_number`` / ``depth_timestamp_ms`` (missing when unpaired)."""
    rows = [
        (pos, c.frame_number, c.timestamp_ms, d.frame_number if d else None, d.timestamp_ms if d else np.nan)
        for pos, c, d in framesets(reader, tolerance_ms)
    ]
    table = pd.DataFrame(
        rows, columns=["position", "frame_number", "timestamp_ms", "depth_frame_number", "depth_timestamp_ms"]
    )
    table["depth_frame_number"] = table["depth_frame_number"].astype("Int64")
    return table

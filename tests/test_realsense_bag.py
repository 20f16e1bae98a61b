"""The .bag reader's two backends and the writer, against librealsense's own playback."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from rosbags.rosbag1 import Reader

from conftest import COLOR_INTR, DEPTH_INTR, DEPTH_TO_COLOR, synthetic_frames, write_bag
from neuroface.errors import InputError
from neuroface.realsense.bag import framesets, open_bag, parse_image
from neuroface.realsense.camera import Distortion, Intrinsics
from neuroface.realsense.writer import BagWriter, StreamSpec


def by_number(reader, kind):
    return {f.frame_number: f for f in reader.frames(kind)}


def assert_same_recording(a, b):
    """Metadata equal between backends (rotation to float32 rounding of the quaternion maths)."""
    assert a.color == b.color and a.depth == b.depth
    assert a.depth_scale == b.depth_scale
    np.testing.assert_allclose(a.depth_to_color.rotation, b.depth_to_color.rotation, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(a.depth_to_color.translation, b.depth_to_color.translation)


@pytest.mark.parametrize("kind", ["color", "depth"])
def test_backends_agree_on_librealsense_reference(rs, reference_bag, kind):
    ours, lrs = open_bag(reference_bag, "rosbags"), open_bag(reference_bag, "pyrealsense2")
    assert_same_recording(ours.recording, lrs.recording)
    a, b = by_number(ours, kind), by_number(lrs, kind)
    assert sorted(a) == list(range(100, 112))  # every recorded frame
    assert set(b) <= set(a) and len(b) >= 11
    for n, frame in b.items():
        np.testing.assert_array_equal(a[n].data, frame.data)
        assert a[n].timestamp_ms == frame.timestamp_ms
        assert a[n].timestamp_domain == frame.timestamp_domain == "Hardware Clock"
    assert a[101].timestamp_ms == pytest.approx(1033.333, abs=1e-9)


def test_reference_contents_as_documented(reference_bag):
    rec = open_bag(reference_bag).recording
    assert rec.depth_scale == pytest.approx(0.001)
    assert rec.depth.intrinsics.model == Distortion.BROWN_CONRADY
    assert rec.color.intrinsics.model == Distortion.INVERSE_BROWN_CONRADY
    np.testing.assert_allclose(rec.depth_to_color.translation, [0.0148, 0.0001, 0.0003], atol=1e-7)
    depth = by_number(open_bag(reference_bag), "depth")[103].data
    x = np.arange(640)
    np.testing.assert_array_equal(depth[7], (450 + 30 * np.sin(x / 40 + 3)).astype(np.uint16))


def test_writer_matches_librealsense_layout(reference_bag, small_bag):
    """Same topics, message types and definitions (md5) as a file librealsense recorded."""
    with Reader(reference_bag) as ref, Reader(small_bag) as ours:
        ref_conns = {c.topic: (c.msgtype, c.digest) for c in ref.connections if "Frames_Queue_Size" not in c.topic}
        our_conns = {c.topic: (c.msgtype, c.digest) for c in ours.connections}
    assert set(ref_conns) <= set(our_conns)
    for topic, spec in ref_conns.items():
        assert our_conns[topic] == spec, topic


@pytest.mark.parametrize("backend", ["rosbags", "pyrealsense2"])
def test_written_bag_plays_back_frame_exact(small_bag, backend, request):
    if backend == "pyrealsense2":
        request.getfixturevalue("rs")  # skips naming libusb-1.0-0 where it is missing
    frames = synthetic_frames(6)
    reader = open_bag(small_bag, backend)
    rec = reader.recording
    assert rec.color.intrinsics == COLOR_INTR.as_float32()
    assert rec.depth.intrinsics == DEPTH_INTR.as_float32()
    np.testing.assert_allclose(rec.depth_to_color.rotation, DEPTH_TO_COLOR.rotation, atol=1e-7)
    np.testing.assert_allclose(rec.depth_to_color.translation, DEPTH_TO_COLOR.translation, atol=1e-9)
    color, depth = list(reader.frames("color")), list(reader.frames("depth"))
    assert [f.frame_number for f in color] == [n for n, *_ in frames]
    assert [f.frame_number for f in depth] == [n for n, *_ in frames]
    for got_c, got_d, (_n, ts, rgb, dep) in zip(color, depth, frames, strict=True):
        assert got_c.timestamp_ms == pytest.approx(ts, abs=1e-9)
        np.testing.assert_array_equal(got_c.data, rgb)
        np.testing.assert_array_equal(got_d.data, dep)


@pytest.mark.parametrize(
    "model",
    [
        Distortion.NONE,
        Distortion.BROWN_CONRADY,
        Distortion.INVERSE_BROWN_CONRADY,
        Distortion.MODIFIED_BROWN_CONRADY,
        Distortion.KANNALA_BRANDT4,
        Distortion.FTHETA,
    ],
)
def test_distortion_model_names_round_trip_through_librealsense(rs, tmp_path, model):
    intr = Intrinsics(160, 120, 80, 60, 150, 150, model, (0.1, 0.01, 0.001, 0.002, 0.003))
    path = tmp_path / "m.bag"
    with BagWriter(path, StreamSpec(intr, 30), StreamSpec(DEPTH_INTR, 30), DEPTH_TO_COLOR) as w:
        _, ts, rgb, dep = synthetic_frames(1)[0]
        w.write_depth(1, ts, dep)
        w.write_color(1, ts, rgb)
    assert open_bag(path, "pyrealsense2").recording.color.intrinsics == intr.as_float32()
    assert open_bag(path, "rosbags").recording.color.intrinsics == intr.as_float32()


def test_dropped_and_non_monotonic_frame_numbers_are_kept(rs, tmp_path):
    frames = synthetic_frames(8)
    numbers = [10, 11, 13, 14, 2, 3, 4, 7]  # a gap, a counter reset, another gap
    frames = [(n, ts, rgb, dep) for n, (_, ts, rgb, dep) in zip(numbers, frames, strict=True)]
    path = write_bag(tmp_path / "drops.bag", frames, drop_depth=(13, 3))
    for backend in ("rosbags", "pyrealsense2"):
        reader = open_bag(path, backend)
        got = list(reader.frames("color"))
        assert [f.frame_number for f in got] == numbers, backend
        assert [f.timestamp_ms for f in got] == pytest.approx([ts for _, ts, *_ in frames])
    pairs = list(framesets(open_bag(path)))
    assert [p for p, *_ in pairs] == list(range(1, 9))
    assert [(c.frame_number, d.frame_number if d else None) for _, c, d in pairs] == [
        (10, 10),
        (11, 11),
        (13, None),
        (14, 14),
        (2, 2),
        (3, None),
        (4, 4),
        (7, 7),
    ]


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8"])
def test_bgr_and_alpha_colour_formats_are_read_as_rgb_by_both_backends(rs, tmp_path, encoding):
    """librealsense records colour in the format the stream was opened with; BGR8's bytes were once returned as RGB
    (red and blue swapped in every annotated frame and tracked image). The bytes stored are checked against the
    encoding's definition (sensor_msgs: bgr8 = blue first), and librealsense's playback names the format."""
    frames = synthetic_frames(3)
    path = write_bag(tmp_path / f"{encoding}.bag", frames, color_encoding=encoding)
    with Reader(path) as bag:
        conn = next(c for c in bag.connections if c.topic.endswith("Color_0/image/data"))
        raw = next(raw for _, _, raw in bag.messages(connections=[conn]))
    stored = parse_image(raw, path)
    assert stored.encoding == encoding and stored.step == COLOR_INTR.width * len(encoding[:-1])
    first = stored.data.reshape(COLOR_INTR.height, COLOR_INTR.width, -1)[0, 0]
    r, g, b = frames[0][2][0, 0]
    assert list(first[:3]) == ([b, g, r] if encoding.startswith("bgr") else [r, g, b])
    for backend in ("rosbags", "pyrealsense2"):
        reader = open_bag(path, backend)
        assert reader.recording.color.encoding == encoding, backend
        got = by_number(reader, "color")
        for number, _, rgb, _ in frames:
            if number in got:  # librealsense's playback may skip the first frame
                assert got[number].data.shape == rgb.shape and got[number].data.dtype == np.uint8
                np.testing.assert_array_equal(got[number].data, rgb, err_msg=backend)
        assert len(got) >= 2


@pytest.mark.parametrize("backend", ["rosbags", "pyrealsense2"])
def test_a_colour_format_that_is_not_read_is_named_when_the_bag_is_opened(rs, tmp_path, backend):
    """Grey colour (ROS mono8; librealsense plays it back as RAW8) stops when the bag is opened, naming the format."""
    path = write_bag(tmp_path / "grey.bag", synthetic_frames(2), color_encoding="mono8")
    with pytest.raises(InputError, match=r"grey.bag.*colour stream is recorded as '(mono8|raw8)'.*RGB8, BGR8"):
        open_bag(path, backend)


def test_streams_timed_on_different_clocks_are_an_error_not_unpaired_frames(tmp_path):
    """A sensor without frame metadata is timed by the host ('System Time'), the other by its hardware clock: the
    timestamps are not comparable, and pairing them left every colour frame without depth, silently."""
    path = write_bag(tmp_path / "clocks.bag", synthetic_frames(3), timestamp_domains={"color": "System Time"})
    with pytest.raises(InputError, match="clocks.bag.*'System Time' clock and depth frames on the 'Hardware Clock'"):
        list(framesets(open_bag(path)))
    unnamed = write_bag(tmp_path / "unnamed.bag", synthetic_frames(3), timestamp_domains={"color": ""})
    assert all(d is not None for _, _, d in framesets(open_bag(unnamed)))  # a clock not named is not a mismatch


def test_a_ros2_recording_is_named_as_such(tmp_path):
    """Newer librealsense versions record ROS2 .db3 files (SQLite); the error says so, not 'UnicodeDecodeError'."""
    path = tmp_path / "session.db3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE messages (id INTEGER)")
    with pytest.raises(InputError, match=r"session.db3.*ROS2 \(.db3, SQLite\) recording"):
        open_bag(path)


def test_librealsense_playback_that_skips_a_frame_stops_instead_of_shifting_positions(rs, small_bag):
    """Annotations and segmentation address colour frames by position; a playback that skipped one (librealsense's
    pipeline skips a file's first frameset) would shift them all. The recorded count comes from the bag's index."""
    reader = open_bag(small_bag, "pyrealsense2")
    assert reader._recorded == {"color": 6, "depth": 6}
    assert len(list(reader.frames("color"))) == 6
    reader._recorded["color"] = 7  # as if the playback had skipped one of 7 recorded frames
    with pytest.raises(InputError, match=r"small.bag.*gave 6 of the 7 recorded color frames.*backend: rosbags"):
        list(reader.frames("color"))


def test_timestamps_running_backwards_are_an_error(tmp_path):
    frames = synthetic_frames(3)
    frames[2] = (frames[2][0], frames[0][1] - 5.0, frames[2][2], frames[2][3])
    path = write_bag(tmp_path / "back.bag", frames)
    with pytest.raises(InputError, match="back.bag.*run backwards"):
        list(framesets(open_bag(path)))


@pytest.mark.parametrize("cut", ["half", "tail", "chunk", "empty", "garbage"])
def test_corrupt_or_truncated_bag_is_a_clear_error(small_bag, tmp_path, cut):
    data = small_bag.read_bytes()
    blob = {
        "half": data[: len(data) // 2],
        "tail": data[:-64],
        "empty": b"",
        "garbage": b"not a bag" * 50,
        "chunk": data[: len(data) // 3] + bytes(200) + data[len(data) // 3 + 200 :],
    }[cut]
    bad = tmp_path / f"{cut}.bag"
    bad.write_bytes(blob)
    with pytest.raises(InputError, match=f"{cut}.bag: not a readable RealSense recording"):
        reader = open_bag(bad)
        for kind in ("color", "depth"):
            list(reader.frames(kind))


def test_missing_bag_names_the_file(tmp_path):
    with pytest.raises(InputError, match="nope.bag: file not found"):
        open_bag(tmp_path / "nope.bag")


def test_writer_leaves_nothing_behind_on_failure(tmp_path):
    path = tmp_path / "fail.bag"
    with pytest.raises(ValueError, match="expected uint16"):
        with BagWriter(path, StreamSpec(COLOR_INTR, 30), StreamSpec(DEPTH_INTR, 30), DEPTH_TO_COLOR) as w:
            w.write_depth(1, 0.0, np.zeros((120, 160), np.float32))
    assert list(tmp_path.iterdir()) == []

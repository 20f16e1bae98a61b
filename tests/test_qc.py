"""Video QC: frame selection, overlays, MP4 and contact sheet writing, metrics and flags."""

from __future__ import annotations

import subprocess

import cv2
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from conftest import synthetic_frames, write_bag
from neuroface import qc
from neuroface.realsense.bag import open_bag
from neuroface.tracking.reconstruct import V_COLUMNS
from neuroface.tracks import track_table

LIMITS = {"max_lost_fraction": 0.1, "max_redetection_fraction": 0.1, "max_depth_missing_fraction": 0.1}


# --- frame selection -------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(47, 40), (47, 12), (1000, 12), (2, 2), (100, 2)])
def test_spaced_positions_cover_first_and_last(n, k):
    pos = qc.spaced_positions(n, k)
    assert pos[0] == 1 and pos[-1] == n
    assert len(pos) == k and len(set(pos)) == k
    assert np.all(np.diff(pos) > 0)
    gaps = np.diff(pos)
    assert gaps.max() - gaps.min() <= 1  # evenly spaced


def test_spaced_positions_short_recordings():
    assert qc.spaced_positions(5, 12).tolist() == [1, 2, 3, 4, 5]
    assert qc.spaced_positions(5, 1).tolist() == [1]
    assert qc.spaced_positions(0, 12).size == 0


# --- drawing ---------------------------------------------------------------------------------


def _grid_face(x0: float, y0: float, step: float = 6.0) -> np.ndarray:
    """68 landmarks on an 8x9 grid (colour px)."""
    i = np.arange(68)
    return np.stack([x0 + step * (i % 8), y0 + step * (i // 8)], axis=1).astype(float)


def test_overlay_draws_each_models_colour_at_its_landmarks():
    image = np.zeros((120, 200, 3), np.uint8)
    pre, fine = _grid_face(10.3, 10.6), _grid_face(110.5, 10.2)
    drawn = qc.draw_landmarks(image, {"pretrained": pre, "finetuned": fine})
    assert not drawn[:, 0:5].any()  # nothing outside the faces
    assert not image.any()  # the input is left alone
    for model, pts in (("pretrained", pre), ("finetuned", fine)):
        colour = qc.MODEL_COLORS[model]
        for x, y in pts:
            assert tuple(drawn[int(round(y)), int(round(x))]) == colour
    assert qc.MODEL_COLORS == {"pretrained": (0x1F, 0x77, 0xB4), "finetuned": (0xFF, 0x7F, 0x0E)}


def test_overlay_skips_lost_landmarks_and_scales():
    image = np.zeros((60, 80, 3), np.uint8)
    lost = np.full((68, 2), np.nan)
    assert not qc.draw_landmarks(image, {"pretrained": lost}).any()
    pts = _grid_face(20.0, 20.0, 10.0)
    half = qc.draw_landmarks(image, {"finetuned": pts}, scale=0.5)
    assert tuple(half[10, 10]) == qc.MODEL_COLORS["finetuned"]


def test_label_darkens_the_corner_and_writes_text():
    image = np.full((120, 160, 3), 200, np.uint8)
    out = qc.draw_label(image, [("A001_01_BBP_NORMAL", None), *qc.status_lines({"pretrained": "lost"})])
    corner = out[:20, :60]
    assert (corner > 240).all(axis=2).any()  # white text, brighter than the image
    assert (corner < 100).all(axis=2).any()  # darkened box
    assert (out[-10:, -10:] == 200).all()  # the rest untouched
    swatch = (out == np.array(qc.MODEL_COLORS["pretrained"], np.uint8)).all(axis=2)
    assert swatch.sum() >= 9


# --- writing ---------------------------------------------------------------------------------


def _moving_frames(n: int, h: int = 120, w: int = 160) -> list[np.ndarray]:
    """Smooth colour gradients drifting frame to frame, with a sharp square (what a codec must keep)."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for k in range(n):
        image = np.stack([xx + 10 * k, yy * 1.5 + 5 * k, np.full_like(xx, 40 + 20 * k)], -1)
        image[30:60, 40 + 5 * k : 70 + 5 * k] = (250, 250, 30)
        frames.append(image.astype(np.uint8))
    return frames


def _probe(path) -> str:
    """FFmpeg's own description of the file's video stream (``ffmpeg -i`` ends with an error: no output)."""
    result = subprocess.run([qc.ffmpeg_executable(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return next(line for line in result.stderr.splitlines() if "Video:" in line)


def _decode(path) -> list[np.ndarray]:
    """Every frame of ``path`` as RGB, decoded by imageio-ffmpeg's reader (FFmpeg's H.264 decoder)."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(h, w, 3) for frame in reader]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_video_is_h264_decodes_to_the_frames_and_is_deterministic(tmp_path):
    frames = _moving_frames(7)
    path = tmp_path / "clip.mp4"
    assert qc.write_video(iter(frames), path, fps=5) == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no staged leftovers
    # H.264 (AVC, in an MP4 'avc1' sample entry with its avcC configuration box), what browsers play
    stream = _probe(path)
    assert "Video: h264 (High) (avc1" in stream and "yuv420p" in stream and "160x120" in stream, stream
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and b"avcC" in data and b"mp4v" not in data
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: the index comes first
    # decoded, the frames are the ones written, in order, within H.264's error (crf 23, and 4:2:0 chroma
    # halving colour resolution at sharp colour edges): PSNR well above 30 dB, far below a neighbour's
    decoded = _decode(path)
    assert len(decoded) == 7
    for k, read in enumerate(decoded):
        own = _psnr(frames[k], read)
        assert own > 30 and np.abs(frames[k].astype(float) - read).mean() < 3.0, (k, own)
        assert own > _psnr(frames[(k + 1) % 7], read) + 10, k
    # OpenCV reads it too (frame count, size)
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) == 7
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (160, 120)
    capture.release()
    # same frames, same bytes (the reliability test compares two runs' videos byte for byte)
    again = tmp_path / "again" / "clip.mp4"
    qc.write_video(frames, again, fps=5)
    assert again.read_bytes() == data
    # and different frames, different bytes
    qc.write_video(frames[::-1], again, fps=5)
    assert again.read_bytes() != data


def test_odd_sized_frames_are_padded_to_even(tmp_path):
    frames = [f[:119, :159] for f in _moving_frames(3)]
    qc.write_video(frames, tmp_path / "odd.mp4", fps=2.5)
    stream = _probe(tmp_path / "odd.mp4")
    assert "160x120" in stream and "2.50 fps" in stream, stream
    decoded = _decode(tmp_path / "odd.mp4")
    assert np.abs(decoded[1][:119, :159].astype(float) - frames[1]).mean() < 3.0


def test_failed_video_leaves_nothing(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(ValueError, match="differs|video"):
        qc.write_video([np.zeros((120, 160, 3), np.uint8), np.zeros((60, 80, 3), np.uint8)], path, fps=5)
    with pytest.raises(ValueError, match="no frames"):
        qc.write_video([], path, fps=5)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("n", "columns", "grid"), [(5, 3, (2, 3)), (12, None, (3, 4)), (1, None, (1, 1))])
def test_contact_sheet_size_matches_grid(n, columns, grid):
    h, w, gap = 30, 40, 4
    images = [np.full((h, w, 3), 10 * k, np.uint8) for k in range(n)]
    sheet = qc.contact_sheet(images, columns=columns, gap=gap, title="R", title_height=20)
    rows, cols = grid
    assert sheet.shape == (20 + rows * (h + gap) + gap, cols * (w + gap) + gap, 3)
    assert (sheet[20 + gap : 20 + gap + h, gap : gap + w] == 0).all()  # first image at top left
    assert not qc.contact_sheet(images, columns=columns, gap=gap).shape[0] == sheet.shape[0]  # no title band


def test_png_is_written_rgb(tmp_path):
    image = np.zeros((10, 12, 3), np.uint8)
    image[..., 0] = 255  # red
    qc.write_png(image, tmp_path / "red.png")
    back = cv2.imread(str(tmp_path / "red.png"))
    assert back.shape == (10, 12, 3) and (back[..., 2] == 255).all() and not back[..., :2].any()


def test_render_recording_one_pass(tmp_path):
    frames = synthetic_frames(9)
    bag = write_bag(tmp_path / "r.bag", frames)
    numbers = np.array([f[0] for f in frames])
    stamps = np.array([f[1] for f in frames])
    pts = np.broadcast_to(_grid_face(30.0, 20.0, 4.0), (9, 68, 2)).copy()
    tracks = {"pretrained": track_table(numbers, stamps, pts), "finetuned": track_table(numbers, stamps, pts + 3)}
    counts = qc.render_recording(
        open_bag(bag).frames("color"), tracks, "R1", tmp_path / "R1.mp4", tmp_path / "R1.png", 5, 5, 4, thumb_width=80
    )
    assert counts == {"frames": 9, "video": 5, "sheet": 4}
    capture = cv2.VideoCapture(str(tmp_path / "R1.mp4"))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 5
    sheet = cv2.imread(str(tmp_path / "R1.png"))
    assert sheet.shape == (28 + 2 * (60 + 4) + 4, 2 * (80 + 4) + 4, 3)  # 4 thumbnails of 80x60, 2x2

    def render(tracks):
        qc.render_recording(open_bag(bag).frames("color"), tracks, "R2", tmp_path / "R2.mp4", tmp_path / "R2.png")

    shifted = {m: t.assign(frame_number=numbers + 1) for m, t in tracks.items()}
    with pytest.raises(ValueError, match="frame 1000 at position 1"):  # the bag and the tracks disagree
        render(shifted)
    with pytest.raises(ValueError, match="disagree on frame numbers"):  # the models' tracks disagree
        render({"pretrained": tracks["pretrained"], "finetuned": shifted["finetuned"]})
    with pytest.raises(ValueError, match="the recording has 9 colour frames"):  # more rows than frames
        longer = {m: track_table(np.arange(1000, 1012), np.arange(12.0), np.zeros((12, 68, 2))) for m in tracks}
        render(longer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["R1.mp4", "R1.png", "r.bag"]


# --- metrics and flags -----------------------------------------------------------------------


def _tables(n: int = 20):
    status = ["tracked"] * n
    status[0] = "detected"
    status[4] = status[5] = "lost"
    status[6] = "detected"  # re-run after the loss
    status[14] = "detected"  # re-run after a jump
    track = pd.DataFrame({"position": np.arange(1, n + 1), "status": status})
    valid = np.ones((n, 68), bool)
    valid[2, :10] = False  # 10 landmarks without depth on a tracked frame
    valid[4:6] = False  # lost frames: not counted
    points3d = pd.DataFrame(valid, columns=V_COLUMNS).assign(position=np.arange(1, n + 1))
    return track, points3d[points3d["position"] != n]  # the last frame has no 3D row: all missing


def test_metrics_count_lost_redetections_and_missing_depth():
    m = qc.track_metrics(*_tables())
    assert m["frames"] == 20 and m["lost"] == 2 and m["redetections"] == 2
    assert m["lost_fraction"] == pytest.approx(0.1)
    assert m["redetection_fraction"] == pytest.approx(0.1)
    assert m["depth_missing_fraction"] == pytest.approx((10 + 68) / (18 * 68))


def test_metrics_first_detection_is_not_a_rerun():
    track = pd.DataFrame({"position": [1, 2, 3, 4], "status": ["lost", "lost", "detected", "tracked"]})
    m = qc.track_metrics(track, pd.DataFrame(np.ones((4, 68), bool), columns=V_COLUMNS).assign(position=[1, 2, 3, 4]))
    assert m["redetections"] == 0 and m["lost"] == 2 and m["depth_missing_fraction"] == 0.0


def test_flags_at_and_over_the_limits():
    m = qc.track_metrics(*_tables())  # lost and re-runs exactly 0.1, depth missing 0.064
    assert qc.flags({"pretrained": m, "finetuned": m}, LIMITS) == (False, "")  # at the limit: not flagged
    over = {**m, "lost_fraction": 0.1001}
    flagged, reasons = qc.flags({"pretrained": m, "finetuned": over}, LIMITS)
    assert flagged and reasons.startswith("finetuned lost_fraction 0.100 > 0.1") and "pretrained" not in reasons
    strict = {**LIMITS, "max_depth_missing_fraction": 0.05, "max_redetection_fraction": 0.0}
    flagged, reasons = qc.flags({"pretrained": m}, strict)
    assert flagged and reasons.count(";") == 1
    assert "depth_missing_fraction" in reasons and "redetection_fraction" in reasons
    empty = qc.track_metrics(pd.DataFrame({"position": [], "status": []}), _tables()[1])
    assert qc.flags({"pretrained": empty}, LIMITS) == (True, "pretrained: no frames")


def test_qc_row_and_html():
    m = qc.track_metrics(*_tables())
    rows = [
        qc.qc_row("R1", {"pretrained": m, "finetuned": m}, LIMITS),
        qc.qc_row("R2", {"pretrained": m, "finetuned": {**m, "lost_fraction": 0.5}}, LIMITS),
    ]
    assert (
        rows[0]["pretrained_lost"] == 2 and rows[0]["finetuned_depth_missing_fraction"] == m["depth_missing_fraction"]
    )
    assert [r["flagged"] for r in rows] == [False, True]
    page = qc.qc_html(pd.DataFrame(rows), LIMITS)
    assert "1 of 2 recordings flagged" in page
    assert page.count('<tr class="flagged">') == 1 and "0.500" in page

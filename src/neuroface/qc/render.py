"""Quality control of the video stage, the pictures: labelled videos and contact sheets.

Both models' landmarks are drawn on the colour frames (pre-trained blue, fine-tuned orange, as in
the figures), with the recording, frame number, time and each model's tracking status. Images are
``(H, W, 3) uint8`` RGB throughout; landmarks ``(68, 2)`` colour pixels (NaN when lost).
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from neuroface import landmarks as lm
from neuroface.colors import COLORS, LABELS
from neuroface.drawing import ONE, SHIFT, fixed_point
from neuroface.io import atomic_path
from neuroface.tracks import points

if TYPE_CHECKING:
    from neuroface.realsense.bag import Frame


__all__ = [
    "CONTOURS",
    "H264_ARGS",
    "MODEL_COLORS",
    "VideoSink",
    "contact_sheet",
    "draw_label",
    "draw_landmarks",
    "ffmpeg_executable",
    "open_video",
    "render_recording",
    "spaced_positions",
    "status_lines",
    "thumbnail",
    "write_png",
    "write_video",
]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


#: RGB drawing colour of each model (the figures' colours); the fine-tuned model is drawn on top.
MODEL_COLORS: dict[str, tuple[int, int, int]] = {m: _rgb(COLORS[m]) for m in ("pretrained", "finetuned")}

#: Landmark index runs joined by lines: (indices, closed?).
CONTOURS: tuple[tuple[tuple[int, ...], bool], ...] = (
    (lm.JAW, False),
    (tuple(range(17, 22)), False),
    (tuple(range(22, 27)), False),
    (tuple(range(27, 31)), False),
    (tuple(range(31, 36)), False),
    (lm.RIGHT_EYE, True),
    (lm.LEFT_EYE, True),
    (lm.OUTER_LIPS, True),
    (lm.INNER_LIPS, True),
)

_FONT = cv2.FONT_HERSHEY_SIMPLEX


# --- frame selection -------------------------------------------------------------------------


def spaced_positions(n_frames: int, k: int) -> np.ndarray:
    """``min(k, n_frames)`` evenly spaced 1-based frame positions, first and last included (sorted)."""
    if n_frames <= 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k >= n_frames:
        return np.arange(1, n_frames + 1)
    if k == 1:
        return np.array([1])
    return np.unique(np.round(np.linspace(1, n_frames, k)).astype(np.int64))


# --- drawing ---------------------------------------------------------------------------------


def draw_landmarks(
    image: np.ndarray, landmarks: Mapping[str, np.ndarray], scale: float = 1.0, radius: float = 2.0
) -> np.ndarray:
    """A copy of ``image`` with each model's ``(68, 2)`` landmarks (colour px, times ``scale``) drawn
    as dots joined along the face contours, in :data:`MODEL_COLORS` order; NaN landmarks are skipped."""
    out = np.ascontiguousarray(image).copy()
    for model in sorted(landmarks, key=lambda m: list(MODEL_COLORS).index(m) if m in MODEL_COLORS else -1):
        pts = np.asarray(landmarks[model], dtype=np.float64) * scale
        colour = MODEL_COLORS.get(model, (255, 255, 255))
        finite = np.isfinite(pts).all(axis=1)
        for indices, closed in CONTOURS:
            idx = list(indices)
            if finite[idx].all():
                cv2.polylines(out, [fixed_point(pts[idx])], closed, colour, 1, cv2.LINE_AA, SHIFT)
        for x, y in pts[finite]:
            centre = (int(round(x * ONE)), int(round(y * ONE)))
            cv2.circle(out, centre, int(round(radius * ONE)), colour, -1, cv2.LINE_AA, SHIFT)
    return out


def status_lines(statuses: Mapping[str, str], short: bool = False) -> list[tuple[str, tuple[int, int, int] | None]]:
    """Label lines ``(text, swatch colour)`` giving each model's tracking status."""
    names = {"pretrained": "PT", "finetuned": "FT"} if short else LABELS
    return [(f"{names.get(m, m)}: {s}", MODEL_COLORS.get(m)) for m, s in statuses.items()]


def draw_label(
    image: np.ndarray, lines: Sequence[tuple[str, tuple[int, int, int] | None]], font_scale: float = 0.5
) -> np.ndarray:
    """A copy of ``image`` with ``lines`` of white text, each after an optional colour swatch, on a
    darkened box in the top-left corner."""
    out = np.ascontiguousarray(image).copy()
    if not lines:
        return out
    thickness = 1
    (_, text_h), baseline = cv2.getTextSize("Ag", _FONT, font_scale, thickness)
    line_h = text_h + baseline + 2
    swatch = text_h
    pad = max(2, text_h // 3)
    widths = [
        cv2.getTextSize(text, _FONT, font_scale, thickness)[0][0] + (swatch + pad if c else 0) for text, c in lines
    ]
    x1 = min(out.shape[1], 2 * pad + max(widths))
    y1 = min(out.shape[0], 2 * pad + line_h * len(lines))
    out[:y1, :x1] = (out[:y1, :x1] * 0.35).astype(np.uint8)
    for i, (text, colour) in enumerate(lines):
        top = pad + i * line_h
        x = pad
        if colour is not None:
            cv2.rectangle(out, (x, top + 1), (x + swatch - 1, top + swatch), colour, -1)
            x += swatch + pad
        cv2.putText(out, text, (x, top + text_h), _FONT, font_scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` resized to ``width`` pixels wide, aspect kept (area interpolation)."""
    h, w = image.shape[:2]
    height = max(1, round(h * width / w))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def contact_sheet(
    images: Sequence[np.ndarray],
    columns: int | None = None,
    gap: int = 4,
    title: str | None = None,
    title_height: int = 28,
    background: tuple[int, int, int] = (32, 32, 32),
) -> np.ndarray:
    """Equal-sized RGB ``images`` in a grid (``columns`` default ``ceil(sqrt(n))``), ``gap`` px apart,
    under an optional ``title`` band ``title_height`` px high. Returns ``(H, W, 3) uint8`` with
    ``H = [title_height] + rows * (h + gap) + gap`` and ``W = columns * (w + gap) + gap``."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    h, w = images[0].shape[:2]
    if any(im.shape[:2] != (h, w) for im in images):
        raise ValueError("contact sheet images differ in size")
    cols = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    top = title_height if title else 0
    sheet = np.empty((top + rows * (h + gap) + gap, cols * (w + gap) + gap, 3), np.uint8)
    sheet[:] = background
    for k, im in enumerate(images):
        r, c = divmod(k, cols)
        y, x = top + gap + r * (h + gap), gap + c * (w + gap)
        sheet[y : y + h, x : x + w] = im
    if title:
        scale = 0.6 * title_height / 28
        (_, th), _ = cv2.getTextSize(title, _FONT, scale, 1)
        origin = (gap + 2, (title_height + th) // 2 + gap // 2)
        cv2.putText(sheet, title, origin, _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return sheet


# --- writing ---------------------------------------------------------------------------------


def write_png(image: np.ndarray, path: str | Path) -> None:
    """Write an RGB image as PNG, atomically."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path} as PNG")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.tobytes())


#: FFmpeg encoding of the QC videos: H.264 (libx264, High profile, 4:2:0), which browsers play, in an
#: MP4 with the index first (``faststart``: playback starts before the download ends). x264's default
#: quality (crf 23) leaves the sensor noise out and keeps the videos small enough for the report; the
#: ``veryfast`` preset encodes the QC frames at about a third of ``medium``'s CPU, in files of about the same
#: size (-6 % and +18 % on two participants' videos). One encoder
#: thread and FFmpeg's ``bitexact`` flags make the bytes a function of the frames alone (no thread
#: timing, no version or date in the container), so the same frames give the same file.
H264_ARGS: tuple[str, ...] = (
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
    "-threads", "1", "-x264-params", "threads=1:sliced-threads=0:lookahead-threads=1",
    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart",
)  # fmt: skip


def ffmpeg_executable() -> str:
    """The FFmpeg binary bundled with imageio-ffmpeg (built with libx264), or ``$IMAGEIO_FFMPEG_EXE``."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class VideoSink:
    """RGB frames piped to FFmpeg, encoded as H.264 into ``path`` (MP4); size fixed by the first frame.

    4:2:0 chroma needs even sizes: an odd width or height is padded by one black column or row.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = Path(path), float(fps)
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self.process: subprocess.Popen | None = None
        self._stderr = None

    def _start(self, width: int, height: int) -> None:
        self._stderr = tempfile.TemporaryFile()
        cmd = [
            ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"{self.fps:g}",
            "-i", "pipe:0", "-an", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            *H264_ARGS, "-f", "mp4", str(self.path),
        ]  # fmt: skip
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def _error(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()

    def write(self, image: np.ndarray) -> None:
        """Append one ``(H, W, 3) uint8`` RGB frame."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"a video frame is (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        if self.process is None:
            self.size = (w, h)
            self._start(w, h)
        elif (w, h) != self.size:
            raise ValueError(f"frame is {w}x{h}, the video {self.size[0]}x{self.size[1]}")
        try:
            self.process.stdin.write(np.ascontiguousarray(image).tobytes())
        except BrokenPipeError:
            self.process.wait()
            raise RuntimeError(f"FFmpeg stopped writing {self.path}: {self._error()}") from None
        self.frames += 1

    def release(self) -> None:
        """Finish the file: end FFmpeg's input and wait for it; raises if FFmpeg failed."""
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        if process.wait() != 0:
            raise RuntimeError(f"FFmpeg could not write {self.path} (exit {process.returncode}): {self._error()}")
        self._stderr.close()

    def abort(self) -> None:
        """Stop FFmpeg without finishing the file (which the caller removes)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process = None
        if self._stderr is not None:
            self._stderr.close()


@contextlib.contextmanager
def open_video(path: str | Path, fps: float) -> Iterator[VideoSink]:
    """A :class:`VideoSink` writing the H.264 MP4 ``path`` atomically: nothing at ``path`` unless
    every frame was written and FFmpeg finished the file."""
    target = Path(path)
    with atomic_path(target) as tmp:
        sink = VideoSink(tmp, fps)
        try:
            yield sink
            sink.release()
            if sink.frames == 0:
                raise ValueError(f"no frames written to {target}")
        finally:
            sink.abort()


def write_video(images: Iterable[np.ndarray], path: str | Path, fps: float) -> int:
    """Write RGB frames as an H.264 MP4, atomically, streaming; returns the number of frames."""
    with open_video(path, fps) as sink:
        for image in images:
            sink.write(image)
    return sink.frames


# --- one recording ---------------------------------------------------------------------------


def render_recording(
    frames: Iterable[Frame],
    tracks: Mapping[str, pd.DataFrame],
    recording: str,
    video_path: str | Path,
    sheet_path: str | Path,
    video_frames: int = 40,
    fps: float = 5.0,
    sheet_frames: int = 12,
    thumb_width: int = 320,
    progress: bool = False,
) -> dict[str, int]:
    """Labelled QC video and contact sheet of one recording, in one pass over its colour ``frames``.

    ``tracks``: model -> track table of the recording (one row per colour frame, in stream order).
    Only the selected frames are drawn; nothing but the sheet's thumbnails is kept. Returns the
    frame counts ``{"frames", "video", "sheet"}``.
    """
    lengths = {m: len(t) for m, t in tracks.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"{recording}: the models' tracks differ in length {lengths}")
    first = next(iter(tracks.values()))
    n = len(first)
    if n == 0:
        raise ValueError(f"{recording}: the tracks are empty")
    numbers = first["frame_number"].to_numpy()
    if any(not np.array_equal(t["frame_number"].to_numpy(), numbers) for t in tracks.values()):
        raise ValueError(f"{recording}: the models' tracks disagree on frame numbers")
    seconds = (first["timestamp_ms"].to_numpy(np.float64) - first["timestamp_ms"].iloc[0]) / 1000.0
    pts = {m: points(t) for m, t in tracks.items()}
    status = {m: t["status"].to_numpy() for m, t in tracks.items()}
    video_set = set(spaced_positions(n, video_frames).tolist())
    sheet_set = set(spaced_positions(n, sheet_frames).tolist())
    wanted = video_set | sheet_set
    last = max(wanted)
    thumbs: list[np.ndarray] = []
    seen = 0
    with open_video(video_path, fps) as video:
        stream = tqdm(frames, total=n, desc=recording, disable=not progress, mininterval=5)
        for position, frame in enumerate(stream, start=1):
            seen = position
            i = position - 1
            if frame.frame_number != numbers[i]:
                raise ValueError(
                    f"{recording}: frame {frame.frame_number} at position {position}, the track has {numbers[i]}"
                )
            if position in wanted:
                statuses = {m: str(status[m][i]) for m in tracks}
                drawn = draw_landmarks(frame.data, {m: pts[m][i] for m in tracks})
                if position in video_set:
                    header = [(recording, None), (f"frame {frame.frame_number}  t = {seconds[i]:.2f} s", None)]
                    video.write(draw_label(drawn, header + status_lines(statuses)))
                if position in sheet_set:
                    header = [(f"#{frame.frame_number}  {seconds[i]:.1f} s", None)]
                    small = thumbnail(drawn, thumb_width)
                    thumbs.append(draw_label(small, header + status_lines(statuses, short=True), 0.4))
            if position == last:
                break
        stream.close()
        if seen < last:
            raise ValueError(f"{recording}: the recording has {seen} colour frames, the tracks {n}")
    legend = "  ".join(f"{LABELS[m]} ({'blue' if m == 'pretrained' else 'orange'})" for m in tracks if m in LABELS)
    write_png(contact_sheet(thumbs, title=f"{recording}   {legend}"), sheet_path)
    return {"frames": n, "video": len(video_set), "sheet": len(thumbs)}

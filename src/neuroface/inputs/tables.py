"""The input data model: readers for the workflow's four input tables, with validation.

Each reader returns a DataFrame with fixed columns and dtypes plus a ``line`` column: the line
of the row in its file, counting the header as line 1 (blank lines count too, as in an editor).
Problems in the user's files raise :class:`~neuroface.errors.InputError` naming the file, the
line and the problem. Frames are 1-based positions in a recording's colour stream.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neuroface.errors import InputError
from neuroface.landmarks import N_LANDMARKS
from neuroface.tracks import X_COLUMNS, Y_COLUMNS

GROUPS = ("HC", "PS", "ALS")
TASKS = ("BBP", "PA", "PATAKA", "BLOW", "KISS", "OPEN", "SPREAD", "SMILE", "BROW", "REST")
SEGMENTED_TASKS = tuple(task for task in TASKS if task != "REST")
SEXES = ("F", "M")
AGE_RANGE = (0.0, 120.0)

PARTICIPANT_COLUMNS = ("participant_id", "group", "sex", "age", "consent_share")
RECORDING_COLUMNS = ("recording_id", "participant_id", "task", "bag", "faces_camera")
SEGMENT_COLUMNS = ("recording_id", "repetition", "start", "end")
#: NeuroFace's segmentation CSV; ``Number of Frames`` is optional and checked when present.
NEUROFACE_SEGMENT_COLUMNS = ("File Name", "repID", "start", "end")
NEUROFACE_N_FRAMES = "Number of Frames"

#: Annotation files: a frame column, then x1,y1,...,x68,y68.
ANNOTATION_FIELDS = 1 + 2 * N_LANDMARKS

#: Recording and participant ids become file names and wildcards: letters, digits, ``_``, ``.``
#: and ``-``, not starting with ``.`` or ``-``. They are opaque: no stage reads meaning into them.
RECORDING_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
#: Cells pandas reads back as missing or boolean, whatever the column (its default NA and
#: boolean words): an id spelled like this would not survive a table between two stages.
_NOT_STRINGS = frozenset({"na", "nan", "null", "none", "n/a", "true", "false"})
#: Suffixes the workflow appends to a recording id in its own file names.
_RESERVED_SUFFIXES = (".smoothed",)
VIDEO_SUFFIX = re.compile(r"\.(avi|mp4)$", re.IGNORECASE)
COLOR_SUFFIX = "_color"

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

PathLike = str | os.PathLike[str]


# --- reading delimited text ---------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """A delimited text file as stripped cells, with the line each data row starts on."""

    header: list[str]
    lines: list[int]
    cells: list[list[str]]


def _read_text(path: Path) -> str:
    """The file's text (UTF-8, optional byte-order mark), or an InputError."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from None


def _sniff_delimiter(text: str) -> str:
    """Tab if the first non-blank line has one, else comma."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if "\t" in header else ","


def _read_rows(path: Path, delimiter: str | None) -> _Rows:
    """Split ``path`` into header and data rows; ``delimiter=None`` sniffs it from the header.

    Rows whose cells are all blank are skipped but still counted as lines.
    """
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or _sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            cells = [cell.strip() for cell in cells]
            if any(cells):
                rows.append((start, cells))
    except csv.Error as exc:
        raise InputError(path, f"cannot parse: {exc}", reader.line_num) from None
    if not rows:
        raise InputError(path, "empty file")
    if len(rows) == 1:
        raise InputError(path, "no data rows below the header")
    header = rows[0][1]
    return _Rows(header, [line for line, _ in rows[1:]], [cells for _, cells in rows[1:]])


def _check_widths(rows: _Rows, width: int, path: Path, layout: str) -> None:
    """Every data row must have ``width`` cells."""
    for line, cells in zip(rows.lines, rows.cells, strict=True):
        if len(cells) != width:
            raise InputError(path, f"found {len(cells)} values, expected {width} ({layout})", line)


def _check_header(header: list[str], required: Collection[str], path: Path) -> None:
    """Column names must be non-empty, unique and include ``required``."""
    if "" in header:
        raise InputError(path, f"column {header.index('') + 1} has no name", 1)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(path, f"repeated column names: {', '.join(repeated)}", 1)
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(path, f"missing columns: {', '.join(missing)}", 1)


def _table(rows: _Rows, required: Collection[str], path: Path) -> pd.DataFrame:
    """Checked rows as a DataFrame of strings indexed by line number."""
    _check_header(rows.header, required, path)
    _check_widths(rows, len(rows.header), path, "one per header column")
    return pd.DataFrame(rows.cells, columns=rows.header, index=rows.lines, dtype=str)


def _with_line(table: pd.DataFrame) -> pd.DataFrame:
    """Move the line-number index into a trailing ``line`` column."""
    return table.assign(line=table.index.astype("int64")).reset_index(drop=True)


# --- parsing cells --------------------------------------------------------------------------


def _cell(parse: Callable[[str], Any], text: str, column: str, path: Path, line: int) -> Any:
    """``parse(text)``, turning its ValueError into an InputError for that cell."""
    try:
        return parse(text)
    except ValueError as exc:
        raise InputError(path, f"{column}: {exc}", line) from None


def _column(table: pd.DataFrame, column: str, parse: Callable[[str], Any], path: Path) -> pd.Series:
    """Parse every cell of ``column``; the first bad cell raises."""
    values = [_cell(parse, text, column, path, line) for line, text in table[column].items()]
    return pd.Series(values, index=table.index)


def _text(text: str) -> str:
    """A non-empty string."""
    if not text:
        raise ValueError("missing value")
    return text


def _member(allowed: Collection[str], description: str) -> Callable[[str], str]:
    """A parser accepting only values in ``allowed``, described as ``description``."""

    def parse(text: str) -> str:
        if _text(text) not in allowed:
            raise ValueError(f"{text!r} is not {description}")
        return text

    return parse


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    """A parser accepting one of ``choices`` exactly."""
    return _member(choices, f"one of {', '.join(choices)}")


def _parse_bool(text: str) -> bool:
    """true/false, yes/no or 1/0, any case."""
    word = _text(text).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected true/false, yes/no or 1/0, got {text!r}")


def _parse_float(text: str) -> float:
    """A finite number."""
    _text(text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def _parse_int(text: str) -> int:
    """An integer; integral decimals such as ``12.0`` (spreadsheet exports) are accepted."""
    value = _parse_float(text)
    if not value.is_integer():
        raise ValueError(f"expected an integer, got {text!r}")
    return int(value)


def _parse_frame(text: str) -> int:
    """A 1-based frame number."""
    frame = _parse_int(text)
    if frame < 1:
        raise ValueError(f"frame {frame} is before the first frame (frames count from 1)")
    return frame


def _parse_age(text: str) -> float:
    """Age in years within AGE_RANGE."""
    age = _parse_float(text)
    low, high = AGE_RANGE
    if not low <= age <= high:
        raise ValueError(f"{text} is outside [{low:g}, {high:g}]")
    return age


def _parse_id(text: str) -> str:
    """An opaque id usable as a file name and wildcard that survives every table it passes.

    Refused: characters other than letters, digits, ``_``, ``.`` and ``-`` (or a leading ``.``
    or ``-``); ids pandas would read back as a number, a boolean or missing (``001``, ``1e3``,
    ``NA``, ``true``); ids ending in a suffix the workflow appends (``.smoothed``).
    """
    if not RECORDING_ID.fullmatch(_text(text)):
        raise ValueError(
            f"{text!r} is not a valid id: use letters, digits, '_', '.' and '-' only, not starting with '.' or '-'"
        )
    if text.lower() in _NOT_STRINGS or _looks_numeric(text):
        raise ValueError(
            f"{text!r} is not a valid id: the tables between the workflow's stages would read it back as a "
            "number, a boolean or a missing value; give it a letter prefix (e.g. 'P' + id)"
        )
    if text.endswith(_RESERVED_SUFFIXES):
        raise ValueError(f"{text!r} is not a valid id: the workflow appends {_RESERVED_SUFFIXES[0]!r} to ids itself")
    return text


def _looks_numeric(text: str) -> bool:
    """Whether pandas' CSV reader would parse ``text`` as a number (``001``, ``1.5``, ``1e3``, ``inf``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_bag(text: str, base: Path, check_file: bool) -> str:
    """A bag path, absolute, relative paths taken from ``base``; optionally it must exist."""
    bag = os.path.abspath(base / _text(text))
    if check_file and not os.path.isfile(bag):
        raise ValueError(f"file not found: {bag}")
    return bag


# --- whole-table checks --------------------------------------------------------------------


def _reject_duplicates(table: pd.DataFrame, columns: list[str], path: Path, describe: Callable[[tuple], str]) -> None:
    """The first row repeating an earlier row's values in ``columns`` raises."""
    seen: dict[tuple, int] = {}
    for line, key in zip(table.index, table[columns].itertuples(index=False, name=None), strict=True):
        if key in seen:
            raise InputError(path, f"duplicate {describe(key)}, already on line {seen[key]}", line)
        seen[key] = line


def _recording_for_name(name: str, known: Collection[str]) -> str | None:
    """The recording a NeuroFace video name refers to, or None.

    The name itself if it is a recording id; else without a trailing ``.avi``/``.mp4``, then also
    without ``_color``. Ids are matched whole, never split (``rec.v2.avi`` -> ``rec.v2``).
    """
    if name in known:
        return name
    stem = VIDEO_SUFFIX.sub("", name)
    if stem not in known and stem.endswith(COLOR_SUFFIX):
        stem = stem[: -len(COLOR_SUFFIX)]
    return stem if stem in known else None


# --- participants and recordings -------------------------------------------------------------


def read_participants(path: PathLike) -> pd.DataFrame:
    """Read the participants TSV.

    Columns: participant_id (str, unique), group (GROUPS), sex (F/M), age (float, years),
    consent_share (bool), any extra columns as str, then line.
    """
    path = Path(path)
    table = _table(_read_rows(path, "\t"), PARTICIPANT_COLUMNS, path)
    if "line" in table.columns:
        raise InputError(path, "column name 'line' is reserved", 1)
    out = table.copy()
    out["participant_id"] = _column(table, "participant_id", _parse_id, path)
    _reject_duplicates(out, ["participant_id"], path, lambda key: f"participant_id {key[0]!r}")
    out["group"] = _column(table, "group", _one_of(GROUPS), path)
    out["sex"] = _column(table, "sex", _one_of(SEXES), path)
    out["age"] = _column(table, "age", _parse_age, path).astype("float64")
    out["consent_share"] = _column(table, "consent_share", _parse_bool, path).astype(bool)
    return _with_line(out)


def read_recordings(path: PathLike, participants: pd.DataFrame, check_files: bool = True) -> pd.DataFrame:
    """Read the recordings TSV.

    Columns: recording_id (str, unique, RECORDING_ID), participant_id (str, in
    ``participants``), task (TASKS), bag (absolute path as str; relative paths are taken from
    the TSV's directory; must exist if ``check_files``), faces_camera (bool), line.
    At most one recording per participant and task. Extra columns are ignored.
    """
    path = Path(path)
    table = _table(_read_rows(path, "\t"), RECORDING_COLUMNS, path)
    known = set(participants["participant_id"])
    out = pd.DataFrame(index=table.index)
    out["recording_id"] = _column(table, "recording_id", _parse_id, path)
    _reject_duplicates(out, ["recording_id"], path, lambda key: f"recording_id {key[0]!r}")
    out["participant_id"] = _column(table, "participant_id", _member(known, "in the participants table"), path)
    out["task"] = _column(table, "task", _one_of(TASKS), path)
    _reject_duplicates(
        out,
        ["participant_id", "task"],
        path,
        lambda key: f"recording of participant {key[0]!r} in task {key[1]} (at most one per participant and task)",
    )
    bag = partial(_parse_bag, base=path.parent, check_file=check_files)
    out["bag"] = _column(table, "bag", bag, path)
    out["faces_camera"] = _column(table, "faces_camera", _parse_bool, path).astype(bool)
    return _with_line(out)


# --- segmentation --------------------------------------------------------------------------


def _segment_layout(header: list[str], path: Path) -> tuple[tuple[str, ...], str, str]:
    """(required columns, recording column, repetition column) of the header's format."""
    if "recording_id" in header:
        return SEGMENT_COLUMNS, "recording_id", "repetition"
    if "File Name" in header:
        return NEUROFACE_SEGMENT_COLUMNS, "File Name", "repID"
    raise InputError(
        path,
        "unrecognised segmentation header; expected columns "
        f"{', '.join(SEGMENT_COLUMNS)} or (NeuroFace) "
        f"File Name, repID, {NEUROFACE_N_FRAMES}, start, end",
        1,
    )


def _segment_recording(text: str, tasks: Mapping[str, str], neuroface: bool) -> str:
    """The segmented recording's id: known, and not REST."""
    recording = _recording_for_name(_text(text), tasks) if neuroface else _text(text)
    if recording not in tasks:
        raise ValueError(f"unknown recording {text!r} (not in the recordings table)")
    if tasks[recording] == "REST":
        raise ValueError(f"recording {recording!r} is a REST recording, which is not segmented")
    return recording


def _check_segment(segment: Any, path: Path, stated: int | None) -> None:
    """One repetition must run forwards and span its ``stated`` frame count, if any."""
    if segment.end < segment.start:
        raise InputError(
            path,
            f"segment runs backwards: end {segment.end} is before start {segment.start}",
            segment.Index,
        )
    length = segment.end - segment.start + 1
    if stated is not None and stated != length:
        raise InputError(
            path,
            f"{NEUROFACE_N_FRAMES} is {stated} but start-end {segment.start}-{segment.end} spans {length} frames",
            segment.Index,
        )


def _reject_overlaps(seg: pd.DataFrame, path: Path) -> None:
    """Repetitions of one recording must not share frames; the later line is cited.

    In start order, any overlap shows up between neighbours.
    """
    for recording, reps in seg.groupby("recording_id", sort=False):
        ordered = reps.sort_values("start", kind="stable").itertuples()
        for before, after in pairwise(ordered):
            if after.start <= before.end:
                first, second = sorted([before, after], key=lambda rep: rep.Index)
                raise InputError(
                    path,
                    f"repetition {second.repetition} (frames {second.start}-{second.end}) "
                    f"of recording {recording!r} overlaps repetition {first.repetition} "
                    f"(frames {first.start}-{first.end}) on line {first.Index}",
                    second.Index,
                )


def read_segmentation(path: PathLike, recordings: pd.DataFrame) -> pd.DataFrame:
    """Read the repetition segmentation, in either of two formats detected from the header.

    This project's TSV ``recording_id, repetition, start, end``, or NeuroFace's CSV
    ``File Name, repID, Number of Frames, start, end`` whose video names (e.g.
    ``A002_02_BBP_NORMAL_color.avi``) map to recording ids as in :func:`_recording_for_name`.
    Frames are 1-based and inclusive. Columns: recording_id (str), repetition, start, end
    (int64), line; sorted by recording then start.
    """
    path = Path(path)
    rows = _read_rows(path, None)
    required, recording_column, repetition_column = _segment_layout(rows.header, path)
    table = _table(rows, required, path)
    tasks = dict(zip(recordings["recording_id"], recordings["task"], strict=True))
    neuroface = recording_column == "File Name"
    recording = partial(_segment_recording, tasks=tasks, neuroface=neuroface)

    seg = pd.DataFrame(index=table.index)
    seg["recording_id"] = _column(table, recording_column, recording, path)
    seg["repetition"] = _column(table, repetition_column, _parse_int, path).astype("int64")
    seg["start"] = _column(table, "start", _parse_frame, path).astype("int64")
    seg["end"] = _column(table, "end", _parse_int, path).astype("int64")
    stated_lengths = (
        _column(table, NEUROFACE_N_FRAMES, _parse_int, path)
        if NEUROFACE_N_FRAMES in table.columns
        else [None] * len(table)
    )
    for segment, stated in zip(seg.itertuples(), stated_lengths, strict=True):
        _check_segment(segment, path, stated)
    _reject_duplicates(
        seg,
        ["recording_id", "repetition"],
        path,
        lambda key: f"repetition {key[1]} of recording {key[0]!r}",
    )
    _reject_overlaps(seg, path)
    return _with_line(seg.sort_values(["recording_id", "start"], kind="stable"))


def check_segments_within(seg: pd.DataFrame, n_frames: Mapping[str, int], path: PathLike) -> None:
    """Every segment must end within its recording's ``n_frames``; ``path`` is the seg file.

    Recordings absent from ``n_frames`` are not checked, so callers may check one at a time.
    """
    for segment in seg.itertuples(index=False):
        total = n_frames.get(segment.recording_id)
        if total is not None and segment.end > total:
            raise InputError(
                path,
                f"segment {segment.start}-{segment.end} falls outside recording "
                f"{segment.recording_id!r}, which has {total} frames",
                segment.line,
            )


# --- landmark annotations ------------------------------------------------------------------


def _annotation_row(names: list[str], cells: list[str], path: Path, line: int) -> tuple[int, list[float]]:
    """One annotation row's frame and its 136 coordinates (x1, y1, ..., x68, y68)."""
    frame = _cell(_parse_frame, cells[0], names[0], path, line)
    coords = [_cell(_parse_float, text, name, path, line) for name, text in zip(names[1:], cells[1:], strict=True)]
    return frame, coords


def read_annotations(path: PathLike, recording_id: str) -> pd.DataFrame:
    """Read one NeuroFace ``Landmarks_gt`` file: CSV, header, frame then x1,y1,...,x68,y68.

    Header names are free; the first column is the 1-based frame, then 136 coordinates.
    Columns: recording_id (str), frame (int64), x0..x67, y0..y67 (float64, 0-based landmark
    numbers), source (the file, str), line; sorted by frame.
    """
    path = Path(path)
    rows = _read_rows(path, ",")
    if len(rows.header) != ANNOTATION_FIELDS:
        raise InputError(
            path,
            f"header has {len(rows.header)} columns, expected {ANNOTATION_FIELDS} (frame, then x1,y1,...,x68,y68)",
            1,
        )
    _check_widths(rows, ANNOTATION_FIELDS, path, "a frame, then x,y of 68 landmarks")
    parsed = [
        _annotation_row(rows.header, cells, path, line) for line, cells in zip(rows.lines, rows.cells, strict=True)
    ]
    frames = [frame for frame, _ in parsed]
    coords = np.array([values for _, values in parsed]).reshape(-1, N_LANDMARKS, 2)
    ann = pd.DataFrame(
        {
            "recording_id": recording_id,
            "frame": np.array(frames, dtype=np.int64),
            **dict(zip(X_COLUMNS, coords[:, :, 0].T, strict=True)),
            **dict(zip(Y_COLUMNS, coords[:, :, 1].T, strict=True)),
            "source": str(path),
        },
        index=rows.lines,
    )
    _reject_duplicates(ann, ["frame"], path, lambda key: f"frame {key[0]}")
    return _with_line(ann.sort_values("frame", kind="stable"))


def annotation_points(ann: pd.DataFrame) -> np.ndarray:
    """The annotated landmarks as an ``(N, 68, 2)`` float64 array (x, y), in row order."""
    xs = ann[list(X_COLUMNS)].to_numpy(np.float64)
    ys = ann[list(Y_COLUMNS)].to_numpy(np.float64)
    return np.stack([xs, ys], axis=-1)


def check_annotations_within(ann: pd.DataFrame, n_frames: int, path: PathLike) -> None:
    """Every annotated frame must exist in a recording of ``n_frames`` frames."""
    for row in ann.itertuples(index=False):
        if row.frame > n_frames:
            raise InputError(
                path,
                f"frame {row.frame} is annotated but the recording has only {n_frames} frames",
                row.line,
            )


def _annotation_files(directory: Path, known: Collection[str]) -> dict[str, Path]:
    """Map recording ids to their ``<id>.txt`` or ``<id>_color.txt`` file in ``directory``."""
    if not directory.is_dir():
        raise InputError(directory, "directory not found")
    files: dict[str, Path] = {}
    for file in sorted(directory.glob("*.txt")):
        if file.name.startswith("."):
            continue
        recording = _recording_for_name(file.stem, known)
        if recording is None:
            raise InputError(file, f"annotation file for unknown recording {file.stem!r}")
        if recording in files:
            raise InputError(file, f"second annotation file for recording {recording!r} ({files[recording]})")
        files[recording] = file
    if not files:
        raise InputError(directory, "no annotation files (*.txt)")
    return files


def read_annotation_dir(directory: PathLike, recordings: pd.DataFrame) -> pd.DataFrame:
    """Read ``<directory>/<recording_id>[_color].txt`` for every recording that has one.

    Hidden files are ignored; any other ``*.txt`` must belong to a known recording.
    Returns the concatenation of :func:`read_annotations` frames, by recording id, with the
    recording's ``participant_id`` (from the recordings table, never from the id) after
    ``recording_id``.
    """
    files = _annotation_files(Path(directory), set(recordings["recording_id"]))
    parts = [read_annotations(files[recording], recording) for recording in sorted(files)]
    ann = pd.concat(parts, ignore_index=True)
    owner = dict(zip(recordings["recording_id"], recordings["participant_id"], strict=True))
    ann.insert(1, "participant_id", ann["recording_id"].map(owner))
    return ann

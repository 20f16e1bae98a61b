"""Tests for the input tables: every rule has a passing file and a failing one."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroface.errors import InputError
from neuroface.inputs.tables import (
    SEGMENTED_TASKS,
    TASKS,
    annotation_points,
    check_annotations_within,
    check_segments_within,
    read_annotation_dir,
    read_annotations,
    read_participants,
    read_recordings,
    read_segmentation,
)

PARTICIPANTS_HEADER = "participant_id\tgroup\tsex\tage\tconsent_share"
PARTICIPANT_ROWS = ["P01\tHC\tF\t61\ttrue", "P02\tPS\tM\t70.5\tno", "P03\tALS\tF\t55\t1"]
RECORDINGS_HEADER = "recording_id\tparticipant_id\ttask\tbag\tfaces_camera"


def write(path: Path, *lines: str) -> Path:
    """Write ``lines`` to ``path``, one per line."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def raises(path: Path, problem: str, line: int | None = None):
    """Expect an InputError for ``path`` (and ``line``) whose problem matches regex ``problem``."""
    where = f"{path}: line {line}: " if line is not None else f"{path}: "
    return pytest.raises(InputError, match="^" + re.escape(where) + problem)


# --- errors ----------------------------------------------------------------------------------


def test_input_error_message_and_attributes():
    error = InputError(Path("a/b.tsv"), "bad value", 3)
    assert str(error) == "a/b.tsv: line 3: bad value"
    assert (error.path, error.line, error.problem) == ("a/b.tsv", 3, "bad value")
    assert str(InputError("a.tsv", "file not found")) == "a.tsv: file not found"
    assert isinstance(error, ValueError)


def test_input_error_survives_pickling():
    error = pickle.loads(pickle.dumps(InputError("a.tsv", "bad", 2)))
    assert (str(error), error.line) == ("a.tsv: line 2: bad", 2)


# --- participants ----------------------------------------------------------------------------


@pytest.fixture
def participants_tsv(tmp_path: Path) -> Path:
    return write(tmp_path / "participants.tsv", PARTICIPANTS_HEADER, *PARTICIPANT_ROWS)


@pytest.fixture
def participants(participants_tsv: Path) -> pd.DataFrame:
    return read_participants(participants_tsv)


def test_participants_good_file(participants: pd.DataFrame):
    assert list(participants.columns) == [
        "participant_id", "group", "sex", "age", "consent_share", "line",
    ]  # fmt: skip
    assert list(participants["participant_id"]) == ["P01", "P02", "P03"]
    assert list(participants["group"]) == ["HC", "PS", "ALS"]
    assert list(participants["age"]) == [61.0, 70.5, 55.0]
    assert list(participants["consent_share"]) == [True, False, True]
    assert list(participants["line"]) == [2, 3, 4]
    assert participants["age"].dtype == np.float64
    assert participants["consent_share"].dtype == bool
    assert participants["line"].dtype == np.int64


def test_participants_extra_columns_kept(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER + "\tsite", "P01\tHC\tF\t61\ttrue\tTO")
    assert read_participants(path)["site"].tolist() == ["TO"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("TRUE", True), ("Yes", True), ("1", True),
     ("false", False), ("False", False), ("NO", False), ("0", False)],
)  # fmt: skip
def test_bool_parsing(tmp_path: Path, text: str, value: bool):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, f"P01\tHC\tF\t61\t{text}")
    assert read_participants(path)["consent_share"].tolist() == [value]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("maybe", "expected true/false, yes/no or 1/0, got 'maybe'"),
     ("y", "expected true/false"), ("2", "expected true/false"), ("", "missing value")],
)  # fmt: skip
def test_bool_parsing_rejects_other_words(tmp_path: Path, text: str, problem: str):
    rows = ("P01\tHC\tF\t61\ttrue", f"P02\tHC\tF\t61\t{text}")
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, *rows)
    with raises(path, "consent_share: " + problem, 3):
        read_participants(path)


def test_participants_missing_columns_are_named(tmp_path: Path):
    path = write(tmp_path / "p.tsv", "participant_id\tgroup\tage", "P01\tHC\t61")
    with raises(path, "missing columns: sex, consent_share", 1):
        read_participants(path)


def test_participants_unknown_group(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, PARTICIPANT_ROWS[0], "P02\tMS\tM\t50\tno")
    with raises(path, r"group: 'MS' is not one of HC, PS, ALS", 3):
        read_participants(path)


def test_participants_duplicate_id(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, *PARTICIPANT_ROWS, PARTICIPANT_ROWS[1])
    with raises(path, r"duplicate participant_id 'P02', already on line 3", 5):
        read_participants(path)


def test_participants_empty_id(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "\tHC\tF\t61\ttrue")
    with raises(path, "participant_id: missing value", 2):
        read_participants(path)


def test_participants_bad_sex(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "P01\tHC\tX\t61\ttrue")
    with raises(path, "sex: 'X' is not one of F, M", 2):
        read_participants(path)


@pytest.mark.parametrize(
    ("age", "problem"),
    [("old", "expected a number, got 'old'"), ("nan", "expected a finite number, got 'nan'"),
     ("inf", "expected a finite number"), ("130", r"130 is outside \[0, 120\]"),
     ("-1", r"-1 is outside \[0, 120\]")],
)  # fmt: skip
def test_participants_bad_age(tmp_path: Path, age: str, problem: str):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, f"P01\tHC\tF\t{age}\ttrue")
    with raises(path, "age: " + problem, 2):
        read_participants(path)


def test_participants_age_bounds_inclusive(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "P01\tHC\tF\t0\t1", "P02\tHC\tF\t120\t1")
    assert read_participants(path)["age"].tolist() == [0.0, 120.0]


def test_missing_file(tmp_path: Path):
    path = tmp_path / "nope.tsv"
    with raises(path, "file not found$"):
        read_participants(path)


def test_empty_file(tmp_path: Path):
    path = write(tmp_path / "p.tsv")
    with raises(path, "empty file$"):
        read_participants(path)


def test_header_only(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "")
    with raises(path, "no data rows below the header$"):
        read_participants(path)


def test_row_with_wrong_field_count(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, PARTICIPANT_ROWS[0], "P02\tHC\tF\t61")
    with raises(path, r"found 4 values, expected 5 \(one per header column\)", 3):
        read_participants(path)


def test_blank_lines_are_skipped_but_counted(tmp_path: Path):
    path = write(
        tmp_path / "p.tsv",
        PARTICIPANTS_HEADER,
        "",
        PARTICIPANT_ROWS[0],
        "\t\t\t\t",
        "P09\tXX\tF\t1\t1",
    )
    with raises(path, "group: 'XX'", 5):
        read_participants(path)


def test_repeated_column_names(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER + "\tage", PARTICIPANT_ROWS[0] + "\t3")
    with raises(path, "repeated column names: age", 1):
        read_participants(path)


def test_unnamed_column(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER + "\t", PARTICIPANT_ROWS[0] + "\tx")
    with raises(path, "column 6 has no name", 1):
        read_participants(path)


def test_reserved_line_column(tmp_path: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER + "\tline", PARTICIPANT_ROWS[0] + "\t3")
    with raises(path, "column name 'line' is reserved", 1):
        read_participants(path)


def test_byte_order_mark_is_ignored(tmp_path: Path):
    path = tmp_path / "p.tsv"
    path.write_text(PARTICIPANTS_HEADER + "\n" + PARTICIPANT_ROWS[0] + "\n", encoding="utf-8-sig")
    assert read_participants(path)["participant_id"].tolist() == ["P01"]


# --- recordings ------------------------------------------------------------------------------


@pytest.fixture
def bags(tmp_path: Path) -> Path:
    folder = tmp_path / "bags"
    folder.mkdir()
    for name in ("r1", "r2", "r3"):
        (folder / f"{name}.bag").write_bytes(b"")
    return folder


def recordings_tsv(tmp_path: Path, *rows: str) -> Path:
    return write(tmp_path / "recordings.tsv", RECORDINGS_HEADER, *rows)


GOOD_RECORDINGS = ("R1\tP01\tBBP\tbags/r1.bag\tyes", "R2\tP01\tREST\tbags/r2.bag\t0")


def test_recordings_good_file(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    absolute = f"R3\tP02\tOPEN\t{bags / 'r3.bag'}\tTrue"
    recs = read_recordings(recordings_tsv(tmp_path, *GOOD_RECORDINGS, absolute), participants)
    assert list(recs.columns) == [
        "recording_id", "participant_id", "task", "bag", "faces_camera", "line",
    ]  # fmt: skip
    assert recs["bag"].tolist() == [str(bags / f"r{i}.bag") for i in (1, 2, 3)]
    assert all(Path(bag).is_absolute() for bag in recs["bag"])
    assert recs["faces_camera"].tolist() == [True, False, True]
    assert recs["faces_camera"].dtype == bool
    assert recs["line"].tolist() == [2, 3, 4]


def test_recordings_relative_bag_resolved_against_tsv_dir(
    tmp_path: Path, participants: pd.DataFrame, bags: Path, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    recs = read_recordings(recordings_tsv(tmp_path, GOOD_RECORDINGS[0]), participants)
    assert recs["bag"].tolist() == [str(bags / "r1.bag")]


def test_recordings_missing_bag(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, GOOD_RECORDINGS[0], "R2\tP01\tOPEN\tbags/gone.bag\t1")
    with raises(path, "bag: file not found: " + re.escape(str(bags / "gone.bag")), 3):
        read_recordings(path, participants)
    recs = read_recordings(path, participants, check_files=False)
    assert recs["bag"].tolist()[1] == str(bags / "gone.bag")


def test_recordings_unknown_task(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, GOOD_RECORDINGS[0], "R2\tP01\tJUMP\tbags/r2.bag\t1")
    with raises(path, "task: 'JUMP' is not one of " + ", ".join(TASKS), 3):
        read_recordings(path, participants)


def test_recordings_unknown_participant(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, "R1\tP99\tBBP\tbags/r1.bag\t1")
    with raises(path, "participant_id: 'P99' is not in the participants table", 2):
        read_recordings(path, participants)


def test_recordings_duplicate_id(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, *GOOD_RECORDINGS, "R1\tP02\tBBP\tbags/r3.bag\t1")
    with raises(path, "duplicate recording_id 'R1', already on line 2", 4):
        read_recordings(path, participants)


def test_recordings_one_per_participant_and_task(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, *GOOD_RECORDINGS, "R3\tP01\tBBP\tbags/r3.bag\t1")
    with raises(path, "duplicate recording of participant 'P01' in task BBP .*already on line 2", 4):
        read_recordings(path, participants)


@pytest.mark.parametrize("bad_id", ["R 1", "R/1", "..", "-R1", ".R1", "R1*"])
def test_recordings_id_must_be_a_safe_file_name(tmp_path: Path, participants: pd.DataFrame, bags: Path, bad_id: str):
    path = recordings_tsv(tmp_path, f"{bad_id}\tP01\tBBP\tbags/r1.bag\t1")
    with raises(path, f"recording_id: {re.escape(repr(bad_id))} is not a valid id", 2):
        read_recordings(path, participants)


@pytest.mark.parametrize("good_id", ["rec001", "N002_01_BBP.v2", "x-17.take-2", "A002_02_OPEN_NORMAL", "_1"])
def test_recordings_ids_are_opaque(tmp_path: Path, participants: pd.DataFrame, bags: Path, good_id: str):
    path = recordings_tsv(tmp_path, f"{good_id}\tP01\tBBP\tbags/r1.bag\t1")
    assert read_recordings(path, participants)["recording_id"].tolist() == [good_id]


@pytest.mark.parametrize("bad_id", ["001", "1.5", "1e3", "inf", "NA", "nan", "null", "None", "true", "rec.smoothed"])
def test_recordings_ids_that_would_not_survive_a_table_are_refused(
    tmp_path: Path, participants: pd.DataFrame, bags: Path, bad_id: str
):
    """pandas reads these back as numbers, booleans or missing values (``.smoothed`` is the workflow's suffix)."""
    path = recordings_tsv(tmp_path, f"{bad_id}\tP01\tBBP\tbags/r1.bag\t1")
    with raises(path, f"recording_id: {re.escape(repr(bad_id))} is not a valid id", 2):
        read_recordings(path, participants)
    written = tmp_path / "roundtrip.tsv"
    pd.DataFrame({"recording_id": [bad_id, bad_id]}).to_csv(written, sep="\t", index=False)
    if not bad_id.endswith(".smoothed"):  # the reason: it does not come back as the same string
        assert pd.read_csv(written, sep="\t")["recording_id"].tolist() != [bad_id, bad_id]


@pytest.mark.parametrize("bad_id", ["P 1", "P/1", "007", "NA", "-P1"])
def test_participant_ids_are_checked_like_recording_ids(tmp_path: Path, bad_id: str):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, PARTICIPANT_ROWS[0], f"{bad_id}\tHC\tF\t61\ttrue")
    with raises(path, f"participant_id: {re.escape(repr(bad_id))} is not a valid id", 3):
        read_participants(path)


def test_participant_ids_with_underscores_are_kept_whole(tmp_path: Path, bags: Path):
    path = write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "site_1_P01\tHC\tF\t61\ttrue", "P_2\tPS\tM\t50\t0")
    participants = read_participants(path)
    recs = read_recordings(
        recordings_tsv(tmp_path, "P_2_BBP\tsite_1_P01\tBBP\tbags/r1.bag\t1", "rec9\tP_2\tBBP\tbags/r2.bag\t1"),
        participants,
    )
    assert recs["participant_id"].tolist() == ["site_1_P01", "P_2"]


def test_recordings_bad_faces_camera(tmp_path: Path, participants: pd.DataFrame, bags: Path):
    path = recordings_tsv(tmp_path, "R1\tP01\tBBP\tbags/r1.bag\tsometimes")
    with raises(path, "faces_camera: expected true/false", 2):
        read_recordings(path, participants)


# --- segmentation ----------------------------------------------------------------------------


@pytest.fixture
def recordings(tmp_path: Path, participants: pd.DataFrame) -> pd.DataFrame:
    rows = [
        "R1\tP01\tBBP\tr1.bag\t1",
        "A002_02_BBP_NORMAL\tP02\tBBP\tr2.bag\t1",
        "R3\tP01\tREST\tr3.bag\t1",
        "B_color\tP03\tOPEN\tr4.bag\t1",
    ]
    return read_recordings(recordings_tsv(tmp_path, *rows), participants, check_files=False)


SEG_HEADER = "recording_id\trepetition\tstart\tend"
NF_HEADER = "File Name,repID,Number of Frames,start,end"


def seg_tsv(tmp_path: Path, *rows: str) -> Path:
    return write(tmp_path / "seg.tsv", SEG_HEADER, *rows)


def test_segmentation_tsv_good_file(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t2\t50\t80", "A002_02_BBP_NORMAL\t1\t1\t10", "R1\t1\t10\t49")
    seg = read_segmentation(path, recordings)
    assert list(seg.columns) == ["recording_id", "repetition", "start", "end", "line"]
    assert seg.values.tolist() == [
        ["A002_02_BBP_NORMAL", 1, 1, 10, 3],
        ["R1", 1, 10, 49, 4],
        ["R1", 2, 50, 80, 2],
    ]
    assert all(seg[c].dtype == np.int64 for c in ("repetition", "start", "end", "line"))


def test_segmentation_neuroface_csv(tmp_path: Path, recordings: pd.DataFrame):
    path = write(
        tmp_path / "seg.csv",
        NF_HEADER,
        "A002_02_BBP_NORMAL_color.avi,1,11,5,15",
        "A002_02_BBP_NORMAL_color,2,5,16,20",
        "R1.mp4,1,1,3,3",
        "B_color.AVI,1,2,1,2",  # a recording id that itself ends in _color
    )
    seg = read_segmentation(path, recordings)
    assert seg[["recording_id", "repetition", "start", "end"]].values.tolist() == [
        ["A002_02_BBP_NORMAL", 1, 5, 15],
        ["A002_02_BBP_NORMAL", 2, 16, 20],
        ["B_color", 1, 1, 2],
        ["R1", 1, 3, 3],
    ]


def test_segmentation_neuroface_without_frame_count(tmp_path: Path, recordings: pd.DataFrame):
    path = write(tmp_path / "seg.csv", "File Name,repID,start,end", "R1_color.avi,1,5,15")
    assert read_segmentation(path, recordings)["end"].tolist() == [15]


def test_segmentation_neuroface_frame_count_must_match(tmp_path: Path, recordings: pd.DataFrame):
    path = write(tmp_path / "seg.csv", NF_HEADER, "R1.avi,1,11,5,15", "R1.avi,2,10,16,30")
    with raises(path, "Number of Frames is 10 but start-end 16-30 spans 15 frames", 3):
        read_segmentation(path, recordings)


def test_segmentation_neuroface_unknown_video(tmp_path: Path, recordings: pd.DataFrame):
    path = write(tmp_path / "seg.csv", NF_HEADER, "X9_color.avi,1,11,5,15")
    with raises(path, "File Name: unknown recording 'X9_color.avi'", 2):
        read_segmentation(path, recordings)


def test_segmentation_unrecognised_header(tmp_path: Path, recordings: pd.DataFrame):
    path = write(tmp_path / "seg.tsv", "video\trep\tstart\tend", "R1\t1\t1\t2")
    with raises(path, "unrecognised segmentation header", 1):
        read_segmentation(path, recordings)


def test_segmentation_missing_column(tmp_path: Path, recordings: pd.DataFrame):
    path = write(tmp_path / "seg.tsv", "recording_id\tstart\tend", "R1\t1\t2")
    with raises(path, "missing columns: repetition", 1):
        read_segmentation(path, recordings)


def test_segmentation_unknown_recording(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t1\t1\t2", "R1_color\t2\t3\t4")
    with raises(path, "recording_id: unknown recording 'R1_color'", 3):
        read_segmentation(path, recordings)


def test_segmentation_of_rest_recording(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R3\t1\t1\t2")
    with raises(path, "recording_id: recording 'R3' is a REST recording", 2):
        read_segmentation(path, recordings)


@pytest.mark.parametrize(
    ("cells", "problem"),
    [("1\t2.5\t9", "start: expected an integer, got '2.5'"),
     ("1\tinf\t9", "start: expected a finite number, got 'inf'"),
     ("1\t2\tnan", "end: expected a finite number, got 'nan'"),
     ("x\t2\t9", "repetition: expected a number, got 'x'"),
     ("1\t\t9", "start: missing value"),
     ("1\t0\t9", "start: frame 0 is before the first frame")],
)  # fmt: skip
def test_segmentation_bad_numbers(tmp_path: Path, recordings: pd.DataFrame, cells: str, problem: str):
    path = seg_tsv(tmp_path, "R1\t2\t20\t30", f"R1\t{cells}")
    with raises(path, problem, 3):
        read_segmentation(path, recordings)


def test_segmentation_integral_decimals_accepted(tmp_path: Path, recordings: pd.DataFrame):
    seg = read_segmentation(seg_tsv(tmp_path, "R1\t1.0\t2.0\t9.0"), recordings)
    assert seg[["repetition", "start", "end"]].values.tolist() == [[1, 2, 9]]


def test_segmentation_backwards(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t1\t1\t5", "R1\t2\t20\t10")
    with raises(path, "segment runs backwards: end 10 is before start 20", 3):
        read_segmentation(path, recordings)


def test_segmentation_single_frame_and_adjacent_segments(tmp_path: Path, recordings: pd.DataFrame):
    seg = read_segmentation(seg_tsv(tmp_path, "R1\t1\t1\t1", "R1\t2\t2\t9"), recordings)
    assert seg["end"].tolist() == [1, 9]


def test_segmentation_overlap(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t1\t1\t10", "A002_02_BBP_NORMAL\t1\t5\t20", "R1\t2\t10\t20")
    with raises(path, r"repetition 2 \(frames 10-20\) of recording 'R1' overlaps repetition 1 "
                r"\(frames 1-10\) on line 2", 4):  # fmt: skip
        read_segmentation(path, recordings)


def test_segmentation_overlap_cites_the_later_line(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t2\t20\t30", "R1\t1\t1\t20")
    with raises(path, r"repetition 1 \(frames 1-20\) .* overlaps repetition 2 .* on line 2", 3):
        read_segmentation(path, recordings)


def test_segmentation_duplicate_repetition(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t1\t1\t10", "R1\t1\t11\t20")
    with raises(path, "duplicate repetition 1 of recording 'R1', already on line 2", 3):
        read_segmentation(path, recordings)


def test_segments_within_recording(tmp_path: Path, recordings: pd.DataFrame):
    path = seg_tsv(tmp_path, "R1\t1\t1\t10", "A002_02_BBP_NORMAL\t1\t1\t10", "R1\t2\t11\t20")
    seg = read_segmentation(path, recordings)
    check_segments_within(seg, {"R1": 20, "A002_02_BBP_NORMAL": 10}, path)
    check_segments_within(seg, {"R1": 20}, path)  # unlisted recordings are not checked
    with raises(path, "segment 11-20 falls outside recording 'R1', which has 19 frames", 4):
        check_segments_within(seg, {"R1": 19}, path)


def test_segmentation_missing_file(tmp_path: Path, recordings: pd.DataFrame):
    with raises(tmp_path / "seg.tsv", "file not found"):
        read_segmentation(tmp_path / "seg.tsv", recordings)


def test_segmented_tasks_exclude_rest():
    assert "REST" not in SEGMENTED_TASKS
    assert set(SEGMENTED_TASKS) | {"REST"} == set(TASKS)


# --- annotations -----------------------------------------------------------------------------


ANN_HEADER = "Frame," + ",".join(f"x{i},y{i}" for i in range(1, 69))


def ann_row(frame: object, offset: float = 0.0) -> str:
    """Landmark k (1-based) at (k + offset, 100 + k + offset)."""
    coords = ",".join(f"{k + offset:g},{100 + k + offset:g}" for k in range(1, 69))
    return f"{frame},{coords}"


def test_annotations_good_file(tmp_path: Path):
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(7, 0.5), ann_row(3))
    ann = read_annotations(path, "R1")
    assert ann["frame"].tolist() == [3, 7]
    assert ann["line"].tolist() == [3, 2]
    assert (ann["recording_id"] == "R1").all()
    assert ann["frame"].dtype == np.int64
    assert ann.loc[0, "x0"] == 1.0 and ann.loc[0, "y67"] == 168.0
    points = annotation_points(ann)
    assert points.shape == (2, 68, 2) and points.dtype == np.float64
    expected = np.stack([np.arange(1, 69), 100 + np.arange(1, 69)], axis=-1).astype(float)
    np.testing.assert_array_equal(points[0], expected)
    np.testing.assert_array_equal(points[1], expected + 0.5)


def test_annotations_any_header_names(tmp_path: Path):
    header = "f," + ",".join(f"x_{i},y_{i}" for i in range(68))
    ann = read_annotations(write(tmp_path / "R1.txt", header, ann_row(1)), "R1")
    assert ann["x67"].tolist() == [68.0]


@pytest.mark.parametrize("columns", [ANN_HEADER.rsplit(",", 1)[0], "," + ANN_HEADER])
def test_annotations_header_width(tmp_path: Path, columns: str):
    path = write(tmp_path / "R1.txt", columns, ann_row(1))
    with raises(path, "header has 13[68] columns, expected 137", 1):
        read_annotations(path, "R1")


def test_annotations_row_with_too_few_coordinates(tmp_path: Path):
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(1), ann_row(2).rsplit(",", 2)[0])
    with raises(path, r"found 135 values, expected 137 \(a frame, then x,y of 68 landmarks\)", 3):
        read_annotations(path, "R1")


@pytest.mark.parametrize(
    ("value", "problem"),
    [("", "missing value"), ("abc", "expected a number, got 'abc'"),
     ("nan", "expected a finite number, got 'nan'"), ("-inf", "expected a finite number")],
)  # fmt: skip
def test_annotations_bad_coordinate(tmp_path: Path, value: str, problem: str):
    cells = ann_row(2).split(",")
    cells[10] = value  # y5
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(1), ",".join(cells))
    with raises(path, "y5: " + problem, 3):
        read_annotations(path, "R1")


@pytest.mark.parametrize(
    ("frame", "problem"),
    [("0", "frame 0 is before the first frame"), ("1.5", "expected an integer, got '1.5'"),
     ("", "missing value")],
)  # fmt: skip
def test_annotations_bad_frame(tmp_path: Path, frame: str, problem: str):
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(frame))
    with raises(path, "Frame: " + problem, 2):
        read_annotations(path, "R1")


def test_annotations_duplicate_frame(tmp_path: Path):
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(4), ann_row(5), ann_row(4.0))
    with raises(path, "duplicate frame 4, already on line 2", 4):
        read_annotations(path, "R1")


def test_annotations_empty(tmp_path: Path):
    path = write(tmp_path / "R1.txt", ANN_HEADER)
    with raises(path, "no data rows"):
        read_annotations(path, "R1")


def test_annotations_within_recording(tmp_path: Path):
    path = write(tmp_path / "R1.txt", ANN_HEADER, ann_row(4), ann_row(10))
    ann = read_annotations(path, "R1")
    check_annotations_within(ann, 10, path)
    with raises(path, "frame 10 is annotated but the recording has only 9 frames", 3):
        check_annotations_within(ann, 9, path)


def test_annotation_dir(tmp_path: Path, recordings: pd.DataFrame):
    folder = tmp_path / "Landmarks_gt"
    folder.mkdir()
    write(folder / "R1.txt", ANN_HEADER, ann_row(2))
    write(folder / "A002_02_BBP_NORMAL_color.txt", ANN_HEADER, ann_row(1), ann_row(3))
    write(folder / ".R9.txt", "ignored hidden file")
    write(folder / "notes.md", "ignored: not .txt")
    ann = read_annotation_dir(folder, recordings)
    assert ann[["recording_id", "frame"]].values.tolist() == [
        ["A002_02_BBP_NORMAL", 1], ["A002_02_BBP_NORMAL", 3], ["R1", 2],
    ]  # fmt: skip
    assert ann["source"].tolist()[-1] == str(folder / "R1.txt")
    assert annotation_points(ann).shape == (3, 68, 2)


def test_annotation_dir_owner_comes_from_the_recordings_table(tmp_path: Path, bags: Path):
    """Annotations carry the recording's participant_id; ids are matched whole, dots and all."""
    participants = read_participants(write(tmp_path / "p.tsv", PARTICIPANTS_HEADER, "lab_01_p\tHC\tF\t61\ttrue"))
    recordings = read_recordings(
        recordings_tsv(tmp_path, "rec002.v2\tlab_01_p\tBBP\tbags/r1.bag\t1", "x.avi\tlab_01_p\tOPEN\tbags/r2.bag\t1"),
        participants,
    )
    folder = tmp_path / "Landmarks_gt"
    folder.mkdir()
    write(folder / "rec002.v2_color.txt", ANN_HEADER, ann_row(2))
    write(folder / "x.avi.txt", ANN_HEADER, ann_row(1))
    ann = read_annotation_dir(folder, recordings)
    assert ann[["recording_id", "participant_id", "frame"]].values.tolist() == [
        ["rec002.v2", "lab_01_p", 2], ["x.avi", "lab_01_p", 1],
    ]  # fmt: skip
    seg = write(tmp_path / "seg.csv", "File Name,repID,start,end", "rec002.v2_color.avi,1,1,3", "x.avi,1,2,4")
    assert read_segmentation(seg, recordings)["recording_id"].tolist() == ["rec002.v2", "x.avi"]


def test_annotation_dir_unknown_recording(tmp_path: Path, recordings: pd.DataFrame):
    write(tmp_path / "R1.txt", ANN_HEADER, ann_row(2))
    stray = write(tmp_path / "Q7_color.txt", ANN_HEADER, ann_row(2))
    with raises(stray, "annotation file for unknown recording 'Q7_color'"):
        read_annotation_dir(tmp_path, recordings)


def test_annotation_dir_two_files_for_one_recording(tmp_path: Path, recordings: pd.DataFrame):
    write(tmp_path / "R1.txt", ANN_HEADER, ann_row(2))
    second = write(tmp_path / "R1_color.txt", ANN_HEADER, ann_row(2))
    with raises(second, "second annotation file for recording 'R1'"):
        read_annotation_dir(tmp_path, recordings)


def test_annotation_dir_reports_bad_file(tmp_path: Path, recordings: pd.DataFrame):
    bad = write(tmp_path / "R1.txt", ANN_HEADER, ann_row("x"))
    with raises(bad, "Frame: expected a number", 2):
        read_annotation_dir(tmp_path, recordings)


def test_annotation_dir_missing_or_empty(tmp_path: Path, recordings: pd.DataFrame):
    with raises(tmp_path / "gone", "directory not found"):
        read_annotation_dir(tmp_path / "gone", recordings)
    with raises(tmp_path, r"no annotation files \(\*\.txt\)"):
        read_annotation_dir(tmp_path, recordings)

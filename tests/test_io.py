"""Atomic outputs: complete files or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from neuroface.io import atomic_dir, atomic_path, write_table


def test_atomic_path_publishes_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]
    assert target.stat().st_mode & 0o044  # readable by others, not mkstemp's 0600


def test_atomic_dir_replaces_the_old_directory_whole(tmp_path):
    target = tmp_path / "d"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".parquet"])
def test_write_table_round_trips(tmp_path, suffix):
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    path = tmp_path / f"t{suffix}"
    write_table(table, path)
    back = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, sep="," if suffix == ".csv" else "\t")
    pd.testing.assert_frame_equal(back, table, check_dtype=False)


def test_a_killed_writers_temporaries_are_removed_by_the_next_write(tmp_path):
    # what a SIGKILL inside atomic_path / atomic_dir leaves behind (finally never ran)
    (tmp_path / ".w.pth.ab12cd34.partial").write_bytes(b"half")
    (tmp_path / ".frames.x9_y8z7w.partial").mkdir()
    (tmp_path / ".frames.x9_y8z7w.partial" / "1.jpg").write_bytes(b"half")
    other = tmp_path / ".w.pth.json.ab12cd34.partial"  # another target's temporary: kept
    other.write_bytes(b"in use")
    with atomic_path(tmp_path / "w.pth") as tmp:
        tmp.write_bytes(b"whole")
    with atomic_dir(tmp_path / "frames") as tmp:
        (tmp / "1.jpg").write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".w.pth.json.ab12cd34.partial", "frames", "w.pth"]

"""``tools/camera_bias.py``: on the tiny run, the ceiling's (R2) per-recording 3D bias is the camera's depth-to-colour
z offset that depth aligned as ``rs.align`` aligns it keeps (closed form: about ``|t_z|``), within the filter's and
the depth lookup's own fraction of a millimetre."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import camera_bias  # noqa: E402


def test_the_ceiling_s_3d_bias_is_the_camera_s_z_offset(tiny):
    table = camera_bias.recording_bias(tiny)
    ladder = pd.read_csv(tiny / "results" / "ladder" / "landmark_error.tsv", sep="\t")
    assert len(table) == ((ladder["rung"] == "R2") & (ladder["space"] == "3d mm")).sum()
    # the tiny cohort draws both camera models (tests/configs/tiny.yaml's seed): a D435 without and an SR300 with a
    # 4 mm z offset between its depth and colour cameras
    assert set(table["camera"]) == {"Intel RealSense D435", "Intel RealSense SR300"}
    sr300 = table["camera"] == "Intel RealSense SR300"
    assert table.loc[sr300, "tz_mm"].min() > 3.0 and table.loc[~sr300, "tz_mm"].max() < 1.0
    # error |t_z| |P| / z_c >= |t_z| for the offset alone, plus the path's own sub-millimetre bias
    assert np.all(table.loc[sr300, "bias_mm"] > table.loc[sr300, "tz_mm"] - 0.3)
    assert np.all(table["bias_mm"] < table["tz_mm"] + 1.0)
    assert np.corrcoef(table["bias_mm"], table["tz_mm"])[0, 1] > 0.95


def test_the_command_prints_one_line_per_camera_and_names_a_missing_ladder(tiny, tmp_path):
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "camera_bias.py"), str(tiny)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines[1:3]] == ["Intel RealSense D435", "Intel RealSense SR300"]
    assert lines[3].startswith(f"all {len(camera_bias.recording_bias(tiny))} recordings: r(bias, |t_z|) = ")
    missing = subprocess.run(
        [sys.executable, str(REPO / "tools" / "camera_bias.py"), str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 2 and "landmark_error.tsv: no ladder landmark errors" in missing.stderr

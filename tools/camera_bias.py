"""How much of the ceiling's 3D bias is the camera's: the ladder's R2 bias per recording beside the depth-to-colour
offset along z of the participant's camera, per camera model.

    PYTHONPATH=src python tools/camera_bias.py WORKDIR

R2 is the true 2D landmarks through the models' own path (filter, depth lookup, deprojection); its per-recording 3D
bias (``results/ladder/landmark_error.tsv``, rung R2, ``3d mm``) is the mean, over the features' landmarks, of the
length of each landmark's mean error over the recording's frames (``neuroface.features.rungs.error_split``). Depth
aligned as ``rs.align`` aligns it (METHOD section 5) holds, at each colour pixel, the *depth* camera's z of the point
it sees. Deprojected with the colour intrinsics, a point at colour-frame depth ``z_c`` is then
read at ``z_c - t_z`` along its colour ray (``t_z`` the z component of the depth-to-colour translation, rotation
aside), an error of ``|t_z| |P| / z_c``, about ``|t_z|`` for a face near the optical axis. So on a synthetic run,
whose cameras are known (:func:`neuroface.synthetic.generate.participant`), the R2 bias should follow ``|t_z|``.
Prints per camera model the recordings, participants per group and the bias's range and median, and over all
recordings the bias's correlation with ``|t_z|`` and their median difference."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from neuroface.config import read_config
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import participant


def recording_bias(workdir: Path) -> pd.DataFrame:
    """Per recording of R2: recording_id, participant_id, group, camera model, bias (mm) and ``|t_z|`` (mm)."""
    path = workdir / "results" / "ladder" / "landmark_error.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no ladder landmark errors; run the workflow first")
    cfg = read_config(workdir / "config.yaml")
    if cfg["cohort"]["source"] != "synthetic":
        raise ValueError(f"{workdir / 'config.yaml'}: the cameras are known only for the synthetic cohort")
    table = pd.read_csv(path, sep="\t")
    table = table[(table["rung"] == "R2") & (table["space"] == "3d mm")]
    if table.empty:
        raise ValueError(f"{path}: no rows of rung R2 in 3d mm")
    plan = plan_cohort(cfg["synthetic"])
    recordings = plan.recordings.set_index("recording_id")["participant_id"]
    pids = recordings.loc[table["recording_id"]].to_numpy()
    rigs = {pid: participant(plan, pid, render=False).rig for pid in np.unique(pids)}
    return pd.DataFrame(
        {
            "recording_id": table["recording_id"].to_numpy(),
            "participant_id": pids,
            "group": table["group"].to_numpy(),
            "camera": [rigs[p].model for p in pids],
            "bias_mm": table["bias"].to_numpy(dtype=float),
            "tz_mm": [abs(float(np.asarray(rigs[p].depth_to_color.translation)[2])) * 1000.0 for p in pids],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    try:
        table = recording_bias(args.workdir)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    print("camera\trecordings\tparticipants HC/PS/ALS\tbias min\tmedian\tmax (mm)\t|t_z| min\tmax (mm)")
    for camera, rows in table.groupby("camera", sort=True):
        people = rows.drop_duplicates("participant_id")["group"].value_counts()
        counts = "/".join(str(int(people.get(g, 0))) for g in ("HC", "PS", "ALS"))
        b, t = rows["bias_mm"], rows["tz_mm"]
        print(
            f"{camera}\t{len(rows)}\t{counts}\t{b.min():.2f}\t{b.median():.2f}\t{b.max():.2f}\t{t.min():.2f}\t{t.max():.2f}"
        )
    r = np.corrcoef(table["bias_mm"], table["tz_mm"])[0, 1] if table["tz_mm"].std() > 0 else float("nan")
    difference = (table["bias_mm"] - table["tz_mm"]).median()
    print(f"all {len(table)} recordings: r(bias, |t_z|) = {r:.3f}; median bias - |t_z| = {difference:.2f} mm")


if __name__ == "__main__":
    main()

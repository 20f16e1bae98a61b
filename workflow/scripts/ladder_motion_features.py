"""Rule ladder_motion_features: R0, features of the true 3D motion at 50 fps (true repetitions)."""

from functools import partial

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.features.extract import feature_rows, split_tables
from neuroface.features.repetitions import GapPolicy
from neuroface.features.rungs import R0_FPS, motion_track
from neuroface.io import setup_logging, write_table
from neuroface.synthetic.cohort import plan_cohort

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
params = snakemake.params
plan = plan_cohort(params.synthetic)
recordings = pd.DataFrame(params.recordings)
tracks = {r: motion_track(plan, r, R0_FPS) for r in recordings["recording_id"]}
segmentation = pd.concat([t[3] for t in tracks.values()], ignore_index=True)
table, dropped = feature_rows(
    ((r, partial(lambda t: t[:3], t)) for r, t in tracks.items()),
    recordings,
    segmentation,
    list(dict.fromkeys(n for s in params.sets.values() for n in s)),
    GapPolicy(params.max_gap_frames, params.max_missing_fraction),
)
for path, sub in zip(snakemake.output.tables, split_tables(table, params.feature_keys, params.sets), strict=True):
    write_table(sub, path)
write_table(dropped, snakemake.output.dropped)
log.info("R0 (%.0f fps): %d repetitions measured, %d dropped", R0_FPS, len(table), len(dropped))

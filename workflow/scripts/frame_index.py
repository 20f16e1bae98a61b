"""Rule frame_index: the colour-frame index of each of one participant's recordings."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import frame_index, open_bag

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
parts = []
for recording_id, bag in snakemake.params.recordings.items():
    table = frame_index(open_bag(bag, snakemake.params.backend), snakemake.params.tolerance_ms)
    log.info(
        "%s: %d colour frames, %d without a depth partner",
        bag,
        len(table),
        int(table["depth_frame_number"].isna().sum()),
    )
    parts.append(table.assign(recording_id=recording_id))
write_table(pd.concat(parts, ignore_index=True), snakemake.output[0])

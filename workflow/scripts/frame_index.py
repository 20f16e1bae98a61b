"""Rule frame_index: the colour-frame index of one recording."""

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import frame_index, open_bag

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
reader = open_bag(snakemake.input.bag, snakemake.params.backend)
table = frame_index(reader, snakemake.params.tolerance_ms)
log.info(
    "%s: %d colour frames, %d without a depth partner",
    snakemake.input.bag,
    len(table),
    int(table["depth_frame_number"].isna().sum()),
)
write_table(table, snakemake.output[0])

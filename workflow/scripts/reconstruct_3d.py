"""Rule reconstruct_3d: every model's 3D landmarks of one participant's recordings, from one pass over each bag."""

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging, write_table
from neuroface.realsense.bag import open_bag
from neuroface.tracking.reconstruct import V_COLUMNS, reconstruct_tracks
from neuroface.tracks import read_recordings, stack_recordings

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
models, recordings = snakemake.params.models, snakemake.params.recordings
tracks = {m: read_recordings(path, recordings) for m, path in zip(models, snakemake.input.tracks, strict=True)}
points = {m: {} for m in models}
for i, (recording, bag) in enumerate(zip(recordings, snakemake.input.bags, strict=True), 1):
    tables = reconstruct_tracks(
        open_bag(bag, snakemake.params.backend),
        {m: tracks[m][recording] for m in models},
        snakemake.params.radius,
        snakemake.params.tolerance_ms,
        snakemake.params.deprojection,
    )
    for model, table in tables.items():
        valid = table[V_COLUMNS].to_numpy().mean()
        log.info(
            "%d/%d %s %s: %d frames; landmarks with valid depth: %.3f",
            i,
            len(recordings),
            recording,
            model,
            len(table),
            valid,
        )
        points[model][recording] = table
for model, path in zip(models, snakemake.output, strict=True):
    write_table(stack_recordings(points[model]), path)

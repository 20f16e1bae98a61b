"""Rule synthetic_labels."""

from pathlib import Path

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import write_labels

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
truth = {Path(p).stem: p for p in snakemake.input.truth}
write_labels(
    plan_cohort(snakemake.params.synthetic), truth, snakemake.output.segmentation, snakemake.output.annotations
)

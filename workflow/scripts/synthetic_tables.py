"""Rule synthetic_tables."""

from pathlib import Path

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.synthetic.cohort import plan_cohort
from neuroface.synthetic.generate import write_tables

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
write_tables(plan_cohort(snakemake.params.synthetic), Path(snakemake.output.participants).parent)

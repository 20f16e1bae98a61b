"""Rule fig2."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.figures import fig2_cdf
from neuroface.io import setup_logging
from neuroface.plotting import save

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
per_image = pd.read_csv(snakemake.input[0], sep="\t")
save(fig2_cdf(per_image[per_image["detected"]]), snakemake.output.pdf, snakemake.output.png)

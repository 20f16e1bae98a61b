"""Rule ablation_figure."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.figures import ablation_figure
from neuroface.io import setup_logging
from neuroface.plotting import save

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
save(ablation_figure(pd.read_csv(snakemake.input[0], sep="\t")), snakemake.output.pdf, snakemake.output.png)

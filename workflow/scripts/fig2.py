"""Rules fig2 and fig2_crossfit: one curve per model in the per-image table."""

import _bootstrap  # noqa: F401
import pandas as pd

from neuroface.fan.figures import fig2_cdf
from neuroface.io import setup_logging
from neuroface.plotting import save

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
per_image = pd.read_csv(snakemake.input[0], sep="\t")
models = tuple(m for m in ("pretrained", "finetuned", "finetuned_cf") if m in set(per_image["model"]))
save(fig2_cdf(per_image[per_image["detected"]], models=models), snakemake.output.pdf, snakemake.output.png)

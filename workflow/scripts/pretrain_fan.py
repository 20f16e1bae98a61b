"""Rule pretrain_fan."""

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd

from neuroface.fan.architecture import FANConfig
from neuroface.fan.pipeline import pretrain
from neuroface.fan.train import training_config
from neuroface.fan.weights import save_fan
from neuroface.io import setup_logging, write_table

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
fan = snakemake.params.fan
model, history, heldout = pretrain(
    snakemake.input.corpus,
    FANConfig(**fan["architecture"]),
    training_config(fan, "pretraining", "mse", trained_stacks=None),
)
log.info(
    "held-out generic images: NRMSE %.2f +- %.2f %% (median %.2f, n=%d)",
    heldout.mean(),
    heldout.std(ddof=1),
    np.median(heldout),
    len(heldout),
)
save_fan(
    model,
    snakemake.output.weights,
    {
        "trained_on": "synthetic generic corpus",
        "heldout_nrmse_mean": float(heldout.mean()),
        "heldout_nrmse_sd": float(heldout.std(ddof=1)),
        "heldout_images": len(heldout),
    },
)
write_table(pd.DataFrame(history), snakemake.output.history)

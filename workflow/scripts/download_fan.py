"""Rule download_fan."""

import _bootstrap  # noqa: F401

from neuroface.fan.weights import download_pretrained
from neuroface.io import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
download_pretrained(snakemake.output[0])

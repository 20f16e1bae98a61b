"""Rule synthetic_generic_corpus."""

import _bootstrap  # noqa: F401

from neuroface.io import setup_logging
from neuroface.synthetic.cohort import scale_from_config
from neuroface.synthetic.corpus import make_corpus
from neuroface.synthetic.motion import DiseaseModel

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
cfg = snakemake.params.synthetic
make_corpus(
    scale_from_config(cfg).generic_images,
    int(cfg["seed"]),
    snakemake.output[0],
    groups=tuple(cfg["generic_groups"]),
    disease=DiseaseModel(**(cfg.get("disease") or {})),
)

"""Quality control (rules in ``workflow/rules/qc.smk``): labelled videos and contact sheets of every
tracked recording (:mod:`~neuroface.qc.render`), and per-recording metrics flagged against the
config's limits (:mod:`~neuroface.qc.metrics`)."""

from neuroface.qc.metrics import *  # noqa: F403
from neuroface.qc.metrics import __all__ as _metrics
from neuroface.qc.render import *  # noqa: F403
from neuroface.qc.render import __all__ as _render

__all__ = [*_metrics, *_render]

"""The embedded default (rules in ``workflow/rules/synthetic.smk``): a synthetic cohort shaped like
Toronto NeuroFace, written in the real data's formats, with ground truth for every stage.

Modules: :mod:`~neuroface.synthetic.cohort` (who is recorded doing what),
:mod:`~neuroface.synthetic.face3d` (3D face identities), :mod:`~neuroface.synthetic.motion`
(task movements and disease effects), :mod:`~neuroface.synthetic.photo` (photo-based face renderer),
:mod:`~neuroface.synthetic.depth` (depth renderer), :mod:`~neuroface.synthetic.generate` (recordings,
tables and truth), :mod:`~neuroface.synthetic.corpus` (the generic corpus for pre-training).
"""

__all__ = ["cohort", "corpus", "depth", "face3d", "generate", "motion", "photo"]

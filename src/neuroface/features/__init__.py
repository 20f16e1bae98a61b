"""Features (rules in ``workflow/rules/features.smk``): per-repetition kinematic features of the 3D
landmark trajectories in a head-fixed frame, and the count of everything excluded (METHOD §6).

Modules: :mod:`~neuroface.features.headframe` (head-fixed frame),
:mod:`~neuroface.features.registry` (the named features, with units),
:mod:`~neuroface.features.repetitions` (repetitions cut from a track, gaps filled or refused),
:mod:`~neuroface.features.extract` (the ``features`` rule's tables),
:mod:`~neuroface.features.exclusions` (what classification leaves out, and why),
:mod:`~neuroface.features.rungs` (the signal ladder's tracks: R0 from the motion model, R2 true 2D through
the models' path, and the bias/jitter error split).
"""

__all__ = ["exclusions", "extract", "headframe", "registry", "repetitions", "rungs"]

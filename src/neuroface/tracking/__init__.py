"""Video tracking and 3D reconstruction (rules in ``workflow/rules/tracking.smk``): per-frame landmark
tracks of each recording with a FAN, their 3D positions from the aligned depth, and, on the synthetic
cohort, their accuracy against the truth.

Modules: :mod:`~neuroface.tracking.tracker` (detect-then-track over a recording's colour frames),
:mod:`~neuroface.tracking.reconstruct` (depth-to-colour alignment around the face and deprojection),
:mod:`~neuroface.tracking.accuracy` (2D and 3D error against ground truth),
:mod:`~neuroface.tracking.outliers` (the frames to relabel: ``workflow/rules/outliers.smk``).
"""

__all__ = ["accuracy", "outliers", "reconstruct", "tracker"]

"""Validated inputs (rules in ``workflow/rules/inputs.smk``): the cohort tables in NeuroFace's
conventions (participants, recordings, segmentation, ``Landmarks_gt`` annotations), read with
file-and-line errors, and the annotated frames taken from the recordings.

Modules: :mod:`~neuroface.inputs.tables` (readers and checks), :mod:`~neuroface.inputs.annotated`
(annotated frames from ``.bag`` files or NeuroFace's frame images, and the fine-tuning split).
"""

__all__ = ["annotated", "tables"]

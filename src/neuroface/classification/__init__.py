"""Classification (rules in ``workflow/rules/classification.smk``): leave-one-subject-out random
forests per run and task, ROC analysis with DeLong's intervals and tests, Table II and Figs. 3-4.

Modules: :mod:`~neuroface.classification.forest` (LOSO forests), :mod:`~neuroface.classification.roc`
(AUC, DeLong), :mod:`~neuroface.classification.evaluation` (Table II),
:mod:`~neuroface.classification.figures` (Figs. 3-4).
"""

__all__ = ["evaluation", "figures", "forest", "roc"]

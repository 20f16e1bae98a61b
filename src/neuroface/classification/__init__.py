"""Classification (rules in ``workflow/rules/classification.smk``): leave-one-subject-out random
forests per run and task, ROC analysis with DeLong's intervals and tests, Table II and Figs. 3-4.

Modules: :mod:`~neuroface.classification.forest` (LOSO forests), :mod:`~neuroface.classification.roc`
(AUC, DeLong), :mod:`~neuroface.classification.evaluation` (Table II),
:mod:`~neuroface.classification.figures` (Figs. 3-4), :mod:`~neuroface.classification.ladder` (the signal
ladder's tables and figure, rule file ``ladder.smk``), :mod:`~neuroface.classification.univariate` (single
features over participants, the best of them under the max-statistic permutation test; for the ladder).
"""

__all__ = ["evaluation", "figures", "forest", "ladder", "roc", "univariate"]

"""Face alignment with FAN (Bulat & Tzimiropoulos 2017; rules in ``workflow/rules/fan.smk``):
pre-trained and fine-tuned landmark models, and their accuracy (Table III, Fig. 2).

Inference: :mod:`~neuroface.fan.architecture` (its numbers, without PyTorch: what the DAG checks),
:mod:`~neuroface.fan.model` (the stacked-hourglass network),
:mod:`~neuroface.fan.heatmaps` (crops and decoding), :mod:`~neuroface.fan.weights` (safe loading,
checksums), :mod:`~neuroface.fan.detection` (face detectors behind one interface),
:mod:`~neuroface.fan.predict` (batched landmark prediction), :mod:`~neuroface.fan.device` (where
it runs, and the GPUs a rule asks for). Training, which inference never
imports: :mod:`~neuroface.fan.loss` (Adaptive Wing), :mod:`~neuroface.fan.train`,
:mod:`~neuroface.fan.data` (annotated frames and the generic corpus as samples),
:mod:`~neuroface.fan.pipeline` (the rules' steps). Evaluation: :mod:`~neuroface.fan.accuracy`
(NRMSE, Table III), :mod:`~neuroface.fan.figures` (Fig. 2, loss curve).

This ``__init__`` imports nothing, so importing an inference module never loads training code.
"""

__all__ = [
    "accuracy",
    "architecture",
    "data",
    "detection",
    "device",
    "figures",
    "heatmaps",
    "loss",
    "model",
    "pipeline",
    "predict",
    "train",
    "weights",
]

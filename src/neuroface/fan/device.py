"""Where the FAN runs: the configured device name resolved (and, in a job, checked), and the GPUs a
FAN rule asks the scheduler for. PyTorch is imported only to look for a GPU (``auto``, and ``cuda``
inside a job), so that building the DAG with ``fan.device: cpu`` or ``cuda`` (on a workstation, and
in every SLURM job, which builds it again) does not load it."""

from __future__ import annotations

from neuroface.errors import InputError

__all__ = ["job_device", "resolve_device", "scheduler_gpus"]


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when PyTorch sees a GPU, else ``cpu``; other names unchanged."""
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def scheduler_gpus(device: str) -> int:
    """GPUs a FAN rule asks the scheduler for (``resources: gpu=``), decided when the DAG is built:
    1 for ``cuda``; for ``auto``, 1 only when a GPU is visible to the process building the DAG
    (a workstation with a GPU; not a SLURM login node, where ``cuda`` must be set explicitly);
    0 for ``cpu``. Jobs that will run on the CPU thus never hold a GPU nor queue behind one."""
    return int(resolve_device(device).partition(":")[0] == "cuda")  # cuda, cuda:1, ... alike


def job_device(name: str) -> str:
    """The device a FAN job runs on: :func:`resolve_device`, and for ``cuda`` a check that this node
    has a GPU PyTorch can use, so that a job sent where there is none (a SLURM partition without
    GPUs, a CPU-only PyTorch build) stops at once, naming the setting, not deep inside PyTorch.

    Raises :class:`~neuroface.errors.InputError` naming the setting ``fan.device``.
    """
    device = resolve_device(name)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU-only build"
            raise InputError(
                "config fan.device",
                f"'cuda', but this node has no GPU that PyTorch {torch.__version__} ({build}) can use: run the "
                "FAN rules on GPU nodes (the SLURM profile's GPU partition), or set fan.device to auto or cpu",
            )
    return device

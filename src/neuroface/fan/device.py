"""Where the FAN runs: the configured device name resolved, and the GPUs a FAN rule asks the
scheduler for. PyTorch is imported only to look for a GPU (``auto``), so that building the DAG
with ``fan.device: cpu`` or ``cuda`` (on a workstation, and in every SLURM job, which builds it
again) does not load it."""

from __future__ import annotations

__all__ = ["resolve_device", "scheduler_gpus"]


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

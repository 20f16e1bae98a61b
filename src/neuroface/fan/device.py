"""Where the FAN runs: the configured device name resolved, and the GPUs a FAN rule asks the
scheduler for. PyTorch is imported only to look for a GPU (``auto``), so that building the DAG
with ``fan.device: cpu`` or ``cuda`` (on a workstation, and in every SLURM job, which builds it
again) does not load it. Also the CPU instruction set the kernels may use (``fan.cpu_isa``), which decides
whether CPU-trained weights are the same bytes on another machine."""

from __future__ import annotations

__all__ = ["CPU_ISA", "cpu_isa_environment", "resolve_device", "scheduler_gpus"]


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


#: ``fan.cpu_isa`` -> (PyTorch's ``ATEN_CPU_CAPABILITY``, oneDNN's ``ONEDNN_MAX_CPU_ISA``).
CPU_ISA = {"avx2": ("avx2", "AVX2"), "avx512": ("avx512", "AVX512_CORE")}


def cpu_isa_environment(name: str | None) -> dict[str, str]:
    """Environment variables that cap the instruction set of PyTorch's CPU kernels and of oneDNN's
    (convolutions) at ``name``; empty for ``None`` (each library picks the best the CPU has).

    PyTorch and oneDNN choose vectorised kernels by the CPU they run on, and kernels for different
    instruction sets sum in different orders: the same training on an AVX2 and an AVX-512 CPU gives
    different weights after a few steps (measured in the README). Capping both at one set that every
    machine of the lab has makes CPU-trained weights byte-identical across them, at the cost of the
    wider vectors. The variables are read when PyTorch loads, so they must be set before ``import
    torch`` (the rule scripts' ``_bootstrap`` does)."""
    if name is None:
        return {}
    if name not in CPU_ISA:
        raise ValueError(f"unknown fan.cpu_isa {name!r}; choose one of {sorted(CPU_ISA)} or null")
    aten, onednn = CPU_ISA[name]
    return {"ATEN_CPU_CAPABILITY": aten, "ONEDNN_MAX_CPU_ISA": onednn}

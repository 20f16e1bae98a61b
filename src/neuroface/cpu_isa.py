"""Which CPU instruction set PyTorch's and oneDNN's kernels may use (``fan.cpu_isa``): it decides whether
CPU-trained weights are the same bytes on another machine. A shared leaf without PyTorch, so that every
rule script's ``_bootstrap`` can apply it before anything imports torch, whatever the rule's environment."""

from __future__ import annotations

import platform

__all__ = ["CPU_ISA", "X86_64", "cpu_isa_environment"]

#: ``fan.cpu_isa`` -> (PyTorch's ``ATEN_CPU_CAPABILITY``, oneDNN's ``ONEDNN_MAX_CPU_ISA``).
CPU_ISA = {"avx2": ("avx2", "AVX2"), "avx512": ("avx512", "AVX512_CORE")}
#: ``platform.machine()`` of the CPUs these x86 instruction sets exist on.
X86_64 = frozenset({"x86_64", "AMD64", "amd64"})


def cpu_isa_environment(name: str | None) -> dict[str, str]:
    """Environment variables that cap the instruction set of PyTorch's CPU kernels and of oneDNN's
    (convolutions) at ``name``; empty for ``None`` (each library picks the best the CPU has).

    PyTorch and oneDNN choose vectorised kernels by the CPU they run on, and kernels for different
    instruction sets sum in different orders: the same training on an AVX2 and an AVX-512 CPU gives
    different weights after a few steps (measured in the README). Capping both at one set that every
    machine of the lab has makes CPU-trained weights byte-identical across them, at the cost of the
    wider vectors. The variables are read when PyTorch loads, so they must be set before ``import
    torch`` (the rule scripts' ``_bootstrap`` does). On a CPU that is not x86-64 (ARM) the sets do
    not exist and nothing is capped: its kernels are its own, and so are its weights."""
    if name is None:
        return {}
    if name not in CPU_ISA:
        raise ValueError(f"unknown fan.cpu_isa {name!r}; choose one of {sorted(CPU_ISA)} or null")
    if platform.machine() not in X86_64:
        return {}
    aten, onednn = CPU_ISA[name]
    return {"ATEN_CPU_CAPABILITY": aten, "ONEDNN_MAX_CPU_ISA": onednn}

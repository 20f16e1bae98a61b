"""FAN's architecture as plain numbers, without PyTorch.

:class:`FANConfig` is what :class:`~neuroface.fan.model.FAN` is built from, and what the workflow
checks when the DAG is built (``workflow/rules/common.smk``), which deliberately does not load
PyTorch: a configuration the network cannot be built from stops there, before any job, with the
same message the network would give.

The stem halves the input twice (a stride-2 convolution and an average pool), so the heatmaps are
``input_size / 4`` pixels wide, and each of the hourglass's ``depth`` levels halves them once more:
``input_size`` must therefore be divisible by ``4 * 2**depth`` (Newell et al. 2016; Bulat &
Tzimiropoulos 2017). Each residual block splits its ``features`` channels into halves and quarters,
so ``features`` must be divisible by 4.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["FANConfig"]


@dataclass(frozen=True)
class FANConfig:
    """Architecture: ``stacks`` hourglasses of ``depth`` levels on ``features`` channels."""

    stacks: int = 4
    features: int = 256
    depth: int = 4
    input_size: int = 256
    landmarks: int = 68

    def __post_init__(self) -> None:
        if self.stacks < 1 or self.features % 4 or self.features < 8:
            raise ValueError(f"FAN needs >= 1 stack and features divisible by 4, got {self}")
        if self.depth < 1:
            raise ValueError(f"FAN needs an hourglass depth >= 1, got {self.depth}")
        if self.input_size % (4 * 2**self.depth):
            raise ValueError(f"input_size {self.input_size} must be divisible by 4 * 2**depth = {4 * 2**self.depth}")

    @property
    def heatmap_size(self) -> int:
        """Heatmap side in pixels: the stem downsamples the input by 4."""
        return self.input_size // 4

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

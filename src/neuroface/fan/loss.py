"""Adaptive Wing loss on heatmaps (Wang, Bo & Fuxin, ICCV 2019) with its weighted loss map."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def adaptive_wing(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 2.1,
    omega: float = 14.0,
    epsilon: float = 1.0,
    theta: float = 0.5,
) -> torch.Tensor:
    """Element-wise AWing(y, y_hat), same shape as the inputs.

    ``omega * ln(1 + (d / epsilon) ** (alpha - y))`` for ``d = |y - y_hat| < theta``, else
    ``A * d - C`` with ``A`` and ``C`` chosen so the two pieces join smoothly at ``theta``.
    """
    d = (target - pred).abs()
    power = alpha - target
    ratio = theta / epsilon
    a = omega * (1.0 / (1.0 + ratio**power)) * power * ratio ** (power - 1.0) / epsilon
    c = theta * a - omega * torch.log1p(ratio**power)
    small = omega * torch.log1p((d / epsilon) ** power)
    return torch.where(d < theta, small, a * d - c)


def loss_weight_map(target: torch.Tensor, threshold: float = 0.2, weight: float = 10.0) -> torch.Tensor:
    """``weight * M + 1`` with ``M = 1`` where the 3x3 grey-dilated target exceeds ``threshold``.

    ``target`` ``(B, N, H, W)``; grey dilation of a heatmap = 3x3 max filter.
    """
    dilated = F.max_pool2d(target, kernel_size=3, stride=1, padding=1)
    return weight * (dilated > threshold).to(target.dtype) + 1.0


def weighted_adaptive_wing(
    pred: torch.Tensor, target: torch.Tensor, weight: float = 10.0, **kwargs: float
) -> torch.Tensor:
    """Scalar training loss: ``mean(AWing * (weight * M + 1))``."""
    return (adaptive_wing(pred, target, **kwargs) * loss_weight_map(target, weight=weight)).mean()

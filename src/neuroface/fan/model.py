"""The Face Alignment Network, parametrised.

With the study's settings (``FANConfig()``: 4 stacks, 256 features, hourglass depth 4,
256x256 input -> 64x64 heatmaps) the ``state_dict`` has exactly the keys and shapes of
face-alignment's ``FAN(4)``, so the distributed ``2DFAN-4`` weights load into it and weights
trained here load into face-alignment.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuroface.fan.architecture import FANConfig


class ConvBlock(nn.Module):
    """Hierarchical, parallel and multi-scale residual block (Bulat & Tzimiropoulos).

    Three pre-activated 3x3 convolutions of out/2, out/4 and out/4 channels whose outputs are
    concatenated, plus an identity (or 1x1-projected) skip.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        half, quarter = cout // 2, cout // 4
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, half, 3, padding=1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(half), nn.Conv2d(half, quarter, 3, padding=1, bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(quarter), nn.Conv2d(quarter, quarter, 3, padding=1, bias=False)
        self.downsample = (
            nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(True), nn.Conv2d(cin, cout, 1, bias=False))
            if cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ReLU in place on the batch norm's fresh output (its backward needs its input, not its output):
        # the same values and gradients, bit for bit, with one tensor fewer allocated and written
        a = self.conv1(F.relu(self.bn1(x), inplace=True))
        b = self.conv2(F.relu(self.bn2(a), inplace=True))
        c = self.conv3(F.relu(self.bn3(b), inplace=True))
        skip = x if self.downsample is None else self.downsample(x)
        return torch.cat((a, b, c), 1) + skip


class HourGlass(nn.Module):
    """Recursive hourglass: at each level an upper branch at full resolution and a lower branch
    at half resolution (average-pooled, recursed, nearest-upsampled), summed."""

    def __init__(self, depth: int, features: int) -> None:
        super().__init__()
        self.depth = depth
        self._build(depth, features)

    def _build(self, level: int, features: int) -> None:
        """Register blocks in the order face-alignment does, so state_dicts list keys alike."""
        self.add_module(f"b1_{level}", ConvBlock(features, features))
        self.add_module(f"b2_{level}", ConvBlock(features, features))
        if level > 1:
            self._build(level - 1, features)
        else:
            self.add_module("b2_plus_1", ConvBlock(features, features))
        self.add_module(f"b3_{level}", ConvBlock(features, features))

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        upper = self._modules[f"b1_{level}"](x)
        lower = self._modules[f"b2_{level}"](F.avg_pool2d(x, 2, stride=2))
        lower = self._level(level - 1, lower) if level > 1 else self._modules["b2_plus_1"](lower)
        lower = self._modules[f"b3_{level}"](lower)
        return upper + F.interpolate(lower, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._level(self.depth, x)


class FAN(nn.Module):
    """Stem (7x7/2 conv, three ConvBlocks, one 2x pooling) and ``stacks`` hourglasses, each with
    a heatmap head; intermediate heatmaps are fed back into the next stack.

    ``forward``: ``(B, 3, S, S)`` float in [0, 1] -> list of ``stacks`` heatmaps
    ``(B, landmarks, S/4, S/4)``; the last is the prediction.
    """

    def __init__(self, config: FANConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or FANConfig()
        f, half = cfg.features, cfg.features // 2
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = ConvBlock(64, half)
        self.conv3 = ConvBlock(half, half)
        self.conv4 = ConvBlock(half, f)
        for i in range(cfg.stacks):
            self.add_module(f"m{i}", HourGlass(cfg.depth, f))
            self.add_module(f"top_m_{i}", ConvBlock(f, f))
            self.add_module(f"conv_last{i}", nn.Conv2d(f, f, 1))
            self.add_module(f"bn_end{i}", nn.BatchNorm2d(f))
            self.add_module(f"l{i}", nn.Conv2d(f, cfg.landmarks, 1))
            if i < cfg.stacks - 1:
                self.add_module(f"bl{i}", nn.Conv2d(f, f, 1))
                self.add_module(f"al{i}", nn.Conv2d(cfg.landmarks, f, 1))

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.avg_pool2d(self.conv2(x), 2, stride=2)
        return self.conv4(self.conv3(x))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.stem(x)
        outputs = []
        for i in range(self.config.stacks):
            head = self._modules[f"top_m_{i}"](self._modules[f"m{i}"](features))
            head = F.relu(self._modules[f"bn_end{i}"](self._modules[f"conv_last{i}"](head)), inplace=True)
            heatmaps = self._modules[f"l{i}"](head)
            outputs.append(heatmaps)
            if i < self.config.stacks - 1:
                features = features + self._modules[f"bl{i}"](head) + self._modules[f"al{i}"](heatmaps)
        return outputs

    def last_stack_prefixes(self, stacks: int = 1) -> tuple[str, ...]:
        """Parameter-name prefixes of the last ``stacks`` hourglass stacks (the part fine-tuning trains; the
        study's is the last one). A stack is its hourglass, its head and heatmap layer (``l``) and, before the
        last, the two 1x1 convolutions that feed the next stack (``bl``, ``al``); the stem is never part of one."""
        n = self.config.stacks
        if not 1 <= stacks <= n:
            raise ValueError(f"this FAN has {n} stack(s); cannot take the last {stacks}")
        prefixes = []
        for i in range(n - stacks, n):
            prefixes += [f"m{i}.", f"top_m_{i}.", f"conv_last{i}.", f"bn_end{i}.", f"l{i}."]
            if i < n - 1:
                prefixes += [f"bl{i}.", f"al{i}."]
        return tuple(prefixes)

"""CPU inference candidates for FAN, timed side by side by tools/benchmark_tracking.py (and the GPU
variants by tools/benchmark_gpu.py): each turns ``(B, 3, S, S)`` float crops into last-stack
heatmaps. Not part of the package: the winner lives in :class:`neuroface.fan.predict.LandmarkPredictor`
behind config."""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable

import numpy as np
import torch

from neuroface.fan import heatmaps as hm_ops
from neuroface.fan.model import FAN

Forward = Callable[[torch.Tensor], torch.Tensor]


def eager(model: FAN, channels_last: bool = False, dtype: torch.dtype | None = None) -> Forward:
    m = copy.deepcopy(model).eval()
    if channels_last:
        m = m.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run(x: torch.Tensor) -> torch.Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            return m(x)[-1].float()

    return run


def compiled(model: FAN, channels_last: bool = True) -> Forward:
    m = copy.deepcopy(model).eval()
    if channels_last:
        m = m.to(memory_format=torch.channels_last)
    fn = torch.compile(lambda x: m(x)[-1])

    @torch.inference_mode()
    def run(x: torch.Tensor) -> torch.Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return fn(x).float()

    return run


def onnxruntime_session(model: FAN, threads: int) -> Forward:
    import onnxruntime as ort

    class Last(torch.nn.Module):
        def __init__(self, fan: FAN) -> None:
            super().__init__()
            self.fan = fan

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fan(x)[-1]

    size = model.config.input_size
    buffer = io.BytesIO()
    torch.onnx.export(
        Last(copy.deepcopy(model).eval()),
        (torch.zeros(1, 3, size, size),),
        buffer,
        input_names=["x"],
        output_names=["heatmaps"],
        dynamic_axes={"x": {0: "batch"}, "heatmaps": {0: "batch"}},
        dynamo=False,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {"x": x.numpy()})[0])

    return run


def throughput(forward: Forward, crops: torch.Tensor, batch: int, repeats: int = 1) -> tuple[float, np.ndarray]:
    """Frames/s of ``forward`` over ``crops`` in batches (after one warm-up batch) and its heatmaps."""
    forward(crops[:batch])
    start = time.perf_counter()
    for _ in range(repeats):
        out = [forward(crops[k : k + batch]) for k in range(0, len(crops), batch)]
    elapsed = time.perf_counter() - start
    return repeats * len(crops) / elapsed, torch.cat(out).numpy()


def landmarks(heatmaps: np.ndarray, boxes: np.ndarray, decoder: str = "face-alignment") -> np.ndarray:
    centers, scales = hm_ops.center_scale(boxes)
    return hm_ops.decode(heatmaps, centers, scales, method=decoder)[1]


def fit_last_head(model: FAN, crops: torch.Tensor, targets: torch.Tensor, steps: int, log=print) -> None:
    """Make heatmaps peaked where the landmarks are: fit the last stack's 1x1 heads (``conv_last``,
    ``bn_end``, ``l``) to ``targets`` on the last hourglass's cached features (Adam, full batch).
    A cheap stand-in for 2DFAN-4 (not available offline) whose outputs are peaked like a trained
    FAN's: random weights give flat heatmaps whose argmax means nothing."""
    i = model.config.stacks - 1
    with torch.inference_mode():
        feats, x = [], model.stem(crops)
        for k in range(model.config.stacks):
            top = model._modules[f"top_m_{k}"](model._modules[f"m{k}"](x))
            if k == i:
                feats.append(top)
                break
            head = torch.relu(model._modules[f"bn_end{k}"](model._modules[f"conv_last{k}"](top)))
            x = x + model._modules[f"bl{k}"](head) + model._modules[f"al{k}"](model._modules[f"l{k}"](head))
    top = feats[0].clone()
    modules = [model._modules[f"conv_last{i}"], model._modules[f"bn_end{i}"], model._modules[f"l{i}"]]
    params = [p for m in modules for p in m.parameters()]
    optimiser = torch.optim.Adam(params, lr=1e-3)
    for m in modules:
        m.train()
    for step in range(steps):
        head = torch.relu(modules[1](modules[0](top)))
        loss = torch.nn.functional.mse_loss(modules[2](head), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            log(f"  fit step {step + 1}/{steps}: heatmap MSE {float(loss.detach()):.2e}")
    # BatchNorm statistics of the fitted head from the same features, then inference mode
    modules[1].reset_running_stats()
    modules[1].momentum = None
    with torch.no_grad():
        modules[1](modules[0](top))
    model.eval()

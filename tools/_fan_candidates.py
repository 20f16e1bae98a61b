"""CPU inference candidates for FAN, timed side by side by tools/benchmark_tracking.py (and the GPU
variants by tools/benchmark_gpu.py): each turns ``(B, 3, S, S)`` float crops into last-stack
heatmaps. Not part of the package: the winner lives in :class:`neuroface.fan.predict.LandmarkPredictor`
behind config."""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from neuroface.fan import heatmaps as hm_ops
from neuroface.fan.model import FAN
from neuroface.fan.predict import LastStack, onnxruntime_forward

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
    """ONNX Runtime fp32 on the model's ONNX export: the package's ``cpu_inference: onnxruntime``."""
    run_np = onnxruntime_forward(copy.deepcopy(model).eval(), threads)
    return lambda x: torch.from_numpy(run_np(x.numpy()))


def torchscript_frozen(model: FAN, channels_last: bool = False) -> Forward:
    """TorchScript trace, ``torch.jit.freeze`` and ``optimize_for_inference``: constants folded, and
    each conv followed directly by a BatchNorm (the stem's ``conv1 -> bn1``, each stack's
    ``conv_last -> bn_end``) folded into the conv. The ConvBlocks' pre-activation BN -> ReLU -> conv
    cannot be folded: the ReLU lies between, and ``bn2``/``bn3`` read outputs that are also
    concatenated unnormalised."""
    m = copy.deepcopy(model).eval()
    if channels_last:
        m = m.to(memory_format=torch.channels_last)

    size = model.config.input_size
    with torch.no_grad():
        traced = torch.jit.trace(LastStack(m).eval(), torch.zeros(1, 3, size, size))
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return frozen(x).float()

    return run


def throughput(forward: Forward, crops: torch.Tensor, batch: int, repeats: int = 1) -> tuple[float, np.ndarray]:
    """Frames/s of ``forward`` over ``crops`` in batches (after one warm-up batch) and its heatmaps."""
    forward(crops[:batch])
    start = time.perf_counter()
    for _ in range(repeats):
        out = [forward(crops[k : k + batch]) for k in range(0, len(crops), batch)]
    elapsed = time.perf_counter() - start
    return repeats * len(crops) / elapsed, torch.cat(out).numpy()


def interleaved(runs: dict[str, Callable[[], object]], rounds: int, log=print) -> tuple[dict[str, float], dict]:
    """Time each of ``runs`` (name -> a call doing one pass over the frames) once per round, round
    after round, so that a change in the machine's load falls on every candidate alike. Returns each
    name's median seconds over the rounds and its first round's result (``None`` for a failed run,
    whose error is logged)."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, object] = {}
    for r in range(rounds):
        for name, call in runs.items():
            if name in results and results[name] is None:
                continue
            try:
                start = time.perf_counter()
                out = call()
                seconds[name].append(time.perf_counter() - start)
            except Exception as err:  # noqa: BLE001 - a failing candidate is a result
                log(f"{name}: failed: {type(err).__name__}: {err}")
                out = None
            results.setdefault(name, out)
        log(f"  round {r + 1}/{rounds} done")
    return {name: statistics.median(s) for name, s in seconds.items() if s}, results


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

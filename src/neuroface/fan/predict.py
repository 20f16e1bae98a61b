"""Landmarks from images with a FAN: batched crops, forward pass, decoding, optional flip-averaging."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from neuroface import landmarks as lm
from neuroface.fan import heatmaps
from neuroface.fan.model import FAN


def inference_dtype(device: str, mixed_precision: bool = True) -> torch.dtype | None:
    """Autocast dtype for inference on ``device``: on CUDA bf16 where supported, else fp16; ``None``
    (fp32) on the CPU or when ``mixed_precision`` is off."""
    if not mixed_precision or torch.device(device).type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


log = logging.getLogger(__name__)

CPU_INFERENCE = ("auto", "fp32", "channels-last", "onnxruntime", "bf16")
"""How the FAN's forward pass runs on the CPU (``tracking.cpu_inference``): ``fp32`` = PyTorch eager,
NCHW (the reference: face-alignment's operations, in its order); ``channels-last`` = PyTorch eager,
NHWC; ``onnxruntime`` = the model exported to ONNX and run by ONNX Runtime (fp32; conv->BN pairs
folded); ``bf16`` = channels-last under bf16 autocast; ``auto`` = :func:`resolve_cpu_inference`."""


def cpu_bf16_isa() -> list[str]:
    """The CPU's bf16 instruction sets (``avx512_bf16``, ``amx_bf16``) from /proc/cpuinfo; empty when
    bf16 arithmetic would be emulated (or the flags cannot be read)."""
    info = Path("/proc/cpuinfo")
    flags = set(info.read_text().split()) if info.is_file() else set()
    return [f for f in ("avx512_bf16", "amx_bf16") if f in flags]


def resolve_cpu_inference(name: str) -> str:
    """``auto`` -> ``onnxruntime`` (fp32, the fastest candidate within 0.1 px of ``fp32`` in
    tools/benchmark_tracking.py --candidates), ``channels-last`` where ONNX Runtime is not installed.
    bf16 is never chosen automatically: on peaked heatmaps it moves landmarks by more than 0.1 px
    (see the README), whatever the CPU's bf16 instructions. Other names are returned unchanged."""
    if name not in CPU_INFERENCE:
        raise ValueError(f"unknown cpu_inference {name!r}; choose one of {CPU_INFERENCE}")
    if name != "auto":
        return name
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "channels-last"
    return "onnxruntime"


class LastStack(torch.nn.Module):
    """A FAN returning only its last stack's heatmaps (what inference decodes), for export and tracing."""

    def __init__(self, fan: FAN) -> None:
        super().__init__()
        self.fan = fan

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fan(x)[-1]


def onnxruntime_forward(model: FAN, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """``model`` exported to ONNX (in memory) and run by ONNX Runtime on the CPU with ``threads``
    intra-op threads: ``(B, 3, S, S)`` float32 -> last-stack heatmaps ``(B, landmarks, S/4, S/4)``."""
    import onnxruntime as ort

    size = model.config.input_size
    buffer = io.BytesIO()
    export = dict(
        input_names=["x"], output_names=["heatmaps"], dynamic_axes={"x": {0: "batch"}, "heatmaps": {0: "batch"}}
    )
    wrapper = LastStack(model).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.9 deprecates this exporter
        try:  # the TorchScript-based exporter (needs the onnx package, not onnxscript): traced once
            torch.onnx.export(wrapper, (torch.zeros(1, 3, size, size),), buffer, dynamo=False, **export)
        except TypeError:  # torch < 2.5 has no dynamo argument
            torch.onnx.export(wrapper, (torch.zeros(1, 3, size, size),), buffer, **export)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]

    return run


class LandmarkPredictor:
    """``predict(images, boxes)`` -> landmarks ``(N, 68, 2)`` image px and confidences ``(N, 68)``.

    Crops follow face-alignment's conventions (box centre moved up 0.12 h, scale (w + h) / 195);
    ``flip=True`` averages the heatmaps of the crop and its mirror (left/right swapped), as
    face-alignment's ``flip_input``; ``decoder`` is :func:`neuroface.fan.heatmaps.decode`'s method.
    On the CPU, ``cpu_inference`` (one of :data:`CPU_INFERENCE`) chooses how the forward pass runs;
    every choice is deterministic (same input, same threads -> same bytes). On CUDA ``dtype`` and
    ``channels_last`` do, and ``cpu_inference`` is ignored.
    """

    def __init__(
        self,
        model: FAN,
        device: str = "cpu",
        flip: bool = False,
        batch_size: int = 32,
        dtype: torch.dtype | None = None,
        channels_last: bool = False,
        decoder: str = "face-alignment",
        cpu_inference: str = "fp32",
    ) -> None:
        if decoder not in heatmaps.DECODERS:
            raise ValueError(f"unknown heatmap decoder {decoder!r}; choose one of {heatmaps.DECODERS}")
        self.decoder = decoder
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model.to(self.device).eval()
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.channels_last = channels_last
        self.flip = flip
        self.batch_size = batch_size
        self.cpu_inference = None
        self._onnx = None
        if self.device.type == "cpu":
            self.cpu_inference = resolve_cpu_inference(cpu_inference)
            log.info(
                "CPU inference: %s (%s; CPU bf16 instructions: %s; %d threads)",
                self.cpu_inference,
                "auto" if cpu_inference == "auto" else "configured",
                ", ".join(cpu_bf16_isa()) or "none",
                torch.get_num_threads(),
            )
            if self.cpu_inference in ("channels-last", "bf16") and not channels_last:
                self.model = self.model.to(memory_format=torch.channels_last)
                self.channels_last = True
            if self.cpu_inference == "bf16":
                self.dtype = torch.bfloat16
            elif self.cpu_inference == "onnxruntime":
                self._onnx = onnxruntime_forward(self.model, torch.get_num_threads())

    @torch.inference_mode()
    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """``(B, S, S, 3)`` uint8 crops -> last-stack heatmaps ``(B, 68, H, H)`` float32."""
        out = []
        for first in range(0, len(crops), self.batch_size):
            x = torch.from_numpy(crops[first : first + self.batch_size]).to(self.device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            if self._onnx is not None:
                hm = self._onnx(x.contiguous().numpy())
                if self.flip:
                    hm = hm + np.flip(self._onnx(x.flip(-1).contiguous().numpy())[:, list(lm.MIRROR)], -1)
                out.append(hm)
                continue
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                hm = self.model(x)[-1]
                if self.flip:
                    hm = hm + self.model(x.flip(-1))[-1][:, list(lm.MIRROR)].flip(-1)
            out.append(hm.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.landmarks, 1, 1), np.float32)

    def predict(self, images: Sequence[np.ndarray], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self.model.config.input_size
        centers, scales = heatmaps.center_scale(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
        crops = (
            np.stack(
                [
                    heatmaps.crop(img, heatmaps.crop_matrix(c, s, size), size)
                    for img, c, s in zip(images, centers, scales, strict=True)
                ]
            )
            if len(images)
            else np.zeros((0, size, size, 3), np.uint8)
        )
        hm = self.heatmaps(crops)
        _, points, scores = heatmaps.decode(hm, centers, scales, method=self.decoder)
        if self.flip:
            scores = scores / 2.0
        return points, scores

    def predict_refined(
        self, images: Sequence[np.ndarray], boxes: np.ndarray, passes: int = 2
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predict from the given boxes, then again from each prediction's landmark box
        (a detector's box and a landmark box frame the face differently)."""
        points, scores = self.predict(images, boxes)
        for _ in range(passes - 1):
            points, scores = self.predict(images, np.stack([lm.landmark_box(p) for p in points]))
        return points, scores

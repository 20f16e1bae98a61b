"""Device handling of FAN training and inference: the DataLoader changes nothing in the CPU path
(same batches, same weights as a plain loop; workers or not), and FAN rules ask for a GPU only
when they will use one; fan.cpu_isa caps the CPU kernels' instruction set."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import REPO, rule_script
from neuroface.cpu_isa import cpu_isa_environment
from neuroface.errors import InputError
from neuroface.fan.device import job_device, resolve_device, scheduler_gpus
from neuroface.fan.model import FAN, FANConfig
from neuroface.fan.predict import inference_dtype
from neuroface.fan.train import Augmentation, Sample, TrainingConfig, autocast_dtype, make_example, train
from neuroface.landmarks import landmark_box

CFG = FANConfig(stacks=2, features=16, depth=2, input_size=32)


def _samples(n=7):
    rng = np.random.default_rng(11)
    images = [rng.integers(0, 256, (96, 96, 3)).astype(np.uint8) for _ in range(n)]
    return [Sample(lambda image=image: image, rng.uniform(25, 70, (68, 2)), str(k)) for k, image in enumerate(images)]


def _initial():
    torch.manual_seed(1)
    return FAN(CFG).state_dict()


def _trained(cfg: TrainingConfig) -> dict[str, torch.Tensor]:
    model = FAN(CFG)
    model.load_state_dict(_initial())
    train(model, _samples(), cfg, progress=False)
    return model.state_dict()


def _reference(cfg: TrainingConfig) -> dict[str, torch.Tensor]:
    """A plain loop over seeded batches (no DataLoader): permutation, then one augmentation draw
    per sample in that order, heatmap MSE averaged over the stacks, RMSprop."""
    torch.set_num_threads(cfg.threads)
    model = FAN(CFG)
    model.load_state_dict(_initial())
    samples = _samples()
    optimiser = torch.optim.RMSprop(model.parameters(), lr=cfg.learning_rate)
    for epoch in range(cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.permutation(len(samples))
        model.train()
        for first in range(0, len(order), cfg.batch_size):
            pairs = [
                make_example(
                    samples[i].load(),
                    samples[i].points,
                    landmark_box(samples[i].points),
                    CFG.input_size,
                    CFG.heatmap_size,
                    cfg.augmentation.sample(rng),
                )
                for i in order[first : first + cfg.batch_size]
            ]
            x = torch.from_numpy(np.stack([p[0] for p in pairs]))
            y = torch.from_numpy(np.stack([p[1] for p in pairs]))
            outputs = model(x)
            loss = sum(F.mse_loss(out, y) for out in outputs) / len(outputs)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    return model.state_dict()


def test_cpu_training_is_the_plain_loop_bit_for_bit_with_or_without_loader_workers():
    cfg = TrainingConfig(epochs=2, batch_size=3, augmentation=Augmentation(), seed=4, threads=1)
    reference = _reference(cfg)
    for workers in (0, 2):
        got = _trained(TrainingConfig(**{**cfg.__dict__, "workers": workers}))
        assert got.keys() == reference.keys()
        differing = [k for k in reference if not torch.equal(got[k], reference[k])]
        assert not differing, (workers, differing)


def test_trained_model_comes_back_on_the_cpu_in_eval_mode():
    model = FAN(CFG)
    train(model, _samples(3), TrainingConfig(epochs=1, batch_size=2, threads=1), progress=False)
    assert not model.training
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_mixed_precision_only_on_cuda():
    assert autocast_dtype(torch.device("cpu")) is None
    assert inference_dtype("cpu") is None
    assert autocast_dtype(torch.device("cuda"), enabled=False) is None
    assert inference_dtype("cuda", mixed_precision=False) is None


@pytest.mark.parametrize(("device", "gpus"), [("cpu", 0), ("cuda", 1), ("auto", int(torch.cuda.is_available()))])
def test_rules_ask_for_a_gpu_only_when_they_will_use_one(device, gpus):
    assert scheduler_gpus(device) == gpus
    assert resolve_device(device) == ("cuda" if gpus else "cpu")


def test_a_job_without_a_usable_gpu_stops_naming_fan_device(monkeypatch):
    """``fan.device: cuda`` plans GPU jobs without looking for a GPU (the DAG is built on a login node);
    a job that lands where PyTorch has none stops with the setting to change. ``auto`` falls back."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match=r"config fan\.device: 'cuda', but this node has no GPU") as err:
        job_device("cuda")
    assert torch.__version__ in str(err.value)
    assert scheduler_gpus("cuda") == 1  # the plan still asks for one
    assert job_device("auto") == job_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert job_device("cuda") == job_device("auto") == "cuda"


@pytest.mark.parametrize(("cpu_isa", "capability", "onednn"), [("avx2", "AVX2", "isa:Intel AVX2\n")])
def test_cpu_isa_caps_pytorch_and_onednn_kernels_in_a_rule_script(tmp_path, cpu_isa, capability, onednn):
    """``fan.cpu_isa`` reaches a rule script through ``_bootstrap`` before torch loads: PyTorch reports
    the capped capability and oneDNN's own verbose log names the instruction set its convolution ran
    with (on an AVX2-only CPU both are AVX2 anyway; on an AVX-512 one this is the cap at work)."""
    script = rule_script(
        tmp_path / "job.py",
        "import torch\n"
        "conv = torch.nn.Conv2d(64, 64, 3)\n"
        "with torch.no_grad(), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):\n"
        "    conv(torch.randn(4, 64, 32, 32))\n"
        "print('capability', torch.backends.cpu.get_cpu_capability())\n",
        config={"fan": {"cpu_isa": cpu_isa}},
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert f"capability {capability}\n" in result.stdout
    assert onednn in result.stdout


def test_cpu_isa_environment_names_both_libraries_and_refuses_unknown_sets(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert cpu_isa_environment(None) == {}
    assert cpu_isa_environment("avx512") == {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}
    with pytest.raises(ValueError, match="unknown fan.cpu_isa 'sse'"):
        cpu_isa_environment("sse")
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")  # no x86 sets to cap at: ARM's own kernels
    assert cpu_isa_environment("avx2") == {}
    with pytest.raises(ValueError, match="unknown fan.cpu_isa 'sse'"):
        cpu_isa_environment("sse")


def test_the_default_config_caps_the_kernels_at_avx2():
    """The embedded default's numbers (README) are the same on every x86-64 CPU only under one cap."""
    assert yaml.safe_load((REPO / "config.yaml").read_text())["fan"]["cpu_isa"] == "avx2"

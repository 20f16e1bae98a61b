"""``fan.finetuning.augmentation`` and ``tools/finetuning_budget.py``: the switch keeps only the crop box's
jitter; the tool's arms fine-tune as the workflow does and its per-image measures equal the pipeline's own
NRMSE on the same crops."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import yaml

from conftest import REPO
from neuroface.config import read_config
from neuroface.fan.pipeline import heldout_nrmse
from neuroface.fan.train import BOX_JITTER_ONLY, Augmentation, training_config
from neuroface.fan.weights import load_fan

sys.path.insert(0, str(REPO / "tools"))
import finetuning_budget  # noqa: E402


@pytest.mark.parametrize("augment", [True, False])
def test_the_switch_keeps_fan_s_augmentation_or_only_the_box_jitter(augment):
    fan = yaml.safe_load((REPO / "config.yaml").read_text())["fan"]
    fan["finetuning"]["augmentation"] = augment
    fan["device"] = "cpu"
    cfg = training_config(fan, "finetuning", "awing", trained_stacks=1)
    assert cfg.augmentation == (Augmentation() if augment else BOX_JITTER_ONLY)
    draws = [cfg.augmentation.sample(np.random.default_rng(i)) for i in range(200)]
    changed = {
        "zoom": any(d["zoom"] != 1.0 for d in draws),
        "rotation": any(d["rotation"] != 0.0 for d in draws),
        "flip": any(d["flip"] for d in draws),
        "gain": any(np.any(d["gain"] != 1.0) for d in draws),
    }
    assert changed == dict.fromkeys(changed, augment)
    jitter = np.abs([d["jitter"] for d in draws])
    assert 0 < jitter.max() <= Augmentation.box_jitter  # the box jitters either way


def test_the_schema_defaults_to_the_study_s_augmentation():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    finetuning = schema["properties"]["fan"]["properties"]["finetuning"]["properties"]
    assert finetuning["augmentation"] == {**finetuning["augmentation"], "type": "boolean", "default": True}


def test_arms_are_measured_as_the_pipeline_measures_them(tiny):
    """On the tiny run: every annotated frame of both sets, the run's fine-tuned model's NRMSE equal to
    ``heldout_nrmse`` on the same crops, and an arm trained on one task's training frames."""
    frames = finetuning_budget.annotated_samples(tiny)
    assert set(frames["set"]) == {"train", "test"} and set(frames["task"]) <= set(finetuning_budget.TASKS)
    assert frames["recording"].str.contains("SPREAD").eq(frames["task"] == "SPREAD").all()
    weights = finetuning_budget.mouth_opening.study_weights(tiny)
    model = load_fan(weights["finetuned"])
    table = finetuning_budget.measure("run", model, frames, "face-alignment", "outer")
    np.testing.assert_allclose(table["nrmse"], heldout_nrmse(model, list(frames["sample"])), rtol=1e-9)
    fan = read_config(tiny / "config.yaml")["fan"]  # validated, with the schema's defaults, as the tool reads it
    training = frames[(frames["set"] == "train") & (frames["task"] == "SPREAD")]
    arm, loss, cpu = finetuning_budget.fine_tune(weights["pretrained"], list(training["sample"]), fan, 1, False, 1)
    assert np.isfinite(loss) and cpu > 0
    moving = frames[frames["task"] != "REST"]
    summary = finetuning_budget.summary(finetuning_budget.measure("arm", arm, moving, "subpixel", "outer"))
    assert {"width gain", "opening gain", "corner error (%)"} <= set(summary.columns)

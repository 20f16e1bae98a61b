"""The study's architecture end to end: tests/configs/fan4.yaml (tiny cohort, FAN-4 at 256 px) with
pre-trained weights in 2DFAN-4's format, made here from face-alignment's own ``FAN(4)`` class,
through the whole DAG to the tables: fine-tuning of the last stack, Table III, tracking at 64x64
heatmaps, 3D, features, forests (Table II). The QC sheets, signal ladder and figures, which only
re-plot those files, are left to the tiny run. The cohort's files up to the FAN stage (recordings,
checked inputs, annotated frames, split: the same synthetic and input settings as tiny.yaml) come
from the session's tiny run; every later result is made in the shared run ``fan4``
(``tests/shared_runs.py``), which starts as soon as the tiny run has finished, while other tests go
on. Minutes on two CPU cores."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch
import yaml

from shared_runs import shared_run
from workflow_runs import REPO, before_the_fan_stage

CONFIG = REPO / "tests" / "configs" / "fan4.yaml"
#: Makes face-alignment's FAN(4) with seeded weights and saves its state_dict to argv[1]; in a process of its
#: own, because the shared run is prepared in a thread while other tests use torch's global random state.
_MAKE_WEIGHTS = """
import sys, torch
from face_alignment.models.fan import FAN
torch.manual_seed(int(sys.argv[2]))
with open(sys.argv[1], "wb") as fh:  # a file handle: the bytes do not depend on the file's name
    torch.save(FAN(4).state_dict(), fh)
"""


def make_2dfan4_format_weights(path: Path, seed: int = 2024) -> str:
    """face-alignment's FAN(4) with seeded weights, saved as its state_dict (2DFAN-4's layout);
    returns the file's SHA-256."""
    made = subprocess.run([sys.executable, "-c", _MAKE_WEIGHTS, str(path), str(seed)], capture_output=True, text=True)
    assert made.returncode == 0, f"making FAN-4 weights in {path} failed:\n{made.stderr[-3000:]}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(workdir: Path, sources: Mapping[str, Path]) -> None:
    """The tiny run before the FAN stage, with FAN-4 weights in 2DFAN-4's format and fan4.yaml naming them."""
    before_the_fan_stage(sources["tiny"], workdir)
    config = yaml.safe_load(CONFIG.read_text())
    made = workdir / "weights.pth"
    digest = make_2dfan4_format_weights(made)
    # named as face-alignment names 2DFAN-4 (hash prefix in the name), and pinned in the config: the
    # file is checked both ways before any job (the bytes depend on torch's initialisation, so the
    # test pins what it made rather than a constant)
    weights = made.rename(workdir / f"2DFAN4-{digest[:10]}.pth")
    config["fan"]["pretrained"].update(path=weights.name, sha256=digest)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


#: What the study's architecture has to reach: Table III (fine-tuning, accuracy) and Table II (tracking, 3D,
#: features, forests); the 14 jobs of QC, ladder and figures are the tiny run's.
TARGETS = ("results/tables/table2.tsv", "results/tables/table3.tsv")

fan4 = shared_run(
    "fan4",
    prepare,
    after=["tiny"],
    args=TARGETS,
    timeout=3600,
    doc="fan4.yaml run to Tables II and III from the tiny run's files before the FAN stage, with 2DFAN-4-format "
    "weights.",
)


def test_fan4_runs_the_whole_workflow(fan4):
    workdir = fan4
    weights = workdir / yaml.safe_load((workdir / "config.yaml").read_text())["fan"]["pretrained"]["path"]
    results = workdir / "results"

    # fine-tuning changed the last stack only, from face-alignment's FAN(4) layout
    pre = torch.load(weights, weights_only=True)
    post = torch.load(results / "fan" / "finetuned.pth", weights_only=True)
    assert pre.keys() == post.keys()
    changed = {k for k in pre if not torch.equal(pre[k], post[k])}
    assert changed and all(k.startswith(("m3.", "top_m_3.", "conv_last3.", "bn_end3.", "l3.")) for k in changed)
    from neuroface.fan.weights import load_fan

    assert load_fan(results / "fan" / "finetuned.pth").config.heatmap_size == 64  # tracked at 64x64 heatmaps

    # Table III, tracks with both models, 3D, features and Table II are there
    assert len(pd.read_csv(results / "tables" / "table3.tsv", sep="\t")) > 0
    tracks = sorted((results / "tracks" / "finetuned").glob("*.smoothed.parquet"))
    assert tracks and len(pd.read_parquet(tracks[0])) > 0
    assert sorted((results / "landmarks3d" / "pretrained").glob("*.parquet"))
    assert (results / "tables" / "table2.tsv").is_file()

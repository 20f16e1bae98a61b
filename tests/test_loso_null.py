"""``tools/loso_null.py``: a Table II cell's AUC beside its distribution under permuted participant labels, on
feature tables made here whose group signal is known (none, or complete)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import yaml

from conftest import REPO
from neuroface.classification.forest import DEFAULT_RF_PARAMS

sys.path.insert(0, str(REPO / "tools"))
import loso_null  # noqa: E402

FOREST = {"n_estimators": 10, "min_samples_leaf": 1, "max_features": "sqrt", "class_weight": "balanced", "n_jobs": 1}


def _table(shift: float, n_per_group: int = 8, repetitions: int = 3, seed: int = 0) -> pd.DataFrame:
    """Two features per repetition, N(0, 1) noise; the PS participants' first feature is moved by ``shift``."""
    rng = np.random.default_rng(seed)
    rows = []
    for group in ("HC", "PS"):
        for i in range(n_per_group):
            for rep in range(1, repetitions + 1):
                a, b = rng.normal(size=2)
                rows.append(
                    (f"{group[0]}{i:03d}", group, f"{group}{i}_rec", rep, a + (shift if group == "PS" else 0), b)
                )
    return pd.DataFrame(rows, columns=["participant_id", "group", "recording_id", "repetition", "f1", "f2"])


def test_features_without_signal_give_a_null_around_chance_that_holds_the_observed_auc():
    observed, null = loso_null.null_aucs(_table(0.0), ["f1", "f2"], "PS", FOREST, 0, 20, 1)
    assert null.shape == (20,) and np.all((null >= 0) & (null <= 1))
    # centred near chance (leave-one-subject-out leans below it: 0.43-0.51 over four such tables), and wide
    assert abs(null.mean() - 0.5) < 0.15 and null.max() - null.min() > 0.3
    assert np.percentile(null, 2.5) <= observed <= np.percentile(null, 97.5)


def test_a_separating_feature_is_far_above_its_permutation_null():
    observed, null = loso_null.null_aucs(_table(6.0), ["f1", "f2"], "PS", FOREST, 0, 10, 1)
    assert observed == 1.0 and null.max() < 0.9
    line = loso_null.summary(observed, null)
    assert line.startswith("observed AUC 1.000; 10 permutations: mean ") and ">= observed 0.000" in line


def test_permutations_keep_each_participant_whole_and_the_group_sizes(monkeypatch):
    seen = []

    def spy(rows, features, disease, **kwargs):
        per_participant = rows.groupby("participant_id")["group"].nunique()
        assert (per_participant == 1).all()  # every repetition of a participant carries the same label
        seen.append(rows.drop_duplicates("participant_id")["group"].value_counts().to_dict())
        ids = rows.drop_duplicates("participant_id")
        return pd.DataFrame(
            {"label": (ids["group"] == disease).astype(int).to_numpy(), "probability": np.linspace(0, 1, len(ids))}
        )

    monkeypatch.setattr(loso_null, "classify", spy)
    table = pd.concat([_table(0.0), _table(0.0).assign(group="ALS", participant_id=lambda t: "A" + t.participant_id)])
    loso_null.null_aucs(table, ["f1", "f2"], "PS", FOREST, 0, 5, 1)
    assert seen == [{"HC": 8, "PS": 8}] * 6  # the observed fit and 5 permutations; ALS rows are not in the run


def test_the_same_seeds_give_the_same_null():
    a = loso_null.null_aucs(_table(0.5), ["f1", "f2"], "PS", FOREST, 0, 5, 3)
    b = loso_null.null_aucs(_table(0.5), ["f1", "f2"], "PS", FOREST, 0, 5, 3)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


def test_the_command_reads_a_work_directory_and_names_what_is_missing(tmp_path):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["classification"]["random_forest"] = {k: v for k, v in FOREST.items() if k != "n_jobs"}
    cfg["features"]["sets"]["PS"] = ["f1", "f2"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, str(REPO / "tools" / "loso_null.py"), str(tmp_path), "--run", "HC_vs_PS"]
    cmd += ["--task", "SPREAD", "--source", "finetuned", "--permutations", "3"]
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    missing = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "finetuned/SPREAD.PS.tsv: no features" in missing.stderr
    path = tmp_path / "results" / "features" / "finetuned" / "SPREAD.PS.tsv"
    path.parent.mkdir(parents=True)
    _table(0.0).to_csv(path, sep="\t", index=False)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    observed, _ = loso_null.null_aucs(_table(0.0), ["f1", "f2"], "PS", FOREST, int(cfg["classification"]["seed"]), 0, 1)
    assert done.stdout.startswith(f"finetuned SPREAD HC_vs_PS: observed AUC {observed:.3f}; 3 permutations")
    wrong = subprocess.run([*cmd[:4], "HC_vs_XX", *cmd[5:]], capture_output=True, text=True, env=env)
    assert wrong.returncode == 2 and "classification.runs has no 'HC_vs_XX'" in wrong.stderr
    # settings the config leaves out are the schema's defaults, as in the workflow: the default forest
    del cfg["classification"]["random_forest"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    default = subprocess.run([*cmd[:-1], "0"], capture_output=True, text=True, env=env)
    assert default.returncode == 0, default.stderr
    forest = {**DEFAULT_RF_PARAMS, "n_jobs": 1}
    observed, _ = loso_null.null_aucs(_table(0.0), ["f1", "f2"], "PS", forest, int(cfg["classification"]["seed"]), 0, 1)
    assert default.stdout.startswith(f"finetuned SPREAD HC_vs_PS: observed AUC {observed:.3f}; 0 permutations")


def test_no_permutations_give_the_observed_auc_alone():
    observed, null = loso_null.null_aucs(_table(1.0), ["f1", "f2"], "PS", FOREST, 0, 0, 1)
    assert null.size == 0 and 0 <= observed <= 1

"""Scale: the pre-flight estimate (neuroface.scale) against a hand computation, the committed calibration,
and synthetic.keep_bags (false: the bag outputs, and only they, are temp())."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from neuroface import scale
from neuroface.config import read_config
from neuroface.synthetic import generate
from neuroface.synthetic.cohort import plan_cohort
from workflow_runs import TINY_CONFIG, new_workdir

#: A cohort whose recordings last the same in every group: no natural or disease slowing.
FLAT = {"rate_log_sd": 0.0, "ps_slowness_mean": 0.0, "als_slowness_mean": 0.0}


def flat_config() -> dict:
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["synthetic"].update(
        fps=10,
        repetitions={"BBP": 1, "OPEN": 1, "SPREAD": 1},
        participants={"HC": 2, "PS": 2, "ALS": 2},
        rest_seconds=3,
        annotations_per_participant=4,
        disease=FLAT,
    )
    config["tracking"]["recordings"] = "all"
    config["fan"]["crossfit"] = {"folds": 0}  # the tiny config cross-fits; these sums are the plain run's
    return config


def test_expected_frames_by_hand():
    synthetic = flat_config()["synthetic"]
    # seconds = lead + tail (0.7 + 0.7) + repetitions x nominal duration (BBP 1.55, OPEN 2.0) + pauses (0.55 each);
    # frames = floor(seconds x fps) + 1 -> seconds x fps + 0.5 on average; then 0.4 % of the inner frames lost
    assert scale.expected_frames("BBP", "HC", synthetic) == pytest.approx(30.0 - 28.0 * 0.004)  # 2.95 s
    assert scale.expected_frames("OPEN", "ALS", synthetic) == pytest.approx(34.5 - 32.5 * 0.004)  # 3.4 s
    assert scale.expected_frames("REST", "PS", synthetic) == pytest.approx(31.0 - 29.0 * 0.004)  # floor(30) + 1
    # ALS slowness 0.25 (its cap far away): durations x 1.25; 2 repetitions, one pause
    slow = {**synthetic, "repetitions": {"BBP": 2}, "disease": {"als_slowness_mean": 0.25, "slowness_max": 100.0}}
    rate = np.exp(0.15**2 / 2)  # E[rate] of the log-normal natural variation (rate_log_sd 0.15)
    seconds = 1.4 + 2 * 1.55 * rate * 1.25 + 0.55
    n = seconds * 10 + 0.5
    assert scale.expected_frames("BBP", "ALS", slow) == pytest.approx(n - (n - 2) * 0.004)


def test_estimate_by_hand():
    config = flat_config()
    calibration = scale.Calibration(
        stages={"render": (0.1, 2.0), "tracking": (0.05, 1.0)},
        other_cpu_s_per_participant=10.0,
        bag_bytes_per_frame=1e6,
        bag_bytes_per_bag=0.5e6,
        other_bytes_per_frame=1e3,
        source="by hand",
        other_cpu_s_per_frame=0.01,
    )
    est = scale.estimate(config, calibration)
    # per participant: BBP 29.888 + OPEN 34.37 + SPREAD 34.37 + REST 30.884 = 129.512 frames; 6 participants
    frames = 6 * 129.512
    assert est.frames == pytest.approx(frames)
    assert est.tracked_frames == pytest.approx(frames)  # tracking.recordings: all
    assert est.stage_cpu_s["render"] == pytest.approx(0.1 * frames + 2.0 * 6)  # a job per participant
    assert est.stage_cpu_s["tracking"] == pytest.approx(0.05 * frames + 1.0 * 6)  # a job per participant
    assert est.cpu_s == pytest.approx(0.1 * frames + 12 + 0.05 * frames + 6 + 10.0 * 6 + 0.01 * frames)
    assert est.bag_bytes == pytest.approx(1e6 * frames + 0.5e6 * 24)
    assert est.peak_bytes == pytest.approx(est.bag_bytes + 1e3 * frames)
    assert est.final_bytes == est.peak_bytes  # bags kept by default
    config["synthetic"]["keep_bags"] = False
    dropped = scale.estimate(config, calibration)
    assert dropped.final_bytes == pytest.approx(1e3 * frames) and dropped.peak_bytes == est.peak_bytes
    line = scale.format_estimate(dropped, 2, calibration.source)
    assert "deleted" in line and "by hand" in line and "on 2 free cores" in line


def test_cross_fitting_is_in_the_estimate():
    """fan.crossfit.folds k adds k fold models, each fine-tuned on the other folds' participants (k - 1 of k
    of the images in all, each fold once), a third model in every tracking job (half a tracking unit per
    frame) and the cross-fitted accuracy (every annotated image through three models); stages the calibration
    has no fit for are priced as the stage that runs the same code."""
    config = flat_config()  # 6 participants, 4 annotated frames each
    epochs = config["fan"]["finetuning"]["epochs"]
    calibration = scale.Calibration(
        stages={"fine-tuning": (0.2, 0.0), "landmark accuracy": (0.1, 1.0), "tracking": (0.05, 1.0)},
        other_cpu_s_per_participant=0.0,
        bag_bytes_per_frame=0.0,
        bag_bytes_per_bag=0.0,
        other_bytes_per_frame=0.0,
        source="by hand",
    )
    plain = scale.estimate(config, calibration)
    assert plain.stage_cpu_s["cross-fitting"] == 0 and plain.stage_cpu_s["cross-fitted accuracy"] == 0
    config["fan"]["crossfit"] = {"folds": 3}
    load = scale.workload(config)
    assert load.units["cross-fitting"] == 2 * 6 * 4 * epochs and load.jobs["cross-fitting"] == 3
    assert load.units["cross-fitted accuracy"] == 6 * 4 and load.jobs["cross-fitted accuracy"] == 1
    crossfit = scale.estimate(config, calibration, load)
    assert crossfit.stage_cpu_s["cross-fitting"] == pytest.approx(0.2 * 2 * 6 * 4 * epochs)
    assert crossfit.stage_cpu_s["cross-fitted accuracy"] == pytest.approx(0.1 * 1.5 * 24 + 1.0)
    frames = plain.tracked_frames
    assert crossfit.tracked_frames == pytest.approx(frames)  # the same frames, one more model
    assert crossfit.stage_cpu_s["tracking"] == pytest.approx(0.05 * frames * 1.5 + 1.0 * 6)
    # a run's own tracking benchmarks refit per tracked frame of the two models: 3 models' cost / 1.5
    assert scale.job_units(scale.STAGE_BY_NAME["tracking"], pd.Series(["A001"]), load)[0] == pytest.approx(
        1.5 * load.recordings.groupby("participant_id")["frames"].sum()["A001"]
    )


def test_the_cli_merges_overlays_as_configfile_does(tmp_path: Path, capsys):
    overlay = tmp_path / "crossfit.yaml"
    overlay.write_text("fan:\n  crossfit: {folds: 3}\n")
    scale.main([str(REPO / "config.yaml"), "--benchmarks", str(tmp_path / "none")])
    plain = capsys.readouterr().out
    scale.main([str(REPO / "config.yaml"), str(overlay), "--benchmarks", str(tmp_path / "none")])
    crossfit = capsys.readouterr().out
    assert "cross-fitting" not in plain and "cross-fitting" in crossfit
    bad = tmp_path / "bad.yaml"
    bad.write_text("fan:\n  crossfit: {folds: two}\n")
    with pytest.raises(SystemExit):
        scale.main([str(REPO / "config.yaml"), str(bad)])
    error = capsys.readouterr().err
    assert f"config.yaml + {bad}" in error and "'two' is not of type 'integer'" in error
    merged = read_config(REPO / "config.yaml", overlay)
    assert merged["fan"]["crossfit"]["folds"] == 3
    assert merged["fan"]["finetuning"] == read_config(REPO / "config.yaml")["fan"]["finetuning"]  # merged, kept


def test_expected_frames_match_the_generator():
    """The mean frames the estimate counts are those the generator writes, up to the cohort's draws."""
    config = yaml.safe_load(TINY_CONFIG.read_text())
    plan = plan_cohort(config["synthetic"])
    exact = 0
    for pid in plan.participants["participant_id"]:
        who = generate.participant(plan, pid, render=False)
        for rid in plan.recordings.loc[plan.recordings["participant_id"] == pid, "recording_id"]:
            exact += len(generate.recording_motion(plan, rid, who=who).times_s)
    expected = scale.workload(config).frames
    assert expected == pytest.approx(exact, rel=0.05), (expected, exact)


def test_committed_calibration_estimates_the_presets():
    calibration = scale.Calibration.load()
    assert set(calibration.stages) <= set(scale.STAGE_BY_NAME)
    assert calibration.source == "resources/scale/calibration.yaml"
    assert "tools/scaling.py" in yaml.safe_load(scale.CALIBRATION.read_text())["source"]  # how it was made
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    demo = scale.estimate(config, calibration)
    config["synthetic"]["preset"] = "paper"
    paper = scale.estimate(config, calibration)
    assert 10_000 < demo.frames < 14_000 and 140_000 < paper.frames < 190_000
    assert paper.bag_bytes > 10 * demo.bag_bytes and paper.cpu_s > demo.cpu_s


def test_refit_from_a_runs_benchmarks(tmp_path: Path):
    """A run's own benchmarks replace a stage's per-unit cost (the per-job part kept)."""
    config = flat_config()
    load = scale.workload(config)
    bench = tmp_path / "benchmarks" / "synthetic" / "participants"
    bench.mkdir(parents=True)
    frames = load.recordings.groupby("participant_id")["frames"].sum()
    for pid in ("A001", "N001"):  # 2.0 s per job + 0.5 s per frame
        (bench / f"{pid}.tsv").write_text(f"s\tcpu_time\n99\t{2.0 + 0.5 * frames[pid]}\n")
    calibration = scale.Calibration({"render": (0.1, 2.0)}, 0.0, 0.0, 0.0, 0.0, "committed", 0.0)
    refitted, stages = scale.refit(calibration, tmp_path / "benchmarks", load)
    assert stages == ["render"] and refitted.stages["render"] == pytest.approx((0.5, 2.0))
    assert "refitted" in refitted.source


def test_benchmarks_take_each_jobs_cpu_from_its_log(tmp_path: Path):
    """A job whose log ends with its cost line counts that exact CPU time, not the benchmark's sampled one;
    a job without one (no log, a failed job's log) keeps the benchmark's."""
    bench = tmp_path / "benchmarks" / "tracks"
    logs = tmp_path / "logs" / "tracks"
    bench.mkdir(parents=True)
    logs.mkdir(parents=True)
    for pid in ("A001", "N001", "S001"):
        (bench / f"{pid}.tsv").write_text("s\tcpu_time\n20.5\t12.0\n")
    (logs / "A001.log").write_text(
        "12:00 INFO job cost: 9.00 CPU-s (8.00 user + 1.00 system), peak 10 MB resident\n"
        "12:01 INFO job cost: 13.25 CPU-s (12.00 user + 1.25 system), peak 300 MB resident\n"
    )
    (logs / "N001.log").write_text("12:00 INFO tracked 40 frames\nTraceback (most recent call last):\n")
    table = scale.read_benchmarks(tmp_path / "benchmarks", scale.STAGE_BY_NAME["tracking"])
    assert table.to_dict("list") == {
        "stem": ["A001", "N001", "S001"],
        "s": [20.5] * 3,
        "cpu_time": [13.25, 12.0, 12.0],
        "exact": [True, False, False],
    }


_RULE_OUTPUTS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.io import is_flagged
from snakemake.settings.types import OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(
        snakefile=Path(sys.argv[1]),
        workdir=Path(sys.argv[2]),
        resource_settings=ResourceSettings(cores=int(sys.argv[3])),
    )._workflow
    temp = {r.name: {str(f): is_flagged(f, "temp") for f in r.output} for r in workflow.rules}
    params = [r.name for r in workflow.rules if "keep_bags" in repr(dict(r.params.items()))]
    print(json.dumps({"temp": temp, "params": params, "cores": workflow._cores}))
"""


def rule_outputs(workdir: Path, cores: int = 1) -> dict:
    """As Snakemake parses the workflow in ``workdir`` run with ``--cores``: temp (rule -> output pattern ->
    temp()), params (the rules whose params hold keep_bags) and cores (the cores the run will use)."""
    result = subprocess.run(
        [sys.executable, "-c", _RULE_OUTPUTS, str(REPO / "Snakefile"), str(workdir), str(cores)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("keep", [True, False])
def test_keep_bags_switch_makes_the_bags_temp(tmp_path: Path, keep: bool):
    parsed = rule_outputs(new_workdir(tmp_path, keep_bags=keep))
    outputs = parsed["temp"]
    temp = {f for files in outputs.values() for f, flagged in files.items() if flagged}
    bags = {f for f in outputs["synthetic_participant"] if f.endswith(".bag")}
    assert len(bags) == 4  # one per recording of the participant
    assert temp == (set() if keep else bags)  # the ground truth, tracks, ... never temp
    # no rule's params hold the switch: switching it on a finished run reruns nothing
    assert parsed["params"] == []


@pytest.mark.parametrize("cap", [None, True, False])
def test_local_runs_use_at_most_the_machines_cpus(tmp_path: Path, cap: bool | None):
    """--cores beyond the CPUs this process may use is cut to them (execution.cap_cores, on by default: the
    tiny config does not set it); off, --cores stays as given; below the CPUs it is never raised."""
    from snakemake.utils import available_cpu_count

    workdir = new_workdir(tmp_path)
    if cap is not None:
        config = yaml.safe_load((workdir / "config.yaml").read_text())
        assert "execution" not in config
        config["execution"] = {"cap_cores": cap}
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cpus = available_cpu_count()
    assert rule_outputs(workdir, cores=cpus + 64)["cores"] == (cpus + 64 if cap is False else cpus)
    assert rule_outputs(workdir, cores=1)["cores"] == 1


def test_estimate_command_names_a_missing_config(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        scale.main([str(tmp_path / "missing.yaml")])
    assert exit_info.value.code == 2
    assert "missing.yaml: no such config file" in capsys.readouterr().err


def test_scaling_tool_prints_each_runs_results_side_by_side(tmp_path: Path, capsys):
    """tools/scaling.py's results tables: each run's ladder AUCs as its files hold them, and Table III's
    bias tests over images and over participants as neuroface.fan.accuracy computes them."""
    sys.path.insert(0, str(REPO / "tools"))
    import scaling

    rng = np.random.default_rng(3)
    runs = []
    for factor, auc in ((1.0, 0.61), (2.0, 0.37)):
        results = tmp_path / f"x{factor:g}" / "results"
        (results / "ladder").mkdir(parents=True)
        (results / "landmarks").mkdir(parents=True)
        pd.DataFrame(
            {"comparison": ["HC_vs_PS"], "task": ["BBP"], "rung": ["R3"], "source": ["finetuned"], "auc": [auc]}
        ).to_csv(results / "ladder" / "auc.tsv", sep="\t", index=False)
        rows = [
            (f"{pid}:{i}", pid, group, True, model, 5.0 + (group == "PS") + rng.normal(0, 0.3))
            for group, pids in (("HC", ["N1", "N2", "N3"]), ("PS", ["S1", "S2"]), ("ALS", ["A1", "A2"]))
            for pid in pids
            for i in range(int(3 * factor))
            for model in ("pretrained", "finetuned")
        ]
        per_image = pd.DataFrame(rows, columns=["image", "participant_id", "group", "detected", "model", "nrmse"])
        per_image.to_csv(results / "landmarks" / "per_image.tsv", sep="\t", index=False)
        runs.append({"factor": factor, "workdir": tmp_path / f"x{factor:g}"})
    scaling.print_results(runs, [1.0, 2.0])
    out = capsys.readouterr().out
    assert "| HC_vs_PS | BBP | R3 finetuned | 0.61 | 0.37 |" in out
    lines = {
        line.split(" | ")[2].strip(): line for line in out.splitlines() if line.startswith("| pretrained | HC vs PS |")
    }
    for column, factor in enumerate((1.0, 2.0)):
        tables = scale_table_iii(tmp_path / f"x{factor:g}")
        for part, unit in (("bias", "images"), ("bias_participants", "participants")):
            row = tables[part].set_index(["model", "comparison"]).loc[("pretrained", "HC vs PS")]
            cells = lines[unit].strip("| ").split(" | ")[3:]
            assert cells[column] == f"{row['p']:.2g} ({row['difference']:+.2f})"


def scale_table_iii(workdir: Path) -> dict:
    from neuroface.fan.accuracy import table_iii

    per_image = pd.read_csv(workdir / "results" / "landmarks" / "per_image.tsv", sep="\t")
    return table_iii(per_image[per_image["detected"]])

"""How much disk and time a run will take: the pre-flight estimate the workflow prints before its
first job, and the calibration it is computed from.

The estimate is a pure function of the (validated) config and a calibration:

* :func:`workload` counts the units of work each stage does, from the config alone: frames of the
  synthetic recordings (participants, repetitions, frame rates, the motion model's mean durations),
  tracked frames, annotated images x epochs, ...;
* a calibration gives, per stage, CPU seconds per unit and per job, and the bag bytes per frame:
  measured by ``tools/scaling.py`` (committed as ``resources/scale/calibration.yaml``, each number
  with the command and runs it came from), or refitted from the run's own ``benchmarks/*.tsv``
  (:func:`refit`) when a run has already done some of the work;
* :func:`estimate` multiplies them out; :func:`format_estimate` prints it.

Times are CPU seconds, not wall seconds: each job's own ``getrusage`` from the last line of its log
(:func:`logged_cpu_s`), or where a log has none Snakemake's benchmark ``cpu_time`` (sampled each second
for 30 s, then every 30 s, so short of what a job spends after its last sample). On a shared machine
a job's wall time measures the other jobs as much as itself, its CPU time much less. Wall time on
``cores`` free cores is at least CPU time / cores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from neuroface.config import read_config
from neuroface.features.exclusions import CLASSIFICATION_TASKS, classification_mask
from neuroface.synthetic import motion
from neuroface.synthetic.cohort import plan_cohort, scale_from_config
from neuroface.synthetic.generate import DROP_PROBABILITY

#: The committed calibration (made by tools/scaling.py).
CALIBRATION = Path(__file__).resolve().parents[2] / "resources" / "scale" / "calibration.yaml"

#: The last line of every rule script's log (``workflow/scripts/_bootstrap.py``): the job's CPU time
#: (its children included) and peak memory.
JOB_COST = re.compile(r"job cost: ([\d.]+) CPU-s \(([\d.]+) user \+ ([\d.]+) system\), peak (\d+) MB resident")

#: motion._schedule's draws (uniform ranges, s): lead-in + tail, and the pause between repetitions.
MEAN_LEAD_TAIL_S = (0.4 + 1.0) / 2 * 2
MEAN_PAUSE_S = (0.3 + 0.8) / 2


@dataclass(frozen=True)
class Stage:
    """A benchmarked part of the run: its benchmark files (under ``benchmarks/``), the unit of work
    its time is proportional to, and what one job covers (a participant, a recording, the run).
    """

    name: str
    benchmarks: str
    unit: str
    per: str  # participant, recording, fold or run: what a benchmark file's stem names


#: The stages whose CPU time grows with the cohort. The rest of the run (tables, features, forests,
#: figures) is a few CPU seconds per job at any scale; ``other`` in a calibration holds its total.
STAGES = (
    Stage("render", "synthetic/participants/*.tsv", "frames", "participant"),
    Stage("generic corpus", "synthetic/generic.tsv", "generic images", "run"),
    Stage("frame index", "inputs/frames/*.tsv", "frames", "participant"),
    Stage("pre-training", "fan/pretrain.tsv", "image-epochs", "run"),
    Stage("fine-tuning", "fan/finetune.tsv", "image-epochs", "run"),
    Stage("landmark accuracy", "landmarks/per_image.tsv", "test images", "run"),
    Stage("tracking", "tracks/*.tsv", "tracked frames", "participant"),
    Stage("3D", "landmarks3d/*.tsv", "tracked frames", "participant"),
    Stage("QC", "qc/*.tsv", "tracked frames", "participant"),
    Stage("cross-fitting", "fan/crossfit/fold*.tsv", "image-epochs", "fold"),
    Stage("cross-fitted accuracy", "landmarks/crossfit_per_image.tsv", "annotated images", "run"),
)
STAGE_BY_NAME = {s.name: s for s in STAGES}

#: Stages that cross-fitting (``fan.crossfit.folds`` > 0) adds, priced where a calibration has no fit of its
#: own as the stage that runs the same code, times the ratio of their work per unit: the fold models are
#: fine-tuned with the study's recipe (fine-tuning's cost per image-epoch), and the cross-fitted accuracy
#: passes every annotated image through three models (pre-trained, fine-tuned, its fold's) where
#: ``landmark_accuracy`` passes a test image through two.
PRICED_AS = {"cross-fitting": ("fine-tuning", 1.0), "cross-fitted accuracy": ("landmark accuracy", 1.5)}


def _mean_capped_gamma(mean: float, shape: float, cap: float) -> float:
    """E[min(X, cap)] for X ~ Gamma(shape, scale=mean/shape)."""
    if mean <= 0:
        return 0.0
    scale = mean / shape
    return mean * stats.gamma.cdf(cap / scale, shape + 1) + cap * stats.gamma.sf(cap / scale, shape)


def mean_duration_factor(group: str, disease: Mapping[str, float] | None = None) -> float:
    """The motion model's mean factor on movement durations for ``group``: E[rate] x E[1 + slowness]."""
    model = motion.DiseaseModel(**dict(disease or {}))
    rate = math.exp(model.rate_log_sd**2 / 2)  # log-normal mean
    slowness = {
        "HC": 0.0,
        "PS": _mean_capped_gamma(model.ps_slowness_mean, model.ps_slowness_shape, model.slowness_max),
        "ALS": _mean_capped_gamma(model.als_slowness_mean, model.als_slowness_shape, model.slowness_max),
    }[group]
    return rate * (1.0 + slowness)


def expected_frames(task: str, group: str, synthetic: Mapping[str, Any]) -> float:
    """Mean colour frames of one synthetic recording of ``task`` by a participant of ``group``
    (motion.simulate: lead-in, repetitions with pauses, tail; REST lasts rest_seconds), after the
    generator's lost frames."""
    scale = scale_from_config(dict(synthetic))
    fps = scale.fps_of(task)
    if task == "REST":
        n = math.floor(scale.rest_seconds * fps) + 1
    else:
        reps = scale.repetitions.get(task, motion.DEFAULT_REPETITIONS[task])
        factor = mean_duration_factor(group, synthetic.get("disease"))
        seconds = MEAN_LEAD_TAIL_S + reps * motion._NOMINAL_DURATION_S[task] * factor + (reps - 1) * MEAN_PAUSE_S
        n = seconds * fps + 0.5  # floor(t * fps) + 1, on average
    return n - max(n - 2, 0) * DROP_PROBABILITY  # first and last frames are never lost


def recording_frames(config: Mapping[str, Any], frames: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per synthetic recording: recording_id, participant_id, group, task, frames (the
    mean, or ``frames[recording_id]`` when given: a run's counts), tracked (tracking.recordings)
    and classified (Figs. 3-4's recordings)."""
    synthetic = config["synthetic"]
    plan = plan_cohort(dict(synthetic))
    recs = plan.recordings.merge(plan.participants[["participant_id", "group"]], on="participant_id")
    recs["frames"] = [
        float(frames[r]) if frames is not None and r in frames else expected_frames(t, g, synthetic)
        for r, t, g in zip(recs["recording_id"], recs["task"], recs["group"], strict=True)
    ]
    recs["classified"] = classification_mask(plan.participants, recs, CLASSIFICATION_TASKS).to_numpy()
    tracking = config.get("tracking", {}).get("recordings", "classification")
    recs["tracked"] = True if tracking == "all" else recs["classified"]
    return recs[["recording_id", "participant_id", "group", "task", "frames", "tracked", "classified"]]


@dataclass(frozen=True)
class Workload:
    """Units of work and jobs per stage, and the frames behind the disk estimate."""

    units: dict[str, float]  # stage -> units of work
    jobs: dict[str, int]  # stage -> jobs
    frames: float  # colour frames of every recording (= bag frames)
    bags: int
    participants: int
    recordings: pd.DataFrame  # recording_frames()
    models: int = 2  # landmark models each tracking job runs: the study's two, plus the cross-fitted one

    @property
    def tracked_frames(self) -> float:
        return float(self.recordings.loc[self.recordings["tracked"], "frames"].sum())


def tracking_units(frames, models: int):
    """Tracking's units of work for ``frames`` tracked frames through ``models`` landmark models: a unit is a
    frame through the study's two; a third (cross-fitted) model adds its FAN's share, half a unit per frame."""
    return frames * models / 2


def workload(config: Mapping[str, Any], frames: Mapping[str, float] | None = None) -> Workload:
    """What each stage of a run on the synthetic cohort does, from the config alone (or with a
    run's frame counts per recording, ``frames``).

    Tracking's unit is a tracked frame through the study's two models; with cross-fitting each job runs
    a third model over the same decoded frames, counted as half a unit more per frame (its FAN's share;
    decoding and detection are not repeated). Cross-fitting's ``k`` fold models each learn from the
    annotated participants outside their fold: ``(k - 1)`` x the participants' images x epochs in all."""
    recs = recording_frames(config, frames)
    scale = scale_from_config(dict(config["synthetic"]))
    fan = config["fan"]
    train_source = fan["pretrained"]["source"] == "train"
    n_groups = recs["group"].nunique()
    n_participants = recs["participant_id"].nunique()
    annotated = scale.annotations_per_participant
    train = fan["train_participants_per_group"] * n_groups
    tracked = recs[recs["tracked"]]
    folds = int(fan.get("crossfit", {}).get("folds", 0))
    models = 3 if folds else 2
    units = {
        "render": recs["frames"].sum(),
        "generic corpus": scale.generic_images if train_source else 0,
        "frame index": recs["frames"].sum(),
        "pre-training": scale.generic_images * fan["pretraining"]["epochs"] if train_source else 0,
        "fine-tuning": train * annotated * fan["finetuning"]["epochs"],
        "landmark accuracy": (n_participants - train) * annotated,
        "tracking": tracking_units(tracked["frames"].sum(), models),
        "3D": tracked["frames"].sum(),
        "QC": tracked["frames"].sum(),  # qc.smk: every tracked recording
        "cross-fitting": (folds - 1) * n_participants * annotated * fan["finetuning"]["epochs"] if folds else 0,
        "cross-fitted accuracy": n_participants * annotated if folds else 0,
    }
    jobs = {
        "render": n_participants,
        "generic corpus": int(train_source),
        "frame index": n_participants,
        "pre-training": int(train_source),
        "fine-tuning": 1,
        "landmark accuracy": 1,
        "tracking": tracked["participant_id"].nunique(),  # tracking.smk: one job per participant
        "3D": tracked["participant_id"].nunique(),
        "QC": tracked["participant_id"].nunique(),
        "cross-fitting": folds,
        "cross-fitted accuracy": int(folds > 0),
    }
    units = {k: float(v) for k, v in units.items()}
    return Workload(units, jobs, float(recs["frames"].sum()), len(recs), n_participants, recs, models)


# -- calibration ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Per stage (name -> (CPU s per unit, CPU s per job)); the CPU seconds of the rest of the run
    (unbenchmarked rules, Snakemake itself, what the benchmarks' sampling missed) per participant
    and per frame; bag bytes (per frame, per bag) and results other than bags (bytes per frame);
    and where they came from.
    """

    stages: dict[str, tuple[float, float]]
    other_cpu_s_per_participant: float
    bag_bytes_per_frame: float
    bag_bytes_per_bag: float
    other_bytes_per_frame: float
    source: str
    other_cpu_s_per_frame: float = 0.0

    @classmethod
    def load(cls, path: str | Path = CALIBRATION) -> Calibration:
        data = yaml.safe_load(Path(path).read_text())
        return cls(
            stages={k: (float(v["cpu_s_per_unit"]), float(v["cpu_s_per_job"])) for k, v in data["stages"].items()},
            other_cpu_s_per_participant=float(data["other_cpu_s_per_participant"]),
            bag_bytes_per_frame=float(data["disk"]["bag_bytes_per_frame"]),
            bag_bytes_per_bag=float(data["disk"]["bag_bytes_per_bag"]),
            other_bytes_per_frame=float(data["disk"]["other_bytes_per_frame"]),
            source=_shown(Path(path)),
            other_cpu_s_per_frame=float(data.get("other_cpu_s_per_frame", 0.0)),
        )


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(CALIBRATION.parents[2]))
    except ValueError:
        return str(path)


def logged_cost(log: Path) -> tuple[float, float] | None:
    """A job's (CPU seconds, peak MB) from the last cost line of its log (:data:`JOB_COST`); None without one."""
    try:
        found = JOB_COST.findall(log.read_text(errors="replace"))
    except FileNotFoundError:
        return None
    if not found:
        return None
    cpu, _, _, peak = found[-1]
    return float(cpu), float(peak)


def logged_cpu_s(log: Path) -> float | None:
    """A job's CPU seconds from its log (:func:`logged_cost`); None without a cost line."""
    cost = logged_cost(log)
    return None if cost is None else cost[0]


def read_benchmarks(benchmarks: str | Path, stage: Stage) -> pd.DataFrame:
    """One row per benchmark file of ``stage``: stem (the participant or recording; the stage name
    for a run-wide job), s, cpu_time and exact (NA rows dropped). ``cpu_time`` is the job's own from
    its log (``logs/`` beside ``benchmarks/``, the same path; exact: True) where the log has a cost
    line and the benchmark one run, else the benchmark's sampled ``cpu_time``."""
    benchmarks = Path(benchmarks)
    rows = []
    for path in sorted(benchmarks.glob(stage.benchmarks)):
        table = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
        stem = path.stem if stage.per != "run" else stage.name
        logged = logged_cpu_s(benchmarks.parent / "logs" / path.relative_to(benchmarks).with_suffix(".log"))
        if len(table) == 1 and logged is not None:
            rows.append((stem, table["s"].iloc[0], logged, True))
            continue
        for _, row in table.iterrows():  # one row per repeat (benchmark: repeat())
            rows.append((stem, row["s"], row["cpu_time"], False))
    frame = pd.DataFrame(rows, columns=["stem", "s", "cpu_time", "exact"])
    return frame.dropna()


def job_units(stage: Stage, stems: pd.Series, load: Workload) -> np.ndarray:
    """Units of work of the jobs named by ``stems`` (a participant, a recording, or the whole run)."""
    recs = load.recordings
    if stage.per == "run":
        return np.full(len(stems), load.units[stage.name], dtype=float)
    if stage.per == "fold":  # folds differ by at most one participant per group: their mean
        return np.full(len(stems), load.units[stage.name] / max(load.jobs[stage.name], 1), dtype=float)
    column = {"frames": None, "tracked frames": "tracked"}[stage.unit]
    rows = recs if column is None else recs[recs[column]]
    key = "participant_id" if stage.per == "participant" else "recording_id"
    per = rows.groupby(key)["frames"].sum()
    by_participant = rows.groupby("participant_id")["frames"].sum()
    # a stem that names the other kind of id (e.g. tracking jobs per participant) still counts
    units = np.array([per.get(s, by_participant.get(s, np.nan)) for s in stems], dtype=float)
    return tracking_units(units, load.models) if stage.name == "tracking" else units


def refit(calibration: Calibration, benchmarks: str | Path, load: Workload) -> tuple[Calibration, list[str]]:
    """The calibration with each stage's CPU seconds per unit refitted from a run's own benchmarks
    (keeping the calibration's per-job part), for the stages the run has benchmarked; and their names."""
    stages, refitted = dict(calibration.stages), []
    for stage in STAGES:
        table = read_benchmarks(benchmarks, stage)
        if table.empty or stage.name not in stages:
            continue
        units = job_units(stage, table["stem"], load)
        ok = np.isfinite(units) & (units > 0)
        if not ok.any():
            continue
        per_job = stages[stage.name][1]
        per_unit = max(float((table["cpu_time"][ok] - per_job).sum() / units[ok].sum()), 0.0)
        stages[stage.name] = (per_unit, per_job)
        refitted.append(stage.name)
    source = (
        f"{calibration.source}; refitted from {benchmarks}/: {', '.join(refitted)}" if refitted else calibration.source
    )
    return Calibration(
        stages,
        calibration.other_cpu_s_per_participant,
        calibration.bag_bytes_per_frame,
        calibration.bag_bytes_per_bag,
        calibration.other_bytes_per_frame,
        source,
        calibration.other_cpu_s_per_frame,
    ), refitted


# -- estimate ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """CPU seconds per stage, bag bytes and other result bytes, for a whole run from scratch."""

    stage_cpu_s: dict[str, float]
    other_cpu_s: float
    bag_bytes: float
    other_bytes: float
    frames: float
    tracked_frames: float
    keep_bags: bool

    @property
    def cpu_s(self) -> float:
        return sum(self.stage_cpu_s.values()) + self.other_cpu_s

    @property
    def peak_bytes(self) -> float:
        """Every bag exists at once (validate_inputs and fine-tuning read them all before tracking)."""
        return self.bag_bytes + self.other_bytes

    @property
    def final_bytes(self) -> float:
        return self.other_bytes + (self.bag_bytes if self.keep_bags else 0.0)


def estimate(config: Mapping[str, Any], calibration: Calibration, load: Workload | None = None) -> Estimate:
    """CPU time and disk of a run of ``config`` on the synthetic cohort from an empty work directory."""
    load = workload(config) if load is None else load
    stage_cpu = {}
    for name, units in load.units.items():
        if name in calibration.stages:
            per_unit, per_job = calibration.stages[name]
        elif name in PRICED_AS:
            like, ratio = PRICED_AS[name]
            per_unit, per_job = calibration.stages.get(like, (0.0, 0.0))
            per_unit *= ratio
        else:
            per_unit, per_job = 0.0, 0.0
        stage_cpu[name] = units * per_unit + load.jobs[name] * per_job
    return Estimate(
        stage_cpu,
        calibration.other_cpu_s_per_participant * load.participants + calibration.other_cpu_s_per_frame * load.frames,
        load.frames * calibration.bag_bytes_per_frame + load.bags * calibration.bag_bytes_per_bag,
        load.frames * calibration.other_bytes_per_frame,
        load.frames,
        load.tracked_frames,
        bool(config["synthetic"].get("keep_bags", True)),
    )


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def format_estimate(est: Estimate, cores: int | None, source: str) -> str:
    """The pre-flight lines: frames, disk (peak and at the end) and CPU time (by stage)."""
    top = sorted([*est.stage_cpu_s.items(), ("rest", est.other_cpu_s)], key=lambda kv: -kv[1])
    stages = ", ".join(f"{name} {_hours(s)}" for name, s in top if s >= 0.05 * est.cpu_s)
    wall = f"; on {cores} free core{'s' if cores > 1 else ''} >= {_hours(est.cpu_s / cores)} wall" if cores else ""
    end = "bags kept" if est.keep_bags else "bags deleted: synthetic.keep_bags false"
    return (
        f"Pre-flight estimate (whole run from scratch): {est.frames:,.0f} frames ({est.tracked_frames:,.0f} tracked); "
        f"disk peak {_size(est.peak_bytes)} ({_size(est.bag_bytes)} bags), "
        f"at the end {_size(est.final_bytes)} ({end}); "
        f"CPU {_hours(est.cpu_s)} ({stages}){wall}. Costs per frame: {source}"
    )


def preflight(
    config: Mapping[str, Any],
    cores: int | None = None,
    benchmarks: str | Path = "benchmarks",
    calibration: str | Path = CALIBRATION,
) -> str:
    """The line the workflow prints before its first job (none for the lab's recordings)."""
    if config["cohort"]["source"] != "synthetic":
        return "Pre-flight estimate: the lab's recordings are read where they are (no bags written); no time estimate."
    calibration = Calibration.load(calibration)
    load = workload(config)
    if Path(benchmarks).is_dir():
        calibration, _ = refit(calibration, benchmarks, load)
    return format_estimate(estimate(config, calibration, load), cores, calibration.source)


def main(argv: list[str] | None = None) -> None:
    """``python -m neuroface.scale [config.yaml [overlay.yaml ...]] [--cores N]``: the pre-flight estimate,
    without a run (overlays merged over the config as ``--configfile`` merges them)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("config", nargs="*", default=["config.yaml"])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--benchmarks", default="benchmarks", help="a run's benchmarks/ to refit from, if present")
    parser.add_argument("--calibration", default=CALIBRATION, help="default: the committed one")
    args = parser.parse_args(argv)
    for path in args.config:
        if not Path(path).is_file():
            parser.error(f"{path}: no such config file")
    from snakemake.exceptions import WorkflowError

    try:
        config = read_config(*args.config)
    except WorkflowError as err:  # the schema's complaint, naming the files it merged
        parser.error(f"{' + '.join(args.config)}: {err}")
    print(preflight(config, args.cores, args.benchmarks, args.calibration))


if __name__ == "__main__":
    main()

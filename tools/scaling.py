"""How the run's cost grows with frames: run the workflow at 1x, 2x and 4x a base cohort's frames, one run
at a time, and print per run its wall time, CPU time and disk, what each run found (its signal ladder's AUCs
and Table III's bias tests, side by side), per stage its CPU time and throughput (from Snakemake's
``benchmarks/*.tsv``), then the ``paper`` preset's projected CPU time and disk.

    PYTHONPATH=src python tools/scaling.py [--base tests/configs/tiny.yaml] [--fps 2] [--factors 1 2 4]
        [--cores 2] [--workdir /tmp/neuroface-scaling] [--calibration resources/scale/calibration.yaml]

The frames scale through the frame rates (``--fps``: one rate for every task at 1x; without it, each task's
rate of the base's preset and overrides, ``synthetic.fps`` and ``task_fps``) and ``annotations_per_participant``
(fine-tuning's images): the same participants, recordings and jobs, factor x the frames in each, so a
stage's CPU time against its units of work gives a per-unit cost (slope) and a per-job cost (intercept),
fitted over every job of the three runs (least squares). Each run is the default ``config.yaml`` (its FAN,
decoder, flip, epochs, forests, QC: what the pre-flight estimate prices) on ``--base``'s cohort: the base's
``synthetic`` block and its ``fan.train_participants_per_group`` (the default's 12 need a bigger cohort),
bags not kept (``synthetic.keep_bags: false``, the switch measured too).
``--calibration`` writes the fitted costs as the file the workflow's pre-flight estimate reads.

Times: wall from this process; CPU = user + system of Snakemake and every job (``getrusage`` of the
children), exact; per stage, each job's own CPU time from the last line of its log (``getrusage``, exact;
``neuroface.scale.read_benchmarks``), or for a job without that line Snakemake's benchmark ``cpu_time``
(sampled each second for 30 s, then every 30 s: low by what a job spends after its last sample; the stage
table counts such jobs). The rest of the CPU (Snakemake itself, the rules outside the stages) is fitted over
the runs as a fixed part (per participant in the calibration) plus a part per frame, so the calibration
reproduces each run's exact CPU total. Disk:
every bag's largest size seen (polled each second; bytes per frame and per bag fitted over the runs' totals),
the most bag bytes present at one time, and ``results/`` at the end.

Each run leaves ``scaling.json`` (its times, load and disk) in its work directory; ``--reuse`` reads finished
runs instead of running them again (e.g. to refit after a change to this script).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
RECORD = "scaling.json"  # a finished run's times, load and disk, in its work directory
sys.path.insert(0, str(REPO / "src"))

from neuroface import scale  # noqa: E402
from neuroface.fan.accuracy import table_iii  # noqa: E402
from neuroface.synthetic.cohort import SIMULATED_TASKS  # noqa: E402


def rates(config: dict) -> str:
    """A run's frame rates: ``5`` or ``5, BBP 20``."""
    synthetic = config["synthetic"]
    extra = "".join(f", {task} {fps:g}" for task, fps in (synthetic.get("task_fps") or {}).items())
    return f"{synthetic['fps']:g}{extra}"


def run_config(base: Path, fps: float | None, factor: float) -> dict:
    """The default config on the base's cohort, ``factor`` x its frame rates (``fps`` x factor for every task if
    given) and annotated frames, bags not kept."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    cohort = yaml.safe_load(base.read_text())
    base_scale = scale.scale_from_config({**config["synthetic"], **cohort["synthetic"]})
    config["synthetic"].update(cohort["synthetic"])
    if fps is None:
        task_rates = {task: base_scale.fps_of(task) * factor for task in SIMULATED_TASKS}
        rate = task_rates.pop("REST")  # every task's rate: REST's as fps, the others over it
        fps, task_fps = rate, {task: r for task, r in task_rates.items() if r != rate} or None
    else:
        fps, task_fps = fps * factor, None
    annotated = round(base_scale.annotations_per_participant * factor)
    config["synthetic"].update(fps=fps, task_fps=task_fps, annotations_per_participant=annotated, keep_bags=False)
    config["fan"]["train_participants_per_group"] = cohort["fan"]["train_participants_per_group"]
    return config


class DiskPoller(threading.Thread):
    """Each second: the size of every bag under ``bags`` (largest seen), the bag bytes present at once."""

    def __init__(self, bags: Path):
        super().__init__(daemon=True)
        self.bags, self.sizes, self.peak, self.done = bags, {}, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            present = 0
            for path in self.bags.glob("*.bag") if self.bags.is_dir() else ():
                try:
                    size = path.stat().st_size
                except FileNotFoundError:  # deleted meanwhile
                    continue
                present += size
                self.sizes[path.name] = max(size, self.sizes.get(path.name, 0))
            self.peak = max(self.peak, present)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def loadavg() -> float:
    return os.getloadavg()[0]


def run_workflow(workdir: Path, config: dict, cores: int) -> dict:
    """One run from an empty work directory; its times, load and disk."""
    workdir.mkdir(parents=True, exist_ok=False)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    poller = DiskPoller(workdir / config["synthetic"]["out_dir"] / "bags")
    loads = [loadavg()]
    sampler_stop = threading.Event()

    def sample_load() -> None:
        while not sampler_stop.wait(15.0):
            loads.append(loadavg())

    sampler = threading.Thread(target=sample_load, daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    poller.start()
    sampler.start()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("SNAKEMAKE_PROFILE", None)
    with open(workdir / "snakemake.log", "w") as log:
        rc = subprocess.call(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(REPO / "Snakefile"),
                "-d",
                str(workdir),
                "--cores",
                str(cores),
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    poller.done.set()
    sampler_stop.set()
    poller.join()
    loads.append(loadavg())
    if rc != 0:
        raise SystemExit(f"snakemake failed in {workdir} (exit {rc}); see {workdir / 'snakemake.log'}")
    left = list((workdir / config["synthetic"]["out_dir"] / "bags").glob("*.bag"))
    record = {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "load": float(np.mean(loads)),
        "bag_bytes": sum(poller.sizes.values()),
        "bags": len(poller.sizes),
        "bag_peak": poller.peak,
        "bags_left": len(left),
        "results_end": du(workdir / "results"),
    }
    (workdir / RECORD).write_text(json.dumps(record, indent=1))
    return record


def actual_frames(workdir: Path, config: dict) -> dict[str, int]:
    """Recording id -> colour frames written (the ground truth's frame numbers)."""
    truth = workdir / config["synthetic"]["out_dir"] / "truth"
    return {p.stem: len(np.load(p)["frame_number"]) for p in sorted(truth.glob("*.npz"))}


def stage_jobs(workdir: Path, config: dict, frames: dict[str, int]) -> pd.DataFrame:
    """Every benchmarked job of a run: stage, units of work (actual frames), s, cpu_time."""
    load = scale.workload(config, frames)
    rows = []
    for stage in scale.STAGES:
        table = scale.read_benchmarks(workdir / "benchmarks", stage)
        if table.empty:
            continue
        table = table.assign(stage=stage.name, units=scale.job_units(stage, table["stem"], load))
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def print_results(runs: list[dict], factors: list[float]) -> None:
    """What each run found, side by side: the same participants and faces, factor x the frames and annotated
    frames. The signal ladder's AUCs (``results/ladder/auc.tsv``) and Table III's bias tests over images and
    over participants (``neuroface.fan.accuracy.table_iii`` on ``results/landmarks/per_image.tsv``, as rule
    ``table_iii`` computes them)."""
    aucs, bias = [], []
    for run in runs:
        results = run["workdir"] / "results"
        auc = pd.read_csv(results / "ladder" / "auc.tsv", sep="\t")
        aucs.append(auc.assign(factor=run["factor"]))
        per_image = pd.read_csv(results / "landmarks" / "per_image.tsv", sep="\t")
        tables = table_iii(per_image[per_image["detected"]])
        for unit, part in (("images", "bias"), ("participants", "bias_participants")):
            bias.append(tables[part].assign(factor=run["factor"], unit=unit))
    columns = [f"{f:g}x" for f in factors]
    auc = pd.concat(aucs).pivot_table(index=["comparison", "task", "rung", "source"], columns="factor", values="auc")
    print("\nLadder AUCs of each run (results/ladder/auc.tsv; R0 is the same true 3D at 50 fps in every run):")
    print("| run | task | rung | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    for (comparison, task, rung, source), row in auc.iterrows():
        cells = " | ".join(f"{row[f]:.2f}" for f in factors)
        print(f"| {comparison} | {task} | {rung} {source} | {cells} |")
    bias = pd.concat(bias)
    print(
        "\nTable III bias tests of each run, p (patients' minus controls' mean NRMSE, points), over images (the "
        "paper's test) and over participants (each one's mean once):"
    )
    print("| model | comparison | unit | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    for (model, comparison, unit), rows in bias.groupby(["model", "comparison", "unit"], sort=False):
        rows = rows.set_index("factor")
        cells = " | ".join(f"{rows.loc[f, 'p']:.2g} ({rows.loc[f, 'difference']:+.2f})" for f in factors)
        print(f"| {model} | {comparison} | {unit} | {cells} |")


def fit(units: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """(per unit, per job) by least squares, both >= 0 (a negative intercept: through the origin)."""
    if len(np.unique(units)) >= 2:
        slope, intercept = np.polyfit(units, seconds, 1)
        if intercept >= 0 and slope >= 0:
            return float(slope), float(intercept)
    if units.sum() > 0:
        return float(seconds.sum() / units.sum()), 0.0
    return 0.0, float(seconds.mean())


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=REPO / "tests" / "configs" / "tiny.yaml")
    parser.add_argument(
        "--fps", type=float, help="one frame rate for every task at 1x (default: the base's own rates per task)"
    )
    parser.add_argument("--factors", type=float, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/neuroface-scaling"))
    parser.add_argument("--calibration", type=Path, help="write the fitted costs here (YAML)")
    parser.add_argument(
        "--reuse", action="store_true", help="read the runs already finished in --workdir (their scaling.json)"
    )
    args = parser.parse_args()
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    commit = git.stdout.strip() or os.environ.get("NEUROFACE_COMMIT", "unknown")  # a git archive has no .git
    command = "PYTHONPATH=src python tools/scaling.py " + " ".join(sys.argv[1:])
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    print(f"# {command}\n# commit {commit}, {started}, {os.cpu_count()} CPUs, --cores {args.cores}")

    runs, jobs = [], []
    for factor in args.factors:
        config = run_config(args.base, args.fps, factor)
        workdir = args.workdir / f"x{factor:g}"
        if args.reuse and (workdir / RECORD).exists():
            print(f"# {factor:g}x (fps {rates(config)}): the run finished in {workdir}", flush=True)
            result = json.loads((workdir / RECORD).read_text())
        else:
            print(f"# running {factor:g}x (fps {rates(config)}) in {workdir}, load {loadavg():.1f} ...", flush=True)
            result = run_workflow(workdir, config, args.cores)
        frames = actual_frames(workdir, config)
        job = stage_jobs(workdir, config, frames).assign(factor=factor)
        runs.append({"factor": factor, "config": config, "frames": frames, "workdir": workdir, **result})
        jobs.append(job)
        print(
            f"#   done: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} CPU-s, load {result['load']:.1f}",
            flush=True,
        )
    jobs = pd.concat(jobs, ignore_index=True)

    print("\nRuns (whole workflow, from an empty work directory):")
    print(
        "| factor | fps | frames | tracked frames | jobs-s CPU | wall | CPU (all) | CPU-s / frame | mean load "
        "| bags (all) | bags present at once, max | bags left | results/ at end |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        load = scale.workload(run["config"], run["frames"])
        bench_cpu = jobs.loc[jobs["factor"] == run["factor"], "cpu_time"].sum()
        total = sum(run["frames"].values())
        print(
            f"| {run['factor']:g}x | {rates(run['config'])} | {total:,} | {load.tracked_frames:,.0f} "
            f"| {bench_cpu:.0f} s | {run['wall_s']:.0f} s | {run['cpu_s']:.0f} s | {run['cpu_s'] / total:.2f} "
            f"| {run['load']:.1f} | {gb(run['bag_bytes'])} | {gb(run['bag_peak'])} | {run['bags_left']} "
            f"| {gb(run['results_end'])} |"
        )

    print_results(runs, args.factors)

    sampled = int((~jobs["exact"].astype(bool)).sum())
    print(
        f"\nStages (each job's CPU-s from its log; {sampled} of {len(jobs)} jobs from a benchmark's samples): units "
        "per CPU-second, CPU-s and wall-s (benchmarks/*.tsv) summed over the stage's jobs"
    )
    header = " | ".join(f"{f:g}x units/CPU-s | {f:g}x CPU-s | {f:g}x wall-s" for f in args.factors)
    print(f"| stage | unit | {header} | fit: CPU-s per unit | CPU-s per job |")
    print("|---|---|" + "---|" * (3 * len(args.factors)) + "---|---|")
    fitted = {}
    for stage in scale.STAGES:
        rows = jobs[jobs["stage"] == stage.name]
        if rows.empty:
            continue
        cells = []
        for f in args.factors:
            r = rows[rows["factor"] == f]
            rate = r["units"].sum() / r["cpu_time"].sum() if r["cpu_time"].sum() > 0 else float("nan")
            cells.append(f"{rate:.1f} | {r['cpu_time'].sum():.1f} | {r['s'].sum():.0f}")
        per_unit, per_job = fit(rows["units"].to_numpy(float), rows["cpu_time"].to_numpy(float))
        fitted[stage.name] = (per_unit, per_job)
        print(f"| {stage.name} | {stage.unit} | {' | '.join(cells)} | {per_unit:.4f} | {per_job:.2f} |")

    # the rest of the run (the rules outside the stages, Snakemake itself): CPU not in a stage
    # (fitted on the runs' totals: the same participants and bags in each, more frames)
    other = np.array([run["cpu_s"] - jobs.loc[jobs["factor"] == run["factor"], "cpu_time"].sum() for run in runs])
    totals = np.array([sum(run["frames"].values()) for run in runs], float)
    participants = len({r.split("_")[0] for r in runs[0]["frames"]})
    other_per_frame, other_fixed = fit(totals, other)
    bag_per_frame, bag_fixed = fit(totals, np.array([run["bag_bytes"] for run in runs], float))
    per_bag = bag_fixed / runs[0]["bags"]
    other_bytes = np.array([run["results_end"] for run in runs], float)
    calibration = scale.Calibration(
        stages=fitted,
        other_cpu_s_per_participant=other_fixed / participants,
        other_cpu_s_per_frame=other_per_frame,
        bag_bytes_per_frame=bag_per_frame,
        bag_bytes_per_bag=per_bag,
        other_bytes_per_frame=float(other_bytes.sum() / totals.sum()),
        source=f"{command} (commit {commit}, {started}, mean load "
        f"{np.mean([r['load'] for r in runs]):.1f} on {os.cpu_count()} CPUs)",
    )
    print(
        f"\nRest of the run (CPU not in a stage): {', '.join(f'{o:.0f} s' for o in other)}: {other_fixed:.0f} s + "
        f"{other_per_frame:.3f} s per frame; bags: "
        f"{bag_per_frame / 1e6:.3f} MB per frame + {per_bag / 1e6:.3f} MB per bag; results/ without bags: "
        f"{calibration.other_bytes_per_frame / 1e3:.1f} kB per frame"
    )

    print("\nProjection (config.yaml with synthetic.preset paper; the demo for comparison):")
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in ("demo", "paper"):
        config = yaml.safe_load(yaml.safe_dump(default))
        config["synthetic"]["preset"] = preset
        est = scale.estimate(config, calibration)
        stages = ", ".join(
            f"{k} {v / 3600:.2f}" for k, v in sorted(est.stage_cpu_s.items(), key=lambda kv: -kv[1]) if v
        )
        print(
            f"- {preset}: {est.frames:,.0f} frames ({est.tracked_frames:,.0f} tracked); bags {gb(est.bag_bytes)}, "
            f"disk peak {gb(est.peak_bytes)}; CPU {est.cpu_s / 3600:.1f} h (CPU-h: {stages}, rest "
            f"{est.other_cpu_s / 3600:.2f}); on {args.cores} free cores >= {est.cpu_s / 3600 / args.cores:.1f} h wall"
        )
    if args.calibration:
        write_calibration(args.calibration, calibration, runs)
        print(f"\nwrote {args.calibration}")


def write_calibration(path: Path, cal: scale.Calibration, runs: list[dict]) -> None:
    data = {
        "source": cal.source,
        "runs": [
            {
                "factor": r["factor"],
                "fps": rates(r["config"]),
                "frames": sum(r["frames"].values()),
                "wall_s": round(r["wall_s"], 1),
                "cpu_s": round(r["cpu_s"], 1),
                "mean_load": round(r["load"], 2),
                **({"note": r["note"]} if "note" in r else {}),
            }
            for r in runs
        ],
        "stages": {
            name: {
                "unit": scale.STAGE_BY_NAME[name].unit,
                "cpu_s_per_unit": float(f"{u:.6g}"),
                "cpu_s_per_job": float(f"{j:.4g}"),
            }
            for name, (u, j) in cal.stages.items()
        },
        "other_cpu_s_per_participant": round(cal.other_cpu_s_per_participant, 2),
        "other_cpu_s_per_frame": round(cal.other_cpu_s_per_frame, 4),
        "disk": {
            "bag_bytes_per_frame": round(cal.bag_bytes_per_frame),
            "bag_bytes_per_bag": round(cal.bag_bytes_per_bag),
            "other_bytes_per_frame": round(cal.other_bytes_per_frame),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Per-unit costs of the workflow's stages, fitted by tools/scaling.py (see its docstring and README\n"
        '# "Scale"); read by neuroface.scale for the pre-flight estimate. CPU seconds from each job\'s log (its own\n'
        "# getrusage), else its benchmark's cpu_time; bytes from the bags' sizes. Regenerate with the command in\n"
        "# `source`.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=120))


if __name__ == "__main__":
    main()

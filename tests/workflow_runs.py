"""The one harness for tests that run the workflow (test_reliability, test_slurm, test_workflow, and the shared
runs of ``shared_runs``): start Snakemake in a work directory, follow its jobs in its log, interrupt it, and
compare the files two runs leave under ``results/``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

#: The repository's root.
REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "configs" / "tiny.yaml"

#: Rules of the CNN stage in the tiny config's default DAG (FAN training, evaluation and video tracking, with
#: cross-fitting): they run FAN and declare ``resources: gpu=1`` when FAN runs on CUDA. (The ablation target's
#: finetune_fan_ablation and ablation_accuracy do too, outside the default DAG.)
CNN_RULES = frozenset(
    {
        "pretrain_fan",
        "finetune_fan",
        "finetune_fan_crossfit",
        "landmark_accuracy",
        "landmark_accuracy_crossfit",
        "track_landmarks",
    }
)

#: Table columns that measure speed, not results (training histories' throughput).
TIMING_COLUMNS = ("images_per_s",)

#: Files Snakemake itself keeps in ``directory()`` outputs (empty; only their mtime matters).
SNAKEMAKE_MARKERS = frozenset({".snakemake_timestamp"})

_HEADER = re.compile(r"^(local)?rule (\w+):$")
_FIELD = re.compile(r"^\s+(\w+): (.*)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+)", re.MULTILINE)


def new_workdir(path: Path, config: Path = TINY_CONFIG, **synthetic) -> Path:
    """A work directory holding ``config`` as its config.yaml, with ``synthetic`` settings overridden."""
    path.mkdir(parents=True, exist_ok=True)
    if synthetic:
        settings = yaml.safe_load(config.read_text())
        settings["synthetic"].update(synthetic)
        (path / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    else:
        shutil.copy(config, path / "config.yaml")
    return path


def copy_run(source: Path, path: Path) -> Path:
    """A copy of the finished run in ``source`` at ``path``: results, logs and Snakemake's ``.snakemake``
    metadata, modification times kept (Snakemake plans only what changes after the copy), symlinks as links."""
    shutil.copytree(source, path, symlinks=True)
    return path


#: A finished run's results from before the FAN stage, by folder: recordings, checked inputs, annotated frames,
#: split (everything else under ``results/`` is the FAN stage or follows from it).
BEFORE_FAN = {"results": {"synthetic", "inputs", "fan"}, "results/fan": {"frames", "split.tsv"}}


def before_the_fan_stage(source: Path, path: Path) -> Path:
    """A copy of the finished run in ``source`` at ``path`` (:func:`copy_run`, Snakemake's metadata included)
    without any result of the FAN stage or later: a run there starts with the FAN stage's first jobs."""
    copy_run(source, path)
    for folder, kept in BEFORE_FAN.items():
        for item in (path / folder).iterdir():
            if item.name not in kept:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
    return path


def snakemake_command(workdir: Path | None, cores: int | None = 2) -> list[str]:
    """Snakemake on the repository's Snakefile in ``workdir`` (None: the current directory); ``cores=None``
    leaves --cores out (a profile says)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += [] if workdir is None else ["-d", str(workdir)]
    return cmd if cores is None else [*cmd, "--cores", str(cores)]


@dataclass
class Job:
    """One job as Snakemake's log announces it."""

    jobid: int
    rule: str
    local: bool
    wildcards: tuple[str, ...] = ()
    resources: dict[str, str] = field(default_factory=dict)

    @property
    def slurm_comment(self) -> str:
        """The comment snakemake-executor-plugin-slurm gives this job's sbatch submission."""
        return f"rule_{self.rule}" + (f"_wildcards_{'_'.join(self.wildcards)}" if self.wildcards else "")


def logged_jobs(log: str) -> list[Job]:
    """The jobs a Snakemake log announces (``rule x:`` / ``localrule x:`` blocks with a ``jobid``)."""
    jobs, block = [], None
    for line in [*log.splitlines(), ""]:
        if m := _HEADER.match(line):
            block = {"rule": m.group(2), "local": bool(m.group(1))}
        elif block is not None and (m := _FIELD.match(line)):
            block[m.group(1)] = m.group(2)
        elif block is not None:
            if "jobid" in block:
                pairs = [item.partition("=") for item in block.get("resources", "").split(", ") if item]
                jobs.append(
                    Job(
                        jobid=int(block["jobid"]),
                        rule=block["rule"],
                        local=block["local"],
                        wildcards=tuple(v.partition("=")[2] for v in block.get("wildcards", "").split(", ") if v),
                        resources={k: v for k, _, v in pairs},
                    )
                )
            block = None
    return jobs


@dataclass
class Run:
    """A Snakemake process in its own session (process group), its output going to ``log``."""

    workdir: Path
    log: Path
    proc: subprocess.Popen
    start: float = field(default_factory=time.perf_counter)
    seen: dict[int, float] = field(default_factory=dict)  # job id -> when this poller first saw it start

    @property
    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def jobs(self) -> tuple[dict[int, str], set[int]]:
        """Started jobs (id -> rule) and finished job ids, from the log so far."""
        text = self.text
        started = {job.jobid: job.rule for job in logged_jobs(text)}
        finished = {int(m.group(1)) for m in _FINISHED.finditer(text)}
        now = time.perf_counter()
        for jobid in started:
            self.seen.setdefault(jobid, now)
        return started, finished

    def running(self, rules: Iterable[str] = CNN_RULES) -> dict[int, tuple[str, float]]:
        """Jobs of ``rules`` started and not finished: id -> (rule, seconds since this poller saw them start)."""
        started, finished = self.jobs()
        now = time.perf_counter()
        rules = set(rules)
        return {j: (r, now - self.seen[j]) for j, r in started.items() if r in rules and j not in finished}

    def finished(self, rules: Iterable[str] = CNN_RULES) -> list[str]:
        started, finished = self.jobs()
        return [started[j] for j in sorted(finished) if started.get(j) in set(rules)]

    def wait_until(self, condition: Callable[[Run], bool], timeout: float = 600.0, poll: float = 0.1) -> float:
        """Poll until ``condition(self)``; returns the seconds since the start. Fails if Snakemake exits first."""
        deadline = time.perf_counter() + timeout
        while not condition(self):
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"snakemake exited ({self.proc.returncode}) before the awaited state:\n{self.tail()}"
                )
            if time.perf_counter() > deadline:
                raise AssertionError(f"awaited state not reached within {timeout:.0f} s:\n{self.tail()}")
            time.sleep(poll)
        return time.perf_counter() - self.start

    def wait(self, timeout: float = 900.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_group(signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"snakemake still running after {timeout:.0f} s:\n{self.tail()}") from None

    def succeeded(self, timeout: float = 900.0) -> str:
        """The log of the finished run; fails with its tail unless Snakemake exits 0 within ``timeout``."""
        rc = self.wait(timeout)
        assert rc == 0, f"{' '.join(map(str, self.proc.args))}\nexited with {rc}:\n{self.tail(80)}"
        return self.text

    def kill(self) -> None:
        """End Snakemake and the jobs it started (its process group) if it is still running."""
        if self.proc.poll() is None:
            self.kill_group(signal.SIGKILL)
            self.proc.wait()

    def kill_group(self, sig: signal.Signals) -> None:
        """Send ``sig`` to Snakemake and every job process it started (its whole process group)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def survivors(self) -> list[int]:
        """Processes of the run's process group still alive (zombies, which hold nothing open, aside)."""
        return live_processes(self.proc.pid)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text.splitlines()[-lines:])


def live_processes(pgid: int) -> list[int]:
    """Ids of the processes of process group ``pgid`` that are not zombies (Linux ``/proc``)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] not in "ZX":
            alive.append(int(stat.parent.name))
    return alive


def _default_sigint() -> None:
    """Give Snakemake Python's Ctrl-C behaviour even when pytest runs in the background of a
    non-interactive shell, which starts its processes with SIGINT ignored (POSIX); Python keeps an
    ignored SIGINT ignored, and the Ctrl-C interruption would then do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(
    workdir: Path,
    *args: str,
    log_name: str = "snakemake.log",
    cores: int | None = 2,
    env: dict[str, str] | None = None,
) -> Run:
    """Start Snakemake in ``workdir`` in a new session, so that its process group holds it and its jobs.
    ``env`` defaults to this process's; ``SNAKEMAKE_PROFILE`` is always dropped (the command line says it all)."""
    log = workdir / log_name
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "SNAKEMAKE_PROFILE"}
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [*snakemake_command(workdir, cores=cores), *args],
            cwd=workdir,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )
    return Run(workdir, log, proc)


def run(workdir: Path, *args: str, log_name: str = "snakemake.log", timeout: float = 900.0) -> Run:
    """Run Snakemake in ``workdir`` to its end."""
    job = start(workdir, *args, log_name=log_name)
    job.wait(timeout)
    return job


def snakemake(
    workdir: Path,
    *args: str,
    log_name: str = "snakemake.log",
    cores: int | None = 2,
    env: dict[str, str] | None = None,
    timeout: float = 900.0,
) -> str:
    """Run Snakemake in ``workdir`` to its end; returns its log, failing unless it succeeded."""
    job = start(workdir, *args, log_name=log_name, cores=cores, env=env)
    try:
        return job.succeeded(timeout)
    finally:
        job.kill()


# -- results ---------------------------------------------------------------------------------------


def result_files(workdir: Path) -> dict[str, Path]:
    """Every file under ``<workdir>/results``, by path relative to the work directory."""
    root = workdir / "results"
    return {p.relative_to(workdir).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()}


def stray_files(workdir: Path) -> list[str]:
    """Hidden or temporary entries under ``results/`` that no rule declares (left by an interrupted
    write: ``.<name>.*.partial`` files or directories and the like); Snakemake's own markers excepted."""
    root = workdir / "results"
    stray = []
    for p in sorted(root.rglob("*")):
        name = p.name
        if name in SNAKEMAKE_MARKERS:
            continue
        if name.startswith(".") or name.endswith((".partial", ".tmp", ".temp", "~")) or ".partial" in name:
            stray.append(p.relative_to(workdir).as_posix())
    return stray


def _zip_members(path: Path) -> dict[str, bytes]:
    """Members of a zip archive (torch.save's and NumPy's .npz format) by name below the archive's root
    folder (torch.save names that folder after the file it writes)."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename.split("/", 1)[-1]: zf.read(info) for info in zf.infolist()}


def same_result(a: Path, b: Path) -> bool:
    """Byte equality, except where the bytes legitimately differ: tables in their timing columns; FAN
    weights (.pth) in the name of their zip's root folder, which torch.save takes from the (random)
    temporary file name, so their JSON sidecars in the ``sha256`` of those bytes."""
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".tsv":
        ta, tb = (pd.read_csv(p, sep="\t").drop(columns=list(TIMING_COLUMNS), errors="ignore") for p in (a, b))
        return ta.equals(tb)
    if a.suffix == ".pth":
        return _zip_members(a) == _zip_members(b)
    if a.name.endswith(".pth.json"):
        ja, jb = ({k: v for k, v in json.loads(p.read_text()).items() if k != "sha256"} for p in (a, b))
        return ja == jb
    return False


def table_diff(a: Path, b: Path) -> str:
    """How two tables differ: shape, columns, or the columns whose values differ."""
    try:
        if a.suffix == ".parquet":
            ta, tb = pd.read_parquet(a), pd.read_parquet(b)
        else:
            sep = "\t" if a.suffix == ".tsv" else ","
            ta, tb = pd.read_csv(a, sep=sep), pd.read_csv(b, sep=sep)
    except Exception as exc:  # only a diagnostic
        return f"unreadable ({exc})"
    if ta.shape != tb.shape or list(ta.columns) != list(tb.columns):
        return f"shape {ta.shape} vs {tb.shape}, columns {list(ta.columns)} vs {list(tb.columns)}"
    columns = [c for c in ta.columns if not ta[c].equals(tb[c])]
    return f"values differ in columns {columns}" if columns else "same values, different bytes"


def describe_difference(a: Path, b: Path) -> str:
    """A short diagnosis of why two result files differ, for failure messages."""
    if a.suffix in (".parquet", ".tsv", ".csv", ".txt"):
        return table_diff(a, b)
    if zipfile.is_zipfile(a) and zipfile.is_zipfile(b):  # .pth, .npz
        ma, mb = _zip_members(a), _zip_members(b)
        if sorted(ma) != sorted(mb):
            return f"zip member names differ, e.g. {sorted(ma)[:2]} vs {sorted(mb)[:2]}"
        return f"zip members differ: {sorted(k for k in ma if ma[k] != mb[k])[:5]}"
    return f"{a.stat().st_size} vs {b.stat().st_size} bytes"

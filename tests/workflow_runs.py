"""Helpers for tests that run the whole workflow: start Snakemake in a work directory, follow its jobs in
its log, interrupt it, and compare the files two runs leave under ``results/``."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "configs" / "tiny.yaml"

#: Rules of the CNN stage (FAN training, evaluation and video tracking).
CNN_RULES = frozenset({"pretrain_fan", "finetune_fan", "landmark_accuracy", "track_landmarks"})

#: Files Snakemake itself keeps in ``directory()`` outputs (empty; only their mtime matters).
SNAKEMAKE_MARKERS = frozenset({".snakemake_timestamp"})

_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+)")


def new_workdir(path: Path, config: Path = TINY_CONFIG) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, path / "config.yaml")
    return path


def snakemake_command(workdir: Path, cores: int = 2) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", str(cores)]


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
        started: dict[int, str] = {}
        finished: set[int] = set()
        rule = None
        for line in self.text.splitlines():
            if m := _RULE.match(line):
                rule = m.group(1)
            elif rule and (m := _JOBID.match(line)):
                started[int(m.group(1))] = rule
                rule = None
            elif m := _FINISHED.match(line):
                finished.add(int(m.group(1)))
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


def start(workdir: Path, *args: str, log_name: str = "snakemake.log", cores: int = 2) -> Run:
    """Start Snakemake in ``workdir`` in a new session, so that its process group holds it and its jobs."""
    log = workdir / log_name
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}  # the command line says it all
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
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


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

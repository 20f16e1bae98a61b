"""Reliability of the whole workflow: interrupted runs recover, and results are reproducible.

Two runs of the default target (``all``) on the tiny synthetic config (``tests/configs/tiny.yaml``), each in its
own work directory, with 2 cores:

* **A** runs uninterrupted: the session's tiny run (conftest's ``tiny``, which other modules read and copy but
  never change), made with the same config and code.
* **B** starts from a copy of A before the FAN stage (``workflow_runs.before_the_fan_stage``: recordings, checked
  inputs, annotated frames and split, with Snakemake's metadata), so it re-makes everything from the FAN stage on:
  the CNN jobs it interrupts and all that follows them. The stages before it are deterministic on their own
  (test_synth_cohort makes a recording twice, byte for byte) and are not interrupted, so B does not render the
  cohort a second time. B is interrupted twice in the CNN stage (rules ``pretrain_fan``, ``finetune_fan``,
  ``landmark_accuracy``, ``track_landmarks``) and restarted each time:

  1. *Ctrl-C*: SIGINT to Snakemake's whole process group (Snakemake and its job processes, as a terminal sends
     it) once the first CNN job (``pretrain_fan`` on the tiny config) has run for a second. The interrupted job
     must leave nothing behind, and a plain ``snakemake`` restarts the run.
  2. *Crash*: SIGKILL to the whole process group (as a power cut or the OOM killer would: no handler runs, no
     clean-up) once two CNN jobs of the restarted run have finished (FAN pre-trained, one participant tracked) and
     another has run for a second. The kill leaves Snakemake's directory lock and its incomplete-job markers
     behind, so the restart is Snakemake's documented recovery: ``snakemake --unlock``, then
     ``snakemake --rerun-incomplete`` (needed whenever a killed job had already written all its outputs).

Asserted: after each interruption no process of the run is left, and every file under ``results/`` is complete
(outputs are written to hidden temporary names and renamed into place, so a file that exists is finished: the
finished run ends with the very same bytes); the last restart succeeds, leaves no temporary or partial file under
``results/`` and nothing for Snakemake to do; and every file under ``results/`` of B equals A's, byte for byte.

The comparison is generic (whatever rules the DAG has) and byte-exact for every kind of file: tables (TSV, CSV,
Parquet), arrays (NPZ), recordings (BAG), images (JPEG, PNG), figures (PDF: no creation date), FAN weights (PTH:
seeded, deterministic CPU training) and their JSON sidecars, QC videos (MP4). There is no exception: a file that
differs is a reproducibility bug (B's recordings are A's copies; what B makes starts at the FAN stage). B's timings
are printed (``pytest -s``).

Snakemake 9 alone, for the record: SIGTERM to Snakemake only lets the running jobs finish, records them and exits
(a plain restart goes on); SIGINT to Snakemake only also waits for the running jobs but leaves them marked
incomplete, so that restart needs ``--rerun-incomplete``.
"""

from __future__ import annotations

import hashlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from workflow_runs import (
    Run,
    before_the_fan_stage,
    describe_difference,
    result_files,
    run,
    start,
    stray_files,
)

RUN_TIMEOUT_S = 1800  # a whole tiny run, on a loaded machine
WAIT_TIMEOUT_S = 900  # until a CNN job runs
NOTHING_TO_DO = "Nothing to be done"


def digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``results/`` (temporary files left by an interrupted write aside)."""
    stray = set(stray_files(workdir))
    return {
        name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name, path in result_files(workdir).items()
        if name not in stray
    }


@dataclass
class Interruption:
    """What an interruption left behind."""

    name: str
    at_s: float  # seconds after the start of the interrupted Snakemake
    running: dict[int, tuple[str, float]]  # job id -> (rule, seconds it had run) when the signal was sent
    finished: list[str]  # CNN jobs of the interrupted Snakemake that had finished
    returncode: int
    survivors: list[int]  # processes of the run still alive after Snakemake ended
    stray: list[str]  # temporary files left under results/
    files: dict[str, str]  # digests of the files under results/


@dataclass
class InterruptedRun:
    workdir: Path
    interruptions: list[Interruption] = field(default_factory=list)
    restart: Run | None = None
    dry_run: Run | None = None


def _interrupt(job: Run, name: str, sig: signal.Signals, ready) -> Interruption:
    """Wait until ``ready(job)``, send ``sig`` to the run's process group and wait until all of it is gone."""
    at = job.wait_until(ready, timeout=WAIT_TIMEOUT_S, poll=0.05)
    running, finished = job.running(), job.finished()
    job.kill_group(sig)
    returncode = job.wait(timeout=120)
    deadline = time.perf_counter() + 30
    while (survivors := job.survivors()) and time.perf_counter() < deadline:
        time.sleep(0.2)
    found = Interruption(
        name, at, running, finished, returncode, survivors, stray_files(job.workdir), digests(job.workdir)
    )
    rules = ", ".join(f"{rule} ({age:.1f} s)" for rule, age in running.values())
    print(f"\n{name}: {sig.name} at {at:.0f} s, running {rules}; Snakemake exit {returncode}")
    return found


@pytest.fixture(scope="module")
def interrupted_run(tiny, tmp_path_factory) -> InterruptedRun:
    work = before_the_fan_stage(tiny, tmp_path_factory.mktemp("interrupted") / "run")
    result = InterruptedRun(work)
    begin = time.perf_counter()

    # 1. Ctrl-C in the first CNN job
    job = start(work, log_name="snakemake.1.log")
    result.interruptions.append(
        _interrupt(
            job,
            "Ctrl-C",
            signal.SIGINT,
            lambda j: any(age >= 1.0 for _, age in j.running().values()),
        )
    )

    # 2. restart as is; crash once CNN jobs have finished (FAN pre-trained, a recording tracked) and another has
    #    run a while
    job = start(work, log_name="snakemake.2.log")
    result.interruptions.append(
        _interrupt(
            job,
            "crash",
            signal.SIGKILL,
            lambda j: len(j.finished()) >= 2 and any(age >= 1.0 for _, age in j.running().values()),
        )
    )

    # 3. recover from the crash and finish
    unlock = run(work, "--unlock", log_name="snakemake.unlock.log", timeout=300)
    assert unlock.proc.returncode == 0, unlock.tail()
    result.restart = run(work, "--rerun-incomplete", log_name="snakemake.3.log", timeout=RUN_TIMEOUT_S)
    result.dry_run = run(work, "--dry-run", log_name="snakemake.dry.log", timeout=300)
    print(f"\ninterrupted run, restarts included: {time.perf_counter() - begin:.0f} s")
    return result


def test_restarted_run_finishes_cleanly(interrupted_run):
    restart, dry_run = interrupted_run.restart, interrupted_run.dry_run
    assert restart.proc.returncode == 0, restart.tail()
    stray = stray_files(interrupted_run.workdir)
    left_by_kill = interrupted_run.interruptions[-1].stray
    assert not stray, f"temporary files left under results/: {stray} (right after the kill: {left_by_kill})"
    assert dry_run.proc.returncode == 0 and NOTHING_TO_DO in dry_run.text, dry_run.tail()


def test_interruptions_leave_only_complete_files(interrupted_run):
    """Whatever an interruption leaves under an output's name is complete: the finished run ends with the very
    same bytes (a partial file kept as an output would differ from the uninterrupted run's, below)."""
    assert interrupted_run.restart.proc.returncode == 0, interrupted_run.restart.tail()
    final = digests(interrupted_run.workdir)
    for found in interrupted_run.interruptions:
        assert found.running, f"{found.name}: no CNN job was running"
        assert not found.survivors, f"{found.name}: processes {found.survivors} outlived Snakemake"
        assert found.returncode != 0, f"{found.name}: Snakemake exited {found.returncode}"
        replaced = sorted(name for name, digest in found.files.items() if final.get(name) != digest)
        assert not replaced, f"{found.name} left files that the restarted run had to replace: {replaced}"
    ctrl_c = interrupted_run.interruptions[0]
    assert not ctrl_c.stray, f"temporary files left by an interrupted (not killed) job: {ctrl_c.stray}"


def test_restarted_run_equals_uninterrupted_run(tiny, interrupted_run):
    a, b = result_files(tiny), result_files(interrupted_run.workdir)
    assert sorted(a) == sorted(b), f"only in A: {sorted(set(a) - set(b))}; only in B: {sorted(set(b) - set(a))}"
    da, db = digests(tiny), digests(interrupted_run.workdir)
    differing = {name: describe_difference(a[name], b[name]) for name in sorted(a) if da.get(name) != db.get(name)}
    print(f"\ncompared {len(a)} files under results/: {len(a) - len(differing)} identical")
    assert not differing, "files that differ between the two runs:\n" + "\n".join(
        f"  {name}: {why}" for name, why in differing.items()
    )

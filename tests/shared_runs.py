"""Workflow runs shared by a test session and started in the background with it.

A long workflow run that tests read is declared once, with :func:`shared_run`, which returns its session
fixture: the tiny config run to the end (conftest's ``tiny``), test_fan4's FAN-4 run (which starts from a copy of
``tiny``). Every declared run works the same way:

* when the session starts, each run that a selected test uses (directly or through another fixture), and each run
  it starts from, begins in a thread of its own: it waits for the runs it starts from, fills its work directory
  (``prepare``) and runs Snakemake there, while the other tests go on;
* tests that use a shared run go last, in the order the runs were declared, so the runs have the most time;
* the fixture waits for its run and gives its work directory; a run that failed (in ``prepare`` or in Snakemake)
  fails every test that uses it, with the reason and Snakemake's last lines;
* tests read a shared run or copy it (``workflow_runs.copy_run``) and never change it: the fixture's teardown
  fails if a file under its ``results/`` changed;
* runs still going when the session ends are stopped with the jobs they started.

``NEUROFACE_RUN_<NAME>=<dir>`` (``NEUROFACE_RUN_TINY``, ``NEUROFACE_RUN_FAN4``) makes the session use a finished
run of that name made with this code instead of making one (development; CI makes its own).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from workflow_runs import Run, start

#: Fills a shared run's work directory, which does not exist yet: ``prepare(workdir, sources)``, where
#: ``sources`` maps the name of each run it starts from to that finished run's work directory.
Prepare = Callable[[Path, Mapping[str, Path]], None]


@dataclass(frozen=True)
class SharedRun:
    """A declared shared run: its name (the fixture's), how its work directory is made, the runs it starts from,
    Snakemake's extra arguments, and the seconds it may take once those runs have finished."""

    name: str
    prepare: Prepare
    after: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    timeout: float = 1800.0

    @property
    def reuse_variable(self) -> str:
        """The environment variable naming a finished run of this name to use instead."""
        return f"NEUROFACE_RUN_{self.name.upper()}"


#: The declared runs, in declaration order.
DECLARED: dict[str, SharedRun] = {}


class SharedRunFailed(AssertionError):
    """A shared run did not finish: raised in every test that uses it."""


def shared_run(
    name: str,
    prepare: Prepare,
    *,
    after: Iterable[str] = (),
    args: Iterable[str] = (),
    timeout: float = 1800.0,
    doc: str = "",
):
    """Declare a shared run and return its session fixture (named ``name``; assign it at a module's top level,
    in conftest.py for runs that several modules use). ``after`` names runs declared before this one."""
    after = tuple(after)
    if name in DECLARED:
        raise ValueError(f"shared run {name!r} is declared twice")
    if unknown := [a for a in after if a not in DECLARED]:
        raise ValueError(f"shared run {name!r} starts from {unknown}, which are not declared (before it)")
    DECLARED[name] = SharedRun(name, prepare, after, tuple(args), timeout)

    @pytest.fixture(scope="session", name=name)
    def fixture(_shared_runs: SharedRuns) -> Iterator[Path]:
        workdir = _shared_runs.result(name)
        before = result_digests(workdir)
        yield workdir
        after_test = result_digests(workdir)
        changed = sorted(f for f in before.keys() | after_test.keys() if before.get(f) != after_test.get(f))
        assert not changed, f"tests changed the shared run {name!r} in {workdir}: results/{', results/'.join(changed)}"

    fixture.__doc__ = doc or f"The shared run {name!r}: its work directory once it has finished."
    return fixture


def result_digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``<workdir>/results``, by path relative to it."""
    root = workdir / "results"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def used_by(item: pytest.Item) -> list[str]:
    """The shared runs a test uses, directly or through other fixtures."""
    return [name for name in getattr(item, "fixturenames", ()) if name in DECLARED]


def order(items: list[pytest.Item]) -> None:
    """Tests that use no shared run first, then those that use one, by the last-declared run they use; the
    collection's order otherwise kept."""
    rank = {name: i for i, name in enumerate(DECLARED)}
    items.sort(key=lambda item: max((rank[name] for name in used_by(item)), default=-1))


class SharedRuns:
    """The session's shared runs, each made in a thread of its own (see the module's docstring)."""

    def __init__(self, names: Iterable[str], new_path: Callable[[str], Path]):
        self._outcome: dict[str, Path | BaseException] = {}
        self._runs: dict[str, Run] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stopping = False
        self._lock = threading.Lock()  # no run starts once stop() has begun
        for name in self._with_sources(names):
            spec = DECLARED[name]
            path = new_path(name) / "run"  # made here: tmp_path_factory is not meant for threads
            thread = threading.Thread(target=self._make, args=(spec, path), name=f"shared run {name}", daemon=True)
            self._threads[name] = thread
            thread.start()

    @staticmethod
    def _with_sources(names: Iterable[str]) -> list[str]:
        """``names`` and every run they start from, in declaration order (sources before the runs they feed)."""
        needed, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo.extend(DECLARED[name].after)
        return [name for name in DECLARED if name in needed]

    def _make(self, spec: SharedRun, workdir: Path) -> None:
        try:
            if reuse := os.environ.get(spec.reuse_variable):
                self._outcome[spec.name] = Path(reuse)
                return
            sources = {}
            for source in spec.after:
                try:
                    sources[source] = self.result(source)
                except SharedRunFailed as exc:
                    raise SharedRunFailed(f"it starts from the shared run {source!r}, which failed") from exc
            spec.prepare(workdir, sources)
            with self._lock:
                if self._stopping:
                    raise SharedRunFailed("the session ended before it started")
                self._runs[spec.name] = job = start(workdir, *spec.args)
            job.succeeded(spec.timeout)
            self._outcome[spec.name] = workdir
        except BaseException as exc:  # every test that uses the run reports it
            self._outcome[spec.name] = exc

    def result(self, name: str) -> Path:
        """The work directory of the finished run ``name``; waits for it, and fails if it failed."""
        if name not in self._threads:
            raise KeyError(f"the shared run {name!r} was not started: no selected test uses it")
        self._threads[name].join()
        outcome = self._outcome[name]
        if isinstance(outcome, BaseException):
            raise SharedRunFailed(f"the shared run {name!r} failed: {outcome}") from outcome
        return outcome

    def stop(self) -> None:
        """Stop the runs still going (Snakemake and its jobs) and wait for their threads."""
        with self._lock:
            self._stopping = True
        for job in self._runs.values():
            job.kill()
        for thread in self._threads.values():
            thread.join()

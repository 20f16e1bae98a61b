"""The shared-run mechanism of ``tests/shared_runs.py`` on runs declared here (the session's own runs are
left alone): the order of tests, the runs a run starts from, a failure reaching every run that starts from it,
reuse of a finished run, and a Snakemake run carried to its end."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import shared_runs
from shared_runs import SharedRun, SharedRunFailed, SharedRuns


@pytest.fixture
def declared(monkeypatch) -> dict[str, SharedRun]:
    """An empty declaration table in place of the session's."""
    table: dict[str, SharedRun] = {}
    monkeypatch.setattr(shared_runs, "DECLARED", table)
    return table


def paths(tmp_path: Path):
    """A stand-in for ``tmp_path_factory.mktemp``: a new empty folder per name."""

    def mktemp(name: str) -> Path:
        (tmp_path / name).mkdir()
        return tmp_path / name

    return mktemp


def test_tests_using_shared_runs_go_last_by_declaration(declared):
    shared_runs.shared_run("first", lambda w, s: None)
    shared_runs.shared_run("second", lambda w, s: None, after=["first"])
    items = [SimpleNamespace(name=n, fixturenames=f) for n, f in [("a", ["second"]), ("b", []), ("c", ["first"])]]
    items += [SimpleNamespace(name="d", fixturenames=["tmp_path"]), SimpleNamespace(name="e", fixturenames=["first"])]
    shared_runs.order(items)
    assert [i.name for i in items] == ["b", "d", "c", "e", "a"]


def test_declaring_out_of_order_or_twice_is_refused(declared):
    with pytest.raises(ValueError, match="not declared"):
        shared_runs.shared_run("late", lambda w, s: None, after=["missing"])
    shared_runs.shared_run("once", lambda w, s: None)
    with pytest.raises(ValueError, match="declared twice"):
        shared_runs.shared_run("once", lambda w, s: None)


def test_a_failure_reaches_every_run_that_starts_from_it(declared, tmp_path):
    prepared = []

    def broken(workdir, sources):
        raise OSError("disk full")

    shared_runs.shared_run("base", broken)
    shared_runs.shared_run("derived", lambda w, s: prepared.append(s), after=["base"])
    runs = SharedRuns(["derived"], paths(tmp_path))  # "base" starts too: "derived" starts from it
    with pytest.raises(SharedRunFailed, match="'base' failed: disk full"):
        runs.result("base")
    with pytest.raises(SharedRunFailed, match="'derived' failed: it starts from the shared run 'base'"):
        runs.result("derived")
    assert prepared == []  # never prepared from a failed source
    runs.stop()


def test_a_finished_run_named_in_the_environment_is_used_as_it_is(declared, tmp_path, monkeypatch):
    shared_runs.shared_run("kept", lambda w, s: pytest.fail("a reused run is not prepared again"))
    monkeypatch.setenv("NEUROFACE_RUN_KEPT", str(tmp_path / "finished"))
    runs = SharedRuns(["kept"], paths(tmp_path))
    assert runs.result("kept") == tmp_path / "finished"
    with pytest.raises(KeyError, match="not started"):
        runs.result("other")


def test_runs_start_from_their_sources_and_carry_snakemake_to_its_end(declared, tmp_path):
    seen = {}

    def base(workdir, sources):
        workdir.mkdir()
        (workdir / "made").write_text("base")

    def derived(workdir, sources):
        seen.update(sources)
        workdir.mkdir()

    shared_runs.shared_run("base", base, args=["--version"])
    shared_runs.shared_run("derived", derived, after=["base"], args=["--version"])
    runs = SharedRuns(["derived"], paths(tmp_path))
    assert runs.result("derived") == tmp_path / "derived" / "run"
    assert seen == {"base": tmp_path / "base" / "run"} and (seen["base"] / "made").read_text() == "base"
    assert (tmp_path / "derived" / "run" / "snakemake.log").read_text().strip()  # Snakemake ran and exited 0
    runs.stop()

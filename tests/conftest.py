"""Shared fixtures: small RealSense recordings written by the project's own writer; librealsense
(``pyrealsense2``); the session's shared workflow runs (``tests/shared_runs.py``), among them the tiny config's
(``tiny``); and the one rule for tests that need a system package.

A test that needs a Debian package that is not installed (``libusb-1.0-0`` for pyrealsense2; Slurm
and munge for the one-node cluster of ``test_slurm.py``) skips with a reason naming the package, so
the README's test command passes on a fresh machine. CI installs them and sets
``NEUROFACE_REQUIRE_SYSTEM_PACKAGES=1``: there, every such skip is reported as a failure instead, so
nothing is silently skipped where it must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import numpy as np
import pytest

import shared_runs
from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics
from neuroface.realsense.writer import BagWriter, StreamSpec
from workflow_runs import REPO, new_workdir

#: Set to 1 (CI does) to turn every "needs Debian package" skip into a failure.
REQUIRE_SYSTEM_PACKAGES = "NEUROFACE_REQUIRE_SYSTEM_PACKAGES"
_NEEDS = "needs Debian package "


def system_packages_required() -> bool:
    return os.environ.get(REQUIRE_SYSTEM_PACKAGES, "").strip() not in ("", "0")


def missing_system_package(package: str, needed_by: str) -> NoReturn:
    """Skip the running test: Debian's ``package`` (needed by ``needed_by``) is not installed.
    Under ``NEUROFACE_REQUIRE_SYSTEM_PACKAGES=1`` the skip is reported as a failure
    (:func:`pytest_runtest_makereport`)."""
    pytest.skip(f"{_NEEDS}{package} ({needed_by})")


def import_pyrealsense2() -> ModuleType:
    """pyrealsense2, or a skip naming libusb-1.0-0 when its shared library is missing (the wheel
    links libusb-1.0.so.0 but does not ship it). pyrealsense2 itself missing is an error: it is in
    the test extra (``pip install -e ".[test]"``)."""
    try:
        import pyrealsense2
    except ImportError as exc:
        if "libusb" not in str(exc):
            raise
        missing_system_package("libusb-1.0-0", f"pyrealsense2: {exc}")
    return pyrealsense2


def system_executables(programs: Mapping[str, str]) -> dict[str, str]:
    """Paths of ``programs`` (name -> the Debian package that provides it; also looked for in /usr/sbin
    and /sbin), or one skip naming every package whose program is missing."""
    found = {name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin") for name in programs}
    if missing := sorted(name for name, path in found.items() if path is None):
        packages = ", ".join(sorted({programs[name] for name in missing}))
        missing_system_package(packages, f"{', '.join(missing)} not found; see .ci/run")
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``NEUROFACE_REQUIRE_SYSTEM_PACKAGES=1``, a skip for a missing system package fails."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and system_packages_required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if _NEEDS in reason:
            report.outcome = "failed"
            report.longrepr = f"{reason.removeprefix('Skipped: ')}, and {REQUIRE_SYSTEM_PACKAGES} is set: install it"


@pytest.fixture(scope="session")
def rs() -> ModuleType:
    """librealsense's Python bindings (``pyrealsense2``); skips naming libusb-1.0-0 when it is missing."""
    return import_pyrealsense2()


def rule_script(path: Path, body: str, config: dict | None = None) -> Path:
    """A stand-in rule script at ``path``: the object Snakemake gives a script (one thread, ``config``),
    then ``_bootstrap`` as every rule script imports it first, then ``body``."""
    path.write_text(
        "import sys, types\n"
        f"sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r})\n"
        "import __main__\n"
        f"__main__.snakemake = types.SimpleNamespace(threads=1, config={config or {}!r})\n"
        "import _bootstrap\n" + body
    )
    return path


SHARED = REPO.parent / "shared"
REFERENCE_BAG = SHARED / "realsense" / "reference-d400-like.bag"

COLOR_INTR = Intrinsics(
    160, 120, 81.3, 59.1, 154.0, 153.5, Distortion.INVERSE_BROWN_CONRADY, (0.12, -0.21, 0.0011, -0.0007, 0.05)
)
DEPTH_INTR = Intrinsics(160, 120, 79.6, 60.4, 96.0, 96.0, Distortion.BROWN_CONRADY, (0.0, 0.0, 0.0, 0.0, 0.0))
DEPTH_TO_COLOR = Extrinsics.from_quaternion(np.array([0.002, -0.004, 0.001, 1.0]), np.array([0.015, 0.0002, -0.0004]))


def synthetic_frames(n: int, seed: int = 0) -> list[tuple[int, float, np.ndarray, np.ndarray]]:
    """``(frame_number, timestamp_ms, rgb, depth)`` tuples with a smooth surface 0.4-0.6 m away."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:120, 0:160]
    out = []
    for i in range(n):
        depth = (500 + 80 * np.sin(xx / 17.0 + i) * np.cos(yy / 23.0)).astype(np.uint16)
        depth[rng.random(depth.shape) < 0.02] = 0  # holes
        rgb = np.stack([(xx + 7 * i) % 256, (yy * 2 + i) % 256, rng.integers(0, 256, xx.shape)], -1).astype(np.uint8)
        out.append((1000 + i, 5000.0 + 20.0 * i, rgb, depth))
    return out


def write_bag(
    path: Path,
    frames,
    drop_depth: tuple[int, ...] = (),
    color_intr: Intrinsics = COLOR_INTR,
    depth_intr: Intrinsics = DEPTH_INTR,
    **writer,
) -> Path:
    """``frames`` into a bag at ``path`` (depth left out for the frame numbers in ``drop_depth``) with the streams'
    intrinsics; ``writer``: further :class:`BagWriter` arguments (``color_encoding``, ``timestamp_domains``)."""
    with BagWriter(path, StreamSpec(color_intr, 50), StreamSpec(depth_intr, 50), DEPTH_TO_COLOR, 0.001, **writer) as w:
        for number, ts, rgb, depth in frames:
            if number not in drop_depth:
                w.write_depth(number, ts, depth)
            w.write_color(number, ts, rgb)
    return path


@pytest.fixture(scope="session")
def small_bag(tmp_path_factory) -> Path:
    return write_bag(tmp_path_factory.mktemp("bags") / "small.bag", synthetic_frames(6))


@pytest.fixture(scope="session")
def reference_bag() -> Path:
    if not REFERENCE_BAG.is_file():
        pytest.skip(f"librealsense reference recording not found at {REFERENCE_BAG}")
    return REFERENCE_BAG


# -- shared workflow runs (tests/shared_runs.py) -------------------------------------------------------------------


def pytest_collection_modifyitems(session, config, items):
    """Tests that use a shared workflow run go last, so that the runs go on while the others run."""
    shared_runs.order(items)


@pytest.fixture(scope="session", autouse=True)
def _shared_runs(request, tmp_path_factory) -> Iterator[shared_runs.SharedRuns]:
    """The shared runs that the session's tests use, started with the session; stopped at its end."""
    names = {name for item in request.session.items for name in shared_runs.used_by(item)}
    runs = shared_runs.SharedRuns(names, tmp_path_factory.mktemp)
    yield runs
    runs.stop()


tiny = shared_runs.shared_run(
    "tiny",
    lambda workdir, _: new_workdir(workdir),
    doc="""The tiny synthetic config (``tests/configs/tiny.yaml``) run to the end, once per session: the source
    of the lab cohorts (test_lab_data), the uninterrupted reference run (test_reliability), and the finished run
    that the relabelling loop (test_outliers), the SLURM run (test_slurm) and the FAN-4 run (test_fan4) start
    from.""",
)

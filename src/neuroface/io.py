"""Atomic file output and rule logging.

Every output is written to a temporary name beside its target and renamed into place only when
complete, so an interrupted job never leaves a half-written file that looks finished.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale(target: Path, token: str = r"[a-z0-9_]{8}") -> None:
    """Delete the temporaries ``.<name>.<token>.partial`` of ``target`` that a killed writer left
    behind (SIGKILL skips ``finally``). Snakemake lets one job at a time write an output, so none
    is in use; the exact pattern spares other targets' temporaries (``x.pth`` vs ``x.pth.json``)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{token}\.partial")
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        if pattern.fullmatch(stale.name) and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        elif pattern.fullmatch(stale.name):
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; rename it to ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically: ``.parquet`` via pyarrow, ``.csv`` comma- and others tab-separated."""
    target = Path(path)
    with atomic_path(target) as tmp:
        if target.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, sep="," if target.suffix == ".csv" else "\t", index=False)


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send the package's log records (and tqdm progress, which writes to stderr) to ``log_file``."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(
        level=level, handlers=handlers, force=True, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return logging.getLogger("neuroface")

"""FAN weights: the published 2DFAN-4 file, and this project's checkpoints.

Weights are plain ``state_dict`` files (what face-alignment distributes and loads) read with
``torch.load(..., weights_only=True)``; the architecture travels in a JSON sidecar
(``<file>.json``) so that the weights file itself stays loadable by face-alignment.

PyTorch and the model are imported by the functions that load or save weights: the Snakefile uses
the file checks here (location, checksum, download) when it builds the DAG, before any job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroface.errors import InputError
from neuroface.fan.architecture import FANConfig
from neuroface.io import atomic_path

if TYPE_CHECKING:
    import torch

    from neuroface.fan.model import FAN

log = logging.getLogger(__name__)

#: The 2DFAN-4 weights face-alignment downloads on first use; the hex in the name is the start
#: of the file's SHA-256 (torch.hub's convention), checked on every load.
FAN4_URL = "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar"
FAN4_FILE = FAN4_URL.rsplit("/", 1)[1]
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")
#: face-alignment's S3FD face detector weights (torch.hub caches them under this name; the hex is the
#: start of the file's SHA-256, checked on every load); the network is :mod:`neuroface.fan.detection`'s.
SFD_URL = "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth"
SFD_FILE = SFD_URL.rsplit("/", 1)[1]


def hub_cache_path(filename: str = FAN4_FILE) -> Path:
    """Where face-alignment (torch.hub) caches downloaded weights: ``torch.hub.get_dir()``'s rule
    (``$TORCH_HOME/hub``, ``TORCH_HOME`` defaulting to ``$XDG_CACHE_HOME/torch`` and that to
    ``~/.cache``; no ``torch.hub.set_dir`` is called anywhere here), worked out without importing
    PyTorch, so that building the DAG does not load it."""
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints" / filename


def locate_pretrained(configured: str | None) -> Path:
    """The 2DFAN-4 file: the configured path if given (only that file: an explicit path never
    falls back to a cache), else face-alignment's cache.

    Raises :class:`InputError` naming where the file is expected and where it comes from.
    """
    path = Path(configured) if configured else hub_cache_path()
    if path.is_file():
        return path
    cached = hub_cache_path()
    hint = (
        f" (face-alignment's cache has {cached}, which is not used for an explicit path: set "
        "fan.pretrained.path to it, or to null)"
        if configured and cached.is_file()
        else ""
    )
    raise InputError(
        path,
        f"pre-trained FAN weights not found{hint}. "
        f"They are face-alignment's 2DFAN-4, downloaded from {FAN4_URL}; fetch that file on a machine "
        "with network access and set fan.pretrained.path to it, or enable fan.pretrained.download.",
    )


def locate_sfd(configured: str | None) -> Path:
    """The S3FD weights: the configured path (never anything else when one is given), else
    face-alignment's torch.hub cache. Raises :class:`InputError` saying where to get them."""
    path = Path(configured) if configured else hub_cache_path(SFD_FILE)
    if path.is_file():
        return path
    where = "tracking.sfd.path" if configured else f"face-alignment's cache ({path})"
    raise InputError(
        path,
        f"S3FD weights not found ({where}). They are face-alignment's, from {SFD_URL}; fetch that file "
        "on a machine with network access and set tracking.sfd.path to it, or use tracking.detector: haar.",
    )


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | Path, expected: str | None = None, key: str = "the configured sha256") -> None:
    """Check a weights file against ``expected`` (a SHA-256 or its prefix), or against the hash
    prefix in its own name (``2DFAN4-11f355bf06.pth.tar``) when none is given. ``key`` names the
    setting ``expected`` came from, for the message."""
    path = Path(path)
    named = _HASH_IN_NAME.search(path.name)
    if expected is None:
        if named is None:
            return
        expected = named.group(1)
    actual = sha256(path)
    if not actual.startswith(expected.lower()):
        hint = (
            f"; the hash in the file's name, {named.group(1)}, matches it: the expected checksum is another "
            f"file's ({key}: null checks the name's hash)"
            if named and actual.startswith(named.group(1).lower())
            else ""
        )
        raise InputError(path, f"checksum mismatch: SHA-256 {actual[:16]}..., expected {expected}...{hint}")


def download_pretrained(dest: str | Path, url: str = FAN4_URL, timeout_s: float = 60.0) -> Path:
    """Download the 2DFAN-4 weights to ``dest`` (atomically) and verify their checksum."""
    dest = Path(dest)
    log.info("downloading %s to %s", url, dest)
    with atomic_path(dest) as tmp, urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as fh:
        while block := response.read(1 << 20):
            fh.write(block)
        fh.flush()
        match = _HASH_IN_NAME.search(url.rsplit("/", 1)[1])
        if match:
            verify_checksum(tmp, match.group(1))
    return dest


def url_reachable(url: str = FAN4_URL, timeout_s: float = 5.0) -> bool:
    """Whether ``url``'s server answers (used to fail early, before any job, when offline)."""
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout_s):
            return True
    except OSError:
        return False


def load_state_dict(path: str | Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """A FAN ``state_dict`` from a weights file, safely (``weights_only=True``), checksum verified.

    Accepts plain state dicts and ``{"state_dict": ...}`` wrappers; strips ``module.`` prefixes.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "weights file not found")
    verify_checksum(path, expected_sha256)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        raise InputError(path, f"not a loadable weights file ({type(exc).__name__}: {exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(path, "does not contain a state_dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def file_architecture(path: str | Path) -> FANConfig:
    """The architecture of a weights file, without PyTorch: its JSON sidecar's (this project's
    checkpoints), else the study's 2DFAN-4 settings (face-alignment's files have no sidecar).

    Raises :class:`InputError` naming the sidecar when it cannot be read or describes no FAN.
    """
    path = Path(path)
    sidecar = path.with_name(path.name + ".json")
    if not sidecar.is_file():
        return FANConfig()
    try:
        return FANConfig(**json.loads(sidecar.read_text())["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise InputError(sidecar, f"does not describe a FAN architecture: {exc}") from None


def load_fan(path: str | Path, config: FANConfig | None = None, expected_sha256: str | None = None) -> FAN:
    """A FAN in eval mode from a weights file; the architecture comes from ``config``, else
    :func:`file_architecture`."""
    from neuroface.fan.model import FAN

    model = FAN(config or file_architecture(path))
    state = load_state_dict(path, expected_sha256)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(path, f"weights do not fit FAN {model.config.to_dict()}: {exc}") from exc
    return model.eval()


def save_fan(model: FAN, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
    """Write the ``state_dict`` (face-alignment's format) and a JSON sidecar with the
    architecture, the file's SHA-256 and ``metadata``; both atomically."""
    import torch

    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file handle: torch.save names the archive's root after a path
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, fh)
        digest = sha256(tmp)
    info = {"config": model.config.to_dict(), "sha256": digest, **(metadata or {})}
    with atomic_path(path.with_name(path.name + ".json")) as tmp:
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")

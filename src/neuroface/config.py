"""The workflow's config as its rules see it, for code outside the workflow (tools, the pre-flight estimate).

Rule scripts get their settings from Snakemake; this module is for the tools that read a work directory's
``config.yaml`` afterwards and must resolve it the same way, defaults included. It imports Snakemake's
validator, which the rules' conda environments need not provide, so no rule script imports it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

__all__ = ["CONFIG_SCHEMA", "read_config"]

#: The workflow's config schema, whose defaults fill in what a ``config.yaml`` leaves out.
CONFIG_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def read_config(path: str | Path, *overlays: str | Path) -> dict:
    """A ``config.yaml`` as the workflow reads it: each overlay merged over it in turn, as Snakemake merges
    ``--configfile config.yaml overlay.yaml`` (nested mappings key by key, anything else replaced), then
    checked against :data:`CONFIG_SCHEMA`, whose defaults fill in the settings the files leave out
    (``snakemake.utils.validate``, as the Snakefile's ``validate`` does). Raises ``FileNotFoundError`` for a
    missing file, Snakemake's ``WorkflowError`` for an invalid config."""
    from snakemake.utils import update_config, validate  # heavy; imported only when a config is read

    config = yaml.safe_load(Path(path).read_text()) or {}
    for overlay in overlays:
        update_config(config, yaml.safe_load(Path(overlay).read_text()) or {})
    validate(config, str(CONFIG_SCHEMA))
    return config

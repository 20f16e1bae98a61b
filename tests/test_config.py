"""The config schema's defaults are config.yaml's values, so a key left out of a config means what the
embedded default means (and the two cannot drift apart)."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
CONFIG = REPO / "config.yaml"
_ABSENT = object()


def defaults(node: dict, value, path: str = "") -> Iterator[tuple[str, object, object]]:
    """``(key path, schema default, config value or _ABSENT)`` for every default in the schema below
    ``node``; an object's ``{}`` default only stands for its properties' defaults, which are walked."""
    if "default" in node and not (node["default"] == {} and "properties" in node):
        yield path, node["default"], value
    for key, sub in (node.get("properties") or {}).items():
        yield from defaults(sub, value.get(key, _ABSENT) if isinstance(value, dict) else _ABSENT, f"{path}.{key}")


def test_schema_defaults_equal_config_yaml():
    schema = yaml.safe_load(SCHEMA.read_text())
    config = yaml.safe_load(CONFIG.read_text())
    found = list(defaults(schema, config))
    assert len(found) > 50, "the walk found too few defaults"
    assert ".fan.decoder" in {p for p, _, _ in found}
    differing = [f"{p}: schema {d!r}, config.yaml {v!r}" for p, d, v in found if v is not _ABSENT and v != d]
    assert not differing, "\n".join(differing)
    # the keys config.yaml leaves out are exactly those whose default is null (meaning "not set")
    absent = [p for p, d, v in found if v is _ABSENT]
    assert all(d is None for p, d, v in found if v is _ABSENT), absent


def test_the_check_catches_a_drifted_default():
    schema = {"properties": {"fan": {"default": {}, "properties": {"decoder": {"default": "face-alignment"}}}}}
    found = list(defaults(schema, {"fan": {"decoder": "subpixel"}}))
    assert found == [(".fan.decoder", "face-alignment", "subpixel")]

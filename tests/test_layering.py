"""The package's import structure (README "Layout"): imports only point down the stages, inference
never imports training, and building the DAG does not load PyTorch.

Imports are read from the source with :mod:`ast` (function-level imports included, since a lazy
import is still a dependency), not from a running interpreter."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "neuroface"

#: README "Layout", bottom up: the shared leaves (each may import the ones before it), the device
#: layer, then the stages in the order of the rule table; ``scale`` (outside the rules) is on top.
ORDER = [
    "errors",
    "io",
    "cpu_isa",
    "colors",
    "landmarks",
    "drawing",
    "tracks",
    "plotting",
    "config",
    "realsense",
    "inputs",
    "synthetic",
    "fan",
    "tracking",
    "qc",
    "features",
    "classification",
    "scale",
]
#: ``neuroface.fan``'s training modules, which no inference module may import (README "FAN").
TRAINING = {"neuroface.fan.loss", "neuroface.fan.train", "neuroface.fan.data", "neuroface.fan.pipeline"}


def _modules() -> dict[str, Path]:
    """Every module and package of ``neuroface``: dotted name -> source file."""
    return {
        ".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in SRC.rglob("*.py")
    }


def _imports() -> dict[str, set[str]]:
    """module -> the ``neuroface`` modules it imports (``from a import b`` counts ``a`` and, where
    ``a.b`` is a module, ``a.b``)."""
    modules = _modules()
    found = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import (this test reads absolute ones only)"
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
        found[name] = {t for t in targets if t.split(".")[0] == "neuroface" and t != "neuroface"}
    return found


def _unit(module: str) -> str:
    return module.split(".")[1]


def test_every_module_has_its_place_in_the_layering():
    units = {_unit(m) for m in _imports() if m != "neuroface"}
    assert units == set(ORDER), units ^ set(ORDER)


def test_imports_only_point_down():
    rank = {unit: i for i, unit in enumerate(ORDER)}
    upward = [
        f"{module} imports {target}"
        for module, targets in _imports().items()
        if module != "neuroface"
        for target in targets
        if rank[_unit(target)] > rank[_unit(module)]
    ]
    assert not upward, upward


def test_inference_never_imports_training():
    imports = _imports()
    importers = {module for module, targets in imports.items() for target in targets if target in TRAINING}
    assert importers <= TRAINING, importers - TRAINING
    # and the test sees the imports it guards: the training modules do import each other
    assert "neuroface.fan.train" in imports["neuroface.fan.pipeline"]
    assert "neuroface.fan.loss" in imports["neuroface.fan.train"]


def _rule_file_imports() -> set[str]:
    """The ``neuroface`` modules the Snakefile and rule files import at their top level (what runs when
    the DAG is built; ``onstart``'s indented import runs in the main process only, after it): for
    ``from a import b, c`` the module ``a`` and each of ``a.b``, ``a.c`` that is a module."""
    modules, found = _modules().keys(), set()
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        text = path.read_text()
        for match in re.finditer(r"^from (neuroface[\w.]*) import (\([^)]*\)|[^\n]*)", text, re.M):
            package, names = match.groups()
            found.add(package)
            names = re.sub(r"#[^\n]*", "", names).strip("()").split(",")
            found |= {f"{package}.{name.split()[0]}" for name in names if name.strip()} & modules
        found |= set(re.findall(r"^import (neuroface[\w.]*)", text, re.M))
    return found


def test_building_the_dag_does_not_load_pytorch():
    """The modules the Snakefile and rule files import (common.smk's checks run when the DAG is built,
    also for a dry run and in every SLURM job) load no PyTorch: only ``fan.device: auto`` does, to look
    for a GPU. (That the checks themselves load none when they look in torch.hub's cache is
    tests/test_fan.py's ``test_weight_locations_follow_torch_hub_without_loading_it``.)"""
    modules = sorted(_rule_file_imports())
    expected = {"fan.architecture", "fan.device", "fan.weights", "inputs.tables", "inputs.annotated"}
    assert {f"neuroface.{m}" for m in expected} <= set(modules), modules
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out

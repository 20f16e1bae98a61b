"""Check the per-rule conda environments (envs/*.yaml) statically: no conda channel is contacted.

Run ``python tools/check_envs.py [REPOSITORY]``: prints every problem, one a line, and exits 1 if there is
any, 0 when there is none. ``tests/test_envs.py`` runs it on the repository and proves it catches problems.
What is checked:


* Every env file parses, lists only conda-forge (+ nodefaults), pins python and every dependency (pip section
  included), pins the packages pyproject.toml also lists to pyproject's range, and a package has the same pin
  in every env.
* Every rule of the workflow that runs code (``script:``, ``shell:``, ``notebook:``) has ``conda:`` pointing at
  an existing envs/*.yaml. Rules are found by reading the Snakefile, workflow/rules/*.smk and anything they
  ``include:`` with Python's tokenizer (Snakemake's own parser is tokenizer-based), so rules nested under
  ``if ...:`` are all seen, whatever the config. ``run:`` rules run in Snakemake's own process (``conda:`` is not
  allowed there) and ``wrapper:`` rules bring their own env: both are exempt, as are rules like ``all``.
* Every third-party module the code of a rule imports is provided by the rule's env. Imports are collected
  by AST from the rule's script (and from ``*.py`` / ``python -m`` commands in ``shell:``), following the
  helper modules next to the script (``_bootstrap``...) and the ``neuroface`` package in src/
  transitively (absolute and relative imports, package ``__init__``s, ``from pkg import submodule``), and
  including imports inside functions. Imports inside a ``try:`` that catches ImportError/ModuleNotFoundError
  (its body and handlers) are optional dependencies and are not required; so are ``if TYPE_CHECKING:`` imports.
  The standard library (sys.stdlib_module_names) is exempt, and so is ``snakemake``: the preamble Snakemake puts
  in front of a script appends the running Snakemake's own installation to sys.path, so rule envs need not (and
  should not) install it. A few needs no import reveals are also checked (parquet I/O needs pyarrow;
  ``cv2.data``, OpenCV's Haar cascades, exists only in the opencv-python wheels, not in conda-forge's py-opencv).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / "envs"
SRC = ROOT / "src"

CHANNELS = (["conda-forge", "nodefaults"], ["conda-forge"])
ENV_KEYS = {"name", "channels", "dependencies", "variables"}
RUNS_CODE = ("script", "shell", "notebook")
#: top-level modules the env does not have to provide (see the module docstring)
RUNNER_PROVIDED = {"snakemake", "__future__"}

#: import name -> conda-forge (or pip) packages that provide it; otherwise the import name itself
MODULE_PROVIDERS: dict[str, set[str]] = {
    "cv2": {"py-opencv", "opencv", "opencv-python", "opencv-python-headless", "opencv-contrib-python-headless"},
    "skimage": {"scikit-image"},
    "sklearn": {"scikit-learn"},
    "yaml": {"pyyaml"},
    "torch": {"pytorch", "pytorch-gpu", "pytorch-cpu", "torch"},
    "PIL": {"pillow"},
    "matplotlib": {"matplotlib-base", "matplotlib"},
    "mpl_toolkits": {"matplotlib-base", "matplotlib"},
    "dateutil": {"python-dateutil"},
    "google": {"protobuf"},
    "face_alignment": {"face-alignment", "face_alignment"},
    "pyrealsense2": {"pyrealsense2"},
    "tomli": {"tomli"},
}
#: pyproject (PyPI) name -> the names the same package has in an env (conda-forge or pip section)
PYPI_ALIASES: dict[str, set[str]] = {
    "opencv-python": {"opencv-python", "opencv-python-headless", "py-opencv", "opencv"},
    "torch": {"torch", "pytorch", "pytorch-gpu", "pytorch-cpu"},
    "matplotlib": {"matplotlib", "matplotlib-base"},
}
OPENCV_WHEELS = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}


# --------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Directive:
    text: str  # the value's source text
    strings: tuple[str, ...] | None  # the value's string literals, None unless it is only string literals

    @property
    def literal(self) -> str | None:
        return None if self.strings is None else "".join(self.strings)


@dataclass(frozen=True, eq=False)
class Rule:
    name: str
    file: Path
    line: int
    directives: dict[str, Directive] = field(default_factory=dict)
    parent: str | None = None  # ``use rule parent as name``

    @property
    def where(self) -> str:
        return f"{_rel(self.file)}:{self.line}"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _logical_lines(text: str) -> list[list[tokenize.TokenInfo]]:
    skip = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    lines, current = [], []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if current:
                lines.append(current)
            current = []
        elif tok.type not in skip:
            current.append(tok)
    return lines


def _directive(tokens: list[tokenize.TokenInfo]) -> Directive:
    text = " ".join(t.string for t in tokens)
    values = [t for t in tokens if not (t.type == tokenize.OP and t.string == ",")]
    strings: tuple[str, ...] | None = None
    if values and all(t.type == tokenize.STRING for t in values):
        try:
            strings = tuple(ast.literal_eval(t.string) for t in values)
        except (ValueError, SyntaxError):  # f-strings
            strings = None
    return Directive(text, strings)


def _is(tok: tokenize.TokenInfo, string: str) -> bool:
    return tok.string == string and tok.type in (tokenize.NAME, tokenize.OP)


def parse_snakefile(path: Path) -> tuple[list[Rule], list[Path]]:
    """Rules defined in one Snakefile / .smk (at any nesting level), and the files it ``include:``s."""
    lines = _logical_lines(path.read_text(encoding="utf-8"))
    rules, includes = [], []
    for k, toks in enumerate(lines):
        col = toks[0].start[1]
        if _is(toks[0], "include") and len(toks) > 1 and _is(toks[1], ":"):
            nxt = lines[k + 1] if k + 1 < len(lines) else []
            body = toks[2:] or (nxt if nxt and nxt[0].start[1] > col else [])
            value = _directive(body).literal
            if value:
                includes.append((path.parent / value).resolve())
            continue
        if toks[0].string in ("rule", "checkpoint") and len(toks) >= 2:
            if _is(toks[1], ":"):
                name, parent = f"<anonymous rule at {_rel(path)}:{toks[0].start[0]}>", None
            elif toks[1].type == tokenize.NAME and len(toks) >= 3 and _is(toks[2], ":"):
                name, parent = toks[1].string, None
            else:
                continue
        elif _is(toks[0], "use") and len(toks) >= 5 and _is(toks[1], "rule"):
            words = [t.string for t in toks]
            if "from" in words or "as" not in words:  # rules of a module: not defined in this repository
                continue
            parent, name = words[2], words[words.index("as") + 1]
        else:
            continue
        body = []
        for nxt in lines[k + 1 :]:
            if nxt[0].start[1] <= col:
                break
            body.append(nxt)
        directives: dict[str, Directive] = {}
        if body:
            dcol = body[0][0].start[1]
            key, value = None, []
            for toks_b in body:
                at_level = toks_b[0].start[1] == dcol
                if at_level and key is not None:
                    directives[key] = _directive(value)
                    key, value = None, []
                if at_level and toks_b[0].type == tokenize.NAME and len(toks_b) > 1 and _is(toks_b[1], ":"):
                    key, value = toks_b[0].string, list(toks_b[2:])
                elif key is not None:
                    value.extend(toks_b)
            if key is not None:
                directives[key] = _directive(value)
        rules.append(Rule(name, path.resolve(), toks[0].start[0], directives, parent))
    return rules, includes


def discover_rules(root: Path) -> list[Rule]:
    """Every rule in the Snakefile(s), workflow/rules/*.smk and whatever they include, ``use rule`` resolved."""
    queue = deque(
        p.resolve()
        for p in [root / "Snakefile", root / "workflow" / "Snakefile", *sorted((root / "workflow").glob("rules/*.smk"))]
        if p.is_file()
    )
    seen, rules = set(), []
    while queue:
        path = queue.popleft()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        found, includes = parse_snakefile(path)
        rules += found
        queue.extend(includes)
    by_name = {r.name: r for r in rules if r.parent is None}
    resolved = []
    for r in rules:
        base = by_name.get(r.parent) if r.parent else None
        resolved.append(replace(r, directives={**base.directives, **r.directives}) if base else r)
    return resolved


# ------------------------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class Need:
    """A package the code needs: the import (or feature) and where the code asks for it."""

    what: str
    providers: frozenset[str]
    file: Path
    line: int
    chain: tuple[str, ...]  # the local modules from the entry script to ``file``


@dataclass(frozen=True)
class _Import:
    module: str
    level: int
    names: tuple[str, ...]
    line: int


def _catches_import_error(handler: ast.expr | None) -> bool:
    if handler is None:
        return False
    names = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(
        (isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError"))
        or (isinstance(n, ast.Attribute) and n.attr in ("ImportError", "ModuleNotFoundError"))
        for n in names
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


#: needs no import reveals: (description, predicate on an attribute access, packages that provide it)
FEATURES: list[tuple[str, Callable[[str, str | None], bool], frozenset[str]]] = [
    (
        "parquet I/O (read_parquet/to_parquet)",
        lambda attr, dotted: attr in ("read_parquet", "to_parquet"),
        frozenset({"pyarrow", "fastparquet"}),
    ),
    (
        "cv2.data (Haar cascades: only the opencv-python wheels ship it, conda-forge's py-opencv does not)",
        lambda attr, dotted: dotted is not None and (dotted == "cv2.data" or dotted.startswith("cv2.data.")),
        frozenset(OPENCV_WHEELS),
    ),
]


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.imports: list[_Import] = []
        self.features: dict[str, int] = {}
        self._optional = 0

    def visit_Try(self, node: ast.Try) -> None:
        optional = any(_catches_import_error(h.type) for h in node.handlers)
        self._optional += optional
        for stmt in [*node.body, *node.handlers]:
            self.visit(stmt)
        self._optional -= optional
        for stmt in [*node.orelse, *node.finalbody]:
            self.visit(stmt)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def _add(self, module: str, level: int, names: tuple[str, ...], line: int) -> None:
        if not self._optional:
            self.imports.append(_Import(module, level, names, line))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, 0, (), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._add(node.module or "", node.level, tuple(a.name for a in node.names), node.lineno)
        if node.module == "cv2" and any(a.name == "data" for a in node.names):
            self.features.setdefault(FEATURES[1][0], node.lineno)

    def visit_Call(self, node: ast.Call) -> None:  # importlib.import_module("x"), __import__("x")
        func = _dotted(node.func) or ""
        if func.split(".")[-1] in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
                self._add(arg.value, 0, (), node.lineno)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._optional:
            dotted = _dotted(node)
            for what, applies, _ in FEATURES:
                if applies(node.attr, dotted):
                    self.features.setdefault(what, node.lineno)
        self.generic_visit(node)


@cache
def _scan(path: Path) -> _Visitor:
    visitor = _Visitor()
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor


@cache
def _local_file(module: str, roots: tuple[Path, ...]) -> tuple[bool, Path | None]:
    """(is ``module`` local to the roots?, the file importing it runs: module.py or package/__init__.py)."""
    parts = module.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        if base.with_suffix(".py").is_file():
            return True, base.with_suffix(".py")
        if base.is_dir():
            init = base / "__init__.py"
            return True, init if init.is_file() else None
    return False, None


def _providers(module: str) -> frozenset[str]:
    return frozenset(MODULE_PROVIDERS.get(module, {canonicalize_name(module)}))


def required_packages(entry: Path, roots: Sequence[Path]) -> list[Need]:
    """Third-party needs of running ``entry``, following local modules (found under ``roots``) transitively."""
    entry, roots = entry.resolve(), tuple(roots)
    queue = deque([(entry, entry.stem, False, (_rel(entry),))])
    seen = {entry}
    needs: list[Need] = []
    stdlib = set(sys.stdlib_module_names)

    def follow(name: str, chain: tuple[str, ...]) -> bool:
        local, path = _local_file(name, roots)
        if local and path is not None and path.resolve() not in seen:
            seen.add(path.resolve())
            queue.append((path.resolve(), name, path.name == "__init__.py", chain))
        return local

    while queue:
        path, modname, is_package, chain = queue.popleft()
        scan = _scan(path)
        for imp in scan.imports:
            if imp.level:
                package = modname if is_package else modname.rpartition(".")[0]
                base = package.split(".")[: len(package.split(".")) - (imp.level - 1)] if package else []
                if not base:  # relative import outside a package: would fail at runtime anyway
                    continue
                full = ".".join([*base, imp.module] if imp.module else base)
            else:
                full = imp.module
            parts = full.split(".")
            top = parts[0]
            if top in stdlib or top in RUNNER_PROVIDED:
                continue
            if _local_file(top, roots)[0]:
                for i in range(1, len(parts) + 1):  # packages' __init__ run first
                    follow(".".join(parts[:i]), (*chain, ".".join(parts[:i])))
                for name in imp.names:  # ``from package import submodule``
                    if name != "*":
                        follow(f"{full}.{name}", (*chain, f"{full}.{name}"))
                continue
            needs.append(Need(top, _providers(top), path, imp.line, chain))
        for what, line in scan.features.items():
            providers = next(p for w, _, p in FEATURES if w == what)
            needs.append(Need(what, providers, path, line, chain))
    return needs


def shell_entries(shell: str, root: Path, roots: Sequence[Path]) -> list[Path]:
    """Python files a ``shell:`` command runs: ``python path/to/x.py`` and ``python -m module``."""
    roots = tuple(roots)
    words = [w.strip("'\"") for w in shell.replace("{workflow.basedir}", str(root)).split()]
    entries = []
    for i, word in enumerate(words):
        if word.endswith(".py") and (root / word).is_file():
            entries.append(root / word)
        elif word == "-m" and i + 1 < len(words):
            local, path = _local_file(words[i + 1], roots)
            if local and path is not None:
                entries.append(path)
    return entries


# ---------------------------------------------------------------------------------------------- envs


@dataclass
class Env:
    path: Path
    data: dict
    conda: dict[str, str] = field(default_factory=dict)  # name -> constraint ('' when none)
    pip: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def provides(self, names: Iterable[str]) -> bool:
        return any(canonicalize_name(n) in self.conda or canonicalize_name(n) in self.pip for n in names)

    def pins(self) -> dict[str, str]:
        return {**self.conda, **self.pip}


CONDA_DEP = re.compile(r"^(?:(?P<channel>[\w.\-]+)::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(?P<spec>.*?)\s*$")


@cache
def load_env(path: Path) -> Env:
    name = _rel(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        return Env(path, {}, problems=[f"{name}: cannot be read as YAML: {err}"])
    if not isinstance(data, dict):
        return Env(path, {}, problems=[f"{name}: not a YAML mapping"])
    env = Env(path, data)
    for dep in data.get("dependencies") or []:
        if isinstance(dep, str):
            m = CONDA_DEP.match(dep)
            if not m:
                env.problems.append(f"{name}: cannot parse dependency {dep!r}")
                continue
            if m["channel"]:
                env.problems.append(f"{name}: {dep!r} names a channel; only conda-forge is allowed")
            env.conda[canonicalize_name(m["name"])] = m["spec"]
        elif isinstance(dep, dict) and set(dep) == {"pip"} and isinstance(dep["pip"], list):
            for req in dep["pip"]:
                try:
                    parsed = Requirement(str(req))
                except InvalidRequirement:
                    env.problems.append(f"{name}: cannot parse pip requirement {req!r}")
                    continue
                env.pip[canonicalize_name(parsed.name)] = str(parsed.specifier)
        else:
            env.problems.append(f"{name}: unexpected dependency entry {dep!r}")
    return env


def _pyproject_pins(pyproject: dict) -> dict[str, str]:
    """Env package name -> pyproject's constraint (core dependencies win over extras)."""
    project = pyproject.get("project", {})
    reqs = [*project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    pins: dict[str, str] = {}
    for req in map(Requirement, reqs):
        name = canonicalize_name(req.name)
        for alias in PYPI_ALIASES.get(name, {name}):
            pins.setdefault(canonicalize_name(alias), str(req.specifier))
    return pins


def _same_range(env_spec: str, pyproject_spec: str) -> bool:
    try:
        return SpecifierSet(env_spec.replace(" ", "")) == SpecifierSet(pyproject_spec)
    except InvalidSpecifier:
        return False


def _python_version(spec: str) -> Version | None:
    m = re.search(r"\d+(?:\.\d+)*", spec)
    try:
        return Version(m.group()) if m else None
    except InvalidVersion:
        return None


def env_file_problems(path: Path, pyproject: dict) -> list[str]:
    env = load_env(path)
    name = _rel(path)
    problems = list(env.problems)
    if env.problems and not env.data:
        return problems
    if unknown := set(env.data) - ENV_KEYS:
        problems.append(f"{name}: unknown top-level keys {sorted(unknown)}")
    if env.data.get("channels") not in CHANNELS:
        problems.append(f"{name}: channels are {env.data.get('channels')!r}, expected {CHANNELS[0]!r}")
    if not env.conda:
        problems.append(f"{name}: no conda dependencies")
    for dep, spec in [*env.conda.items(), *env.pip.items()]:
        if not spec:
            problems.append(f"{name}: {dep} has no version constraint")
    if env.pip and "pip" not in env.conda:
        problems.append(f"{name}: has a pip section but does not list pip itself")
    if both := sorted(set(env.conda) & set(env.pip)):
        problems.append(f"{name}: {both} listed both as conda and as pip packages")
    conda_cv2, pip_cv2 = set(env.conda) & {"py-opencv", "opencv"}, set(env.pip) & OPENCV_WHEELS
    if conda_cv2 and pip_cv2:
        problems.append(f"{name}: {sorted(conda_cv2)} and {sorted(pip_cv2)} would both install the cv2 package")
    python = env.conda.get("python")
    requires_python = pyproject.get("project", {}).get("requires-python")
    if python is None:
        problems.append(f"{name}: python is not listed")
    elif python and requires_python:
        version = _python_version(python)
        if version is None or version not in SpecifierSet(requires_python):
            problems.append(f"{name}: python {python} does not satisfy pyproject's requires-python {requires_python}")
    pinned = _pyproject_pins(pyproject)
    for dep, spec in env.pins().items():
        if dep in pinned and spec and not _same_range(spec, pinned[dep]):
            problems.append(f"{name}: {dep} is pinned {spec!r} but pyproject.toml says {pinned[dep]!r}")
    return problems


def inconsistent_pins(paths: Iterable[Path]) -> list[str]:
    """A package (python included) pinned differently in different envs."""
    seen: dict[str, dict[str, list[str]]] = {}
    for path in paths:
        for dep, spec in load_env(path).pins().items():
            seen.setdefault(dep, {}).setdefault(spec.replace(" ", ""), []).append(path.name)
    return [
        f"{dep} is pinned differently: " + "; ".join(f"{spec!r} in {', '.join(files)}" for spec, files in specs.items())
        for dep, specs in sorted(seen.items())
        if len(specs) > 1
    ]


# ---------------------------------------------------------------------------------------- rule check


def rule_problems(rule: Rule, envs_dir: Path, root: Path = ROOT, src: Path = SRC) -> list[str]:
    """Why ``rule``'s env cannot run its code (empty when it can, or when the rule runs no code)."""
    d = rule.directives
    runs = [k for k in RUNS_CODE if k in d]
    if not runs or "wrapper" in d:
        return []
    head = f"rule {rule.name!r} ({rule.where})"
    if "conda" not in d:
        return [f"{head} runs code ({', '.join(runs)}:) but has no conda: directive"]
    conda = d["conda"].literal
    if not conda:
        return [f"{head}: conda: {d['conda'].text} is not a plain string literal naming an envs/*.yaml file"]
    env_path = (rule.file.parent / conda).resolve()
    if env_path.parent != envs_dir.resolve() or env_path.suffix not in (".yaml", ".yml") or not env_path.is_file():
        return [f"{head}: conda: {conda!r} -> {_rel(env_path)} is not an existing file in {_rel(envs_dir)}/"]
    env = load_env(env_path)
    if env.problems:
        return [f"{head}: its env {_rel(env_path)} is broken: {'; '.join(env.problems)}"]
    entries: list[Path] = []
    problems: list[str] = []
    if "script" in d:
        script = d["script"].literal
        if script is None:
            problems.append(f"{head}: script: {d['script'].text} is not a plain string literal")
        elif not (rule.file.parent / script).is_file():
            problems.append(f"{head}: script {script!r} not found next to {_rel(rule.file)}")
        elif script.endswith(".py"):
            entries.append((rule.file.parent / script).resolve())
    if "shell" in d:
        entries += shell_entries(d["shell"].literal or d["shell"].text, root, [root, src])
    for entry in entries:
        reported = set()
        for need in required_packages(entry, [entry.parent, src]):
            if need.what in reported or env.provides(need.providers):
                continue
            reported.add(need.what)
            via = " -> ".join(need.chain)
            problems.append(
                f"{head} runs {_rel(entry)}, which needs {need.what!r} ({_rel(need.file)}:{need.line}, via {via}), "
                f"but its env {_rel(env_path)} provides none of {sorted(need.providers)}"
            )
    return problems


# ------------------------------------------------------------------------------------------ the whole


def unused_envs(rules: Sequence[Rule], env_files: Iterable[Path]) -> list[str]:
    """Env files no rule's ``conda:`` names."""
    used = {
        (r.file.parent / r.directives["conda"].literal).resolve()
        for r in rules
        if "conda" in r.directives and r.directives["conda"].literal
    }
    unused = [p.name for p in env_files if p.resolve() not in used]
    return [f"envs no rule uses: {unused}"] if unused else []


def all_problems(root: Path = ROOT) -> list[str]:
    """Every problem of the repository at ``root``: rules whose env cannot run their code, env files
    badly pinned or inconsistent with pyproject.toml or each other, envs no rule uses."""
    root = root.resolve()
    envs_dir = root / "envs"
    env_files = sorted(envs_dir.glob("*.y*ml"))
    if not env_files:
        return [f"no env files in {envs_dir}"]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    rules = discover_rules(root)
    problems = [p for rule in rules for p in rule_problems(rule, envs_dir, root, root / "src")]
    problems += [p for path in env_files for p in env_file_problems(path, pyproject)]
    problems += inconsistent_pins(env_files)
    problems += unused_envs(rules, env_files)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) > 1:
        print("usage: python tools/check_envs.py [REPOSITORY]", file=sys.stderr)
        return 2
    root = Path(args[0]) if args else ROOT
    problems = all_problems(root)
    for problem in problems:
        print(problem)
    n_rules = len(discover_rules(root.resolve()))
    print(
        f"{len(problems)} problem(s); {n_rules} rules and {len(list((root / 'envs').glob('*.y*ml')))} envs checked",
        file=sys.stderr,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

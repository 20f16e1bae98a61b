"""Per-rule conda environments (envs/*.yaml): the repository passes ``tools/check_envs.py`` (what it checks is
in its docstring), and the checker catches what it must (missing packages, bad env files), on synthetic
repositories and on copies of the real envs with a package removed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from check_envs import (  # noqa: E402
    CONDA_DEP,
    RUNS_CODE,
    SRC,
    Directive,
    Rule,
    all_problems,
    discover_rules,
    env_file_problems,
    inconsistent_pins,
    load_env,
    required_packages,
    rule_problems,
    tomllib,
    unused_envs,
)

ENVS = REPO / "envs"
TOOL = REPO / "tools" / "check_envs.py"


RULES = discover_rules(REPO)
ENV_FILES = sorted(ENVS.glob("*.y*ml"))


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_rules_are_discovered():
    header = re.compile(r"^\s*(?:rule|checkpoint)\s+\w+\s*:\s*(?:#.*)?$", re.MULTILINE)
    files = {r.file for r in RULES}
    expected = sum(len(header.findall(f.read_text(encoding="utf-8"))) for f in files)
    assert sum(r.parent is None and not r.name.startswith("<") for r in RULES) == expected
    assert any(set(RUNS_CODE) & set(r.directives) for r in RULES), "no rule that runs code was found"
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)), (
        f"rule names defined twice: {sorted({n for n in names if names.count(n) > 1})}"
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_env_provides_what_its_code_imports(rule: Rule):
    problems = rule_problems(rule, ENVS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ENV_FILES, ids=[p.name for p in ENV_FILES])
def test_env_file_is_pinned_consistently_with_pyproject(path: Path, pyproject: dict):
    problems = env_file_problems(path, pyproject)
    assert not problems, "\n".join(problems)


def test_envs_pin_each_package_alike():
    assert ENV_FILES, "no envs/*.yaml"
    problems = inconsistent_pins(ENV_FILES)
    assert not problems, "\n".join(problems)


def test_every_env_is_used_by_a_rule():
    problems = unused_envs(RULES, ENV_FILES)
    assert not problems, problems


def test_the_tool_passes_on_the_repository():
    assert all_problems(REPO) == []
    result = subprocess.run([sys.executable, str(TOOL)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    assert "0 problem(s)" in result.stderr


# ---------------------------------------------------------------- the checker itself, on synthetic input


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mini_repo(tmp_path: Path) -> Path:
    """A small workflow: a nested rule whose script reaches scipy only through a lazy, relative import."""
    _write(
        tmp_path / "Snakefile",
        'configfile: "config.yaml"\n\n\ninclude: "workflow/rules/a.smk"\n\n\nrule all:\n    input:\n        "x.txt",\n',
    )
    _write(
        tmp_path / "workflow/rules/a.smk",
        "if config.get('on', True):\n\n"
        "    rule compute:\n"
        '        """A docstring.\n        output: not a directive\n        """\n'
        "        output:\n            'x.txt',\n"
        "        conda:\n            '../../envs/e.yaml'\n"
        "        script:\n            '../scripts/s.py'\n\n\n"
        "rule bare:\n    output:\n        'y.txt',\n    shell:\n        'python workflow/scripts/s.py > {output}'\n\n\n"
        "rule runner:\n    output:\n        'z.txt',\n    run:\n        import sklearn\n\n\n"
        "use rule compute as compute_again with:\n    output:\n        'w.txt',\n",
    )
    _write(
        tmp_path / "envs/e.yaml",
        "channels:\n  - conda-forge\n  - nodefaults\ndependencies:\n  - python =3.11\n"
        "  - numpy >=1.26\n  - py-opencv >=4.8,<5\n",
    )
    _write(tmp_path / "workflow/scripts/s.py", "import _helper  # noqa\nfrom pkg import sub\n")
    _write(tmp_path / "workflow/scripts/_helper.py", "import sys\nimport numpy as np\nimport snakemake.io\n")
    _write(tmp_path / "src/pkg/__init__.py", "")
    _write(
        tmp_path / "src/pkg/sub.py",
        "from typing import TYPE_CHECKING\nfrom .deep import f\n"
        "if TYPE_CHECKING:\n    import pandas\n"
        "try:\n    import optional_thing\nexcept (ModuleNotFoundError, OSError):\n    optional_thing = None\n",
    )
    _write(
        tmp_path / "src/pkg/deep.py",
        "import cv2\n\n\ndef f(path):\n    import scipy.stats\n\n    return cv2.data.haarcascades + path\n",
    )
    return tmp_path


def test_checker_reports_a_missing_package_with_rule_script_module_and_env(mini_repo: Path):
    rules = {r.name: r for r in discover_rules(mini_repo)}
    assert set(rules) == {"all", "compute", "bare", "runner", "compute_again"}
    assert rules["compute_again"].directives["script"] == rules["compute"].directives["script"]  # use rule
    assert rules["compute"].directives["conda"].literal == "../../envs/e.yaml"
    assert "output" in rules["compute"].directives and len(rules["compute"].directives) == 3
    envs = mini_repo / "envs"

    problems = rule_problems(rules["compute"], envs, mini_repo, mini_repo / "src")
    text = "\n".join(problems)
    assert len(problems) == 2, text
    assert "'compute'" in text and "workflow/scripts/s.py" in text and "envs/e.yaml" in text
    assert "'scipy'" in text and "deep.py:5" in text and "s.py -> pkg.sub -> pkg.deep" in text
    assert "cv2.data" in text  # py-opencv does not ship cv2.data
    for absent in ("numpy", "pandas", "optional_thing", "snakemake", "sklearn"):
        assert absent not in text

    assert rule_problems(rules["all"], envs, mini_repo) == []  # runs no code
    assert rule_problems(rules["runner"], envs, mini_repo) == []  # run: executes in Snakemake's process
    assert "has no conda: directive" in rule_problems(rules["bare"], envs, mini_repo)[0]
    conda = Directive("", ("../../envs/e.yaml",))
    with_conda = replace(rules["bare"], directives={**rules["bare"].directives, "conda": conda})
    shell_problems = rule_problems(with_conda, envs, mini_repo, mini_repo / "src")
    assert any("'scipy'" in p for p in shell_problems), shell_problems  # found through the shell command

    _write(
        envs / "e.yaml",
        "channels: [conda-forge]\ndependencies:\n  - python =3.11\n  - numpy >=1.26\n  - scipy >=1.11\n"
        "  - pip >=24\n  - pip:\n      - opencv-python-headless >=4.8,<5\n",
    )
    load_env.cache_clear()
    assert rule_problems(rules["compute"], envs, mini_repo, mini_repo / "src") == []


def _without(env_path: Path, packages: Iterable[str]) -> str:
    """The env file's YAML with ``packages`` removed (conda and pip sections)."""
    drop = {canonicalize_name(p) for p in packages}
    data = yaml.safe_load(env_path.read_text(encoding="utf-8"))
    deps = []
    for dep in data["dependencies"]:
        if isinstance(dep, dict):
            deps.append({"pip": [r for r in dep["pip"] if canonicalize_name(Requirement(r).name) not in drop]})
        elif canonicalize_name(CONDA_DEP.match(dep)["name"]) not in drop:
            deps.append(dep)
    return yaml.safe_dump({**data, "dependencies": deps}, sort_keys=False)


def test_checker_catches_a_package_removed_from_a_copy_of_a_real_env(tmp_path: Path):
    checked = 0
    for rule in RULES:
        if "conda" not in rule.directives or rule_problems(rule, ENVS):
            continue
        env_path = (rule.file.parent / rule.directives["conda"].literal).resolve()
        script = rule.directives.get("script")
        if script is None or not script.literal or not script.literal.endswith(".py"):
            continue
        entry = rule.file.parent / script.literal
        needs = [n for n in required_packages(entry, [entry.parent, SRC]) if n.what.isidentifier()]
        if not needs:
            continue
        need = needs[-1]
        copy = _write(tmp_path / rule.name / "envs" / env_path.name, _without(env_path, need.providers))
        problems = rule_problems(
            replace(rule, directives={**rule.directives, "conda": Directive("", (str(copy),))}), copy.parent
        )
        assert any(f"needs {need.what!r}" in p and rule.name in p and str(copy.resolve()) in p for p in problems), (
            problems
        )
        checked += 1
    assert checked, "no rule with a Python script and a third-party import was found"


def test_env_checker_reports_bad_env_files(tmp_path: Path):
    pyproject = {"project": {"requires-python": ">=3.10", "dependencies": ["numpy>=1.26", "opencv-python>=4.8,<5"]}}
    good = _write(
        tmp_path / "good.yaml",
        "channels: [conda-forge, nodefaults]\ndependencies:\n  - python =3.11\n"
        "  - numpy >=1.26\n  - pip >=24\n  - pip:\n      - opencv-python-headless >=4.8,<5\n",
    )
    assert env_file_problems(good, pyproject) == []
    bad = _write(
        tmp_path / "bad.yaml",
        "channels: [defaults]\ndependencies:\n  - python =3.9\n  - numpy >=1.20\n"
        "  - scipy\n  - bioconda::samtools >=1\n  - py-opencv >=4.8,<5\n  - pip:\n      - opencv-python >=4.8\n",
    )
    text = "\n".join(env_file_problems(bad, pyproject))
    for expected in (
        "channels",
        "requires-python",
        "numpy is pinned '>=1.20'",
        "scipy has no version constraint",
        "names a channel",
        "does not list pip",
        "opencv-python is pinned '>=4.8'",
        "would both install the cv2 package",
    ):
        assert expected in text, text
    broken = _write(tmp_path / "broken.yaml", "dependencies: [\n")
    assert "cannot be read as YAML" in env_file_problems(broken, pyproject)[0]
    assert inconsistent_pins([good, bad]) and "numpy is pinned differently" in inconsistent_pins([good, bad])[0]


def test_the_tool_prints_every_problem_and_exits_1(mini_repo: Path):
    """Run as a program on a repository with a rule whose env lacks scipy, a rule without conda:, and an
    unused env: every problem on its own line, exit status 1."""
    (mini_repo / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10"\n')
    _write(mini_repo / "envs/unused.yaml", "channels: [conda-forge, nodefaults]\ndependencies:\n  - python =3.11\n")
    result = subprocess.run([sys.executable, str(TOOL), str(mini_repo)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any("'scipy'" in line and "'compute'" in line for line in lines), lines
    assert any("'bare'" in line and "has no conda: directive" in line for line in lines), lines
    assert any("envs no rule uses: ['unused.yaml']" in line for line in lines), lines
    assert len(lines) == len(all_problems(mini_repo)), lines

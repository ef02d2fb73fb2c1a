"""Every example plugin is built only on ``coovox.api`` (issue 13, point 7)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in a Python file (relative ones skipped)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "coovox":  # from coovox import x  ->  coovox.x
                out += [(node.lineno, f"coovox.{a.name}") for a in node.names]
            else:
                out += [(node.lineno, node.module)]
    return out


def core_imports(path: Path) -> list[str]:
    return [f"{path.name}:{line}: {module}" for line, module in imported_modules(path)
            if (module == "coovox" or module.startswith("coovox.")) and module != "coovox.api"]


EXAMPLE_DIRS = sorted(p for p in EXAMPLES.iterdir() if (p / "pyproject.toml").exists())


def test_there_are_three_examples():
    assert {p.name for p in EXAMPLE_DIRS} >= {"coovox-push-events", "coovox-prometheus",
                                              "coovox-low-balance"}


@pytest.mark.parametrize("example", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_example_imports_only_coovox_api(example):
    offenders = [hit for path in sorted(example.rglob("*.py")) for hit in core_imports(path)]
    assert not offenders, f"{example.name} imports internals of coovox: {offenders}"


def test_the_check_catches_an_internal_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from coovox.hooktypes import Route\nimport coovox.models\n"
                   "from coovox import context\nfrom coovox.api import hookimpl\n")
    assert core_imports(bad) == ["bad.py:1: coovox.hooktypes", "bad.py:2: coovox.models",
                                 "bad.py:3: coovox.context"]

"""Tests tidy (issue 13 point 8): shared fixtures and helpers live in ``tests/support``
(fixtures registered with ``pytest_plugins`` in ``tests/conftest.py``); no test module
imports another test module or a conftest, and none imports a fixture (pytest finds it)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _forbidden(target: str) -> bool:
    last = target.rsplit(".", 1)[-1]
    return target.startswith("tests.") and (last == "conftest" or last.startswith("test_"))


def _module_name(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix().replace("/", ".")


def _absolute(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved against ``importer``."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _fixtures(root: Path, module: str) -> set[str]:
    """Names of the functions decorated with ``pytest.fixture`` in ``module`` (under root)."""
    path = root / (module.replace(".", "/") + ".py")
    if not path.is_file():
        return set()
    out = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if ast.unparse(target) in ("pytest.fixture", "fixture"):
                    out.add(node.name)
    return out


def bad_imports(tests: Path) -> set[tuple[str, str]]:
    """(importer, imported) for every import under ``tests`` of a test module, a conftest,
    or a fixture (``module.name``) of a helper module."""
    root = tests.parent
    out: set[tuple[str, str]] = set()
    for path in sorted(tests.rglob("*.py")):
        importer = _module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(importer, node, path.name == "__init__.py")
                names = [module] + [f"{module}.{a.name}" for a in node.names]
                fixtures = _fixtures(root, module) if module.startswith("tests.") else set()
                out |= {(importer, f"{module}.{a.name}") for a in node.names
                        if a.name in fixtures}
            out |= {(importer, n) for n in names if _forbidden(n)}
    return out


def test_no_test_module_imports_another_test_module_a_conftest_or_a_fixture():
    found = sorted(bad_imports(TESTS))
    assert not found, (
        "put the helper in tests/support (fixtures: register the module in "
        "tests/conftest.py's pytest_plugins) and import it from there:\n"
        + "\n".join(f"{a} imports {b}" for a, b in found))


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "tests" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "tests"


def test_the_checker_finds_each_kind_of_bad_import(tmp_path):
    tests = _tree(tmp_path, {
        "__init__.py": "",
        "support/__init__.py": "",
        "support/things.py": "import pytest\n\n@pytest.fixture\ndef thing():\n    return 1\n\n"
                             "def helper():\n    return 2\n",
        "a/__init__.py": "",
        "a/conftest.py": "X = 1\n",
        "a/test_one.py": "from tests.a.conftest import X\n",
        "a/test_two.py": "from .test_one import X\nfrom . import conftest\n",
        "b/test_three.py": "import tests.a.test_one\nfrom tests.support.things import thing\n",
        "b/test_four.py": "from tests.support.things import helper\nimport tests.support\n",
    })
    assert bad_imports(tests) == {
        ("tests.a.test_one", "tests.a.conftest"),
        ("tests.a.test_two", "tests.a.test_one"),
        ("tests.a.test_two", "tests.a.conftest"),
        ("tests.b.test_three", "tests.a.test_one"),
        ("tests.b.test_three", "tests.support.things.thing"),
    }

"""No private attribute of Tortoise or any other library is used (issue 13 point 2): an
``ast`` scan of ``coovox/`` and ``examples/`` fails on ``x._name`` (and ``getattr(x,
"_name")``) where ``x`` is not ``self``/``cls``/``super()`` nor a name imported from coovox
(or an example's own package)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = ("coovox", "coovox_")  # the product's modules and the examples' packages
# names starting with "_" that are public API, wherever they are used
# collections.namedtuple's API; os._exit, the documented exit of a forked child
PUBLIC = {"_asdict", "_replace", "_fields", "_make", "_exit"}
# (file, attribute): truly unavoidable, with the reason (none today)
ALLOWED: set[tuple[str, str]] = set()


def _sources() -> list[Path]:
    files = [*ROOT.glob("coovox/**/*.py"), *ROOT.glob("examples/*/*/**/*.py")]
    return sorted(p for p in files if "tests" not in p.relative_to(ROOT).parts)


def _own_names(tree: ast.AST) -> set[str]:
    """Names bound by imports of the product's own modules (a relative import is own)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(OWN):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").startswith(OWN):
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__") and name not in PUBLIC


def _trusted(base: ast.expr, own: set[str]) -> bool:
    if isinstance(base, ast.Name):
        return base.id in ("self", "cls") or base.id in own
    return isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and \
        base.func.id == "super"


def private_uses(path: Path, rel: str | None = None) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = rel or path.relative_to(ROOT).as_posix()
    own, found = _own_names(tree), []
    for node in ast.walk(tree):
        name, base = None, None
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            name, base = node.attr, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "setattr", "hasattr", "delattr") and \
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and \
                isinstance(node.args[1].value, str) and _is_private(node.args[1].value):
            name, base = node.args[1].value, node.args[0]
        if name is None or _trusted(base, own) or (rel, name) in ALLOWED:
            continue
        found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    return sorted(found)


def test_no_private_attribute_of_another_library_is_used():
    found = [use for path in _sources() for use in private_uses(path)]
    assert found == []


def test_the_scan_finds_what_it_must(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from tortoise import connections\nfrom coovox.storage import db\n"
                      "import argparse\n\n"
                      "def f(q, site):\n    q._make_query()\n    getattr(q, '_db')\n"
                      "    argparse._SubParsersAction\n    db._sqlite_path\n"
                      "    site.addresses\n    q._asdict()\n", encoding="utf-8")
    found = sorted(u.split(": ", 1)[1] for u in private_uses(sample, "coovox/sample.py"))
    assert found == ["argparse._SubParsersAction", "getattr(q, '_db')", "q._make_query"]


def test_every_allowed_use_still_exists():
    """The allow-list shrinks when a use goes: each entry is still needed."""
    for rel, name in ALLOWED:
        assert f"{name}" in (ROOT / rel).read_text(encoding="utf-8"), (rel, name)

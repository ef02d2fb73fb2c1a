"""The plugin layout holds (issue 13 points 1 and 2): pure rules import nothing that does
I/O, ``services.py`` holds no HTTP or ARI types, and each plugin writes only its own
tables (raw SQL and the ORM), read from the source with ``ast``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.import_graph import ROOT, import_graph

PLUGINS = ROOT / "coovox" / "plugins"
PURE = ["coovox.plugins.outbound.routing", "coovox.plugins.outbound.patterns",
        "coovox.plugins.outbound.rules", "coovox.plugins.calls.gates",
        "coovox.plugins.calls.records", "coovox.plugins.billing.rating",
        "coovox.plugins.billing.fraud_rules"]
# databases, network, processes, the event loop (``tortoise.fields``: a column type only)
IO = ("tortoise", "aiohttp", "aiosqlite", "asyncpg", "sqlite3", "aioari", "socket",
      "subprocess", "asyncio", "coovox.storage.work", "coovox.ari", "coovox.web")
ALLOWED = ("tortoise.fields",)
WRITES = {"create", "bulk_create", "update", "delete", "save", "get_or_create",
          "update_or_create", "bulk_update", "select_for_update"}
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?([a-z_]+)", re.I)


def _path(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported_names(tree: ast.Module) -> set[str]:
    """Absolute names this module imports anywhere (``from a.b import c``: ``a.b.c``)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def io_imports(module: str) -> list[str]:
    """The I/O imports of ``module`` and of every coovox module it imports."""
    graph, seen, todo = import_graph(), set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += graph.get(name, ())
    found = []
    for name in sorted(seen):
        for target in imported_names(_tree(_path(name))):
            if any(target == io or target.startswith(io + ".") for io in IO) and not any(
                    target == ok or target.startswith(ok + ".") for ok in ALLOWED):
                found.append(f"{name}: {target}")
    return found


def test_pure_rules_import_nothing_that_does_io():
    assert {m: io_imports(m) for m in PURE} == {m: [] for m in PURE}


def test_an_io_import_is_found():
    assert "coovox.plugins.calls.services: coovox.storage.work.store" in io_imports(
        "coovox.plugins.calls.services")


def test_services_hold_no_http_or_ari_types():
    found = {}
    for path in sorted(PLUGINS.glob("*/services.py")):
        bad = [n for n in imported_names(_tree(path))
               if n.split(".")[0] in ("aiohttp", "aioari") or n.startswith("coovox.ari")
               or n.startswith("coovox.web.") and not n.startswith(
                   ("coovox.web.formats.", "coovox.web.i18n."))]
        if bad:
            found[path.parent.name] = bad
    assert found == {}


def table_owners() -> dict[str, str]:
    """Table -> the plugin whose ``models.py`` declares it."""
    owners = {}
    for path in PLUGINS.glob("*/models.py"):
        for table in re.findall(r'table = "([a-z_]+)"', path.read_text(encoding="utf-8")):
            owners[table] = path.parent.name
    return owners


def foreign_writes(plugin: Path, owners: dict[str, str]) -> list[str]:
    """Writes of ``plugin``'s modules to tables of other plugins."""
    found = []
    for path in sorted(plugin.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = _tree(path)
        where = path.relative_to(plugin.parent)
        for node in ast.walk(tree):  # raw SQL
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for table in SQL_WRITE.findall(node.value):
                    owner = owners.get(table.lower())
                    if owner is not None and owner != plugin.name:
                        found.append(f"{where}:{node.lineno}: SQL writes {table}")
        foreign = set()  # models of other plugins imported here
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "coovox.plugins.") and node.module.endswith(".models"):
                if node.module.split(".")[2] != plugin.name:
                    foreign |= {a.asname or a.name for a in node.names}
        for node in ast.walk(tree):  # ORM: Model.create(...), Model.filter(...).update(...)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in WRITES:
                root = node.func.value
                while isinstance(root, ast.Call | ast.Attribute):
                    root = root.func if isinstance(root, ast.Call) else root.value
                if isinstance(root, ast.Name) and root.id in foreign:
                    found.append(f"{where}:{node.lineno}: {root.id}.…{node.func.attr}()")
    return found


def test_each_plugin_writes_only_its_own_tables():
    owners = table_owners()
    assert {"billing_ledger", "calls_call", "calls_extension"} <= set(owners)
    found = {p.name: foreign_writes(p, owners) for p in sorted(PLUGINS.iterdir())
             if p.is_dir() and (p / "plugin.py").exists()}
    assert found == {name: [] for name in found}


def test_a_foreign_write_is_found(tmp_path):
    plugin = tmp_path / "billing"
    plugin.mkdir()
    (plugin / "bad.py").write_text(
        "from coovox.plugins.calls.models import Call\n"
        "async def f():\n"
        "    await Call.filter(id='x').update(trunk='y')\n"
        "SQL = 'UPDATE calls_call SET trunk = ?'\n")
    found = foreign_writes(plugin, {"calls_call": "calls"})
    assert [f.split(": ", 1)[1] for f in found] == ["SQL writes calls_call",
                                                   "Call.…update()"]

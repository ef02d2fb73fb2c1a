"""No import cycle among coovox's modules (issue 13 point 1).

The graph is built from the source with ``ast``: the imports at module level; imports inside
functions are left out (they run late, by design).  Imports under ``if TYPE_CHECKING:`` run
for the type checker only; they count too among the plugins (a cycle hidden from the
interpreter is still one for the reader: ``flow`` and ``stasis`` had one).  The core keeps
one such type-only cycle (``context`` -> ``plugin_host`` -> ``hookspecs`` -> ``context``,
``events`` -> ``context``): the hook specifications name the application's type."""

from __future__ import annotations

from tests.support.import_graph import import_graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_the_packages():
    graph = import_graph()
    assert "coovox.plugins.calls.stasis" in graph
    assert "coovox.plugins.calls.flow" in graph["coovox.plugins.calls.stasis"]
    assert "coovox.plugins.calls.ports" in graph["coovox.plugins.calls.flow"]
    typed = import_graph(typing_too=True)
    assert "coovox.context" in typed["coovox.hookspecs"] - graph["coovox.hookspecs"]


def _shown(cycles: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_import_cycle_among_coovox_modules():
    cycles = find_cycles(import_graph())
    assert not cycles, _shown(cycles)


def test_no_cycle_among_the_plugins_modules_even_for_the_type_checker():
    graph = import_graph(typing_too=True)
    plugins = {m: {t for t in e if t.startswith("coovox.plugins.")}
               for m, e in graph.items() if m.startswith("coovox.plugins.")}
    cycles = find_cycles(plugins)
    assert not cycles, _shown(cycles)


def test_a_cycle_is_found():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

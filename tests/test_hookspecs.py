"""Every hook in coovox/hookspecs.py is documented there and in docs/plugin-hooks.md."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from coovox import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin-hooks.md"


def hook_functions() -> dict[str, object]:
    return {name: fn for name, fn in vars(hookspecs).items()
            if name.startswith("coovox_") and callable(fn)
            and hasattr(fn, "coovox_spec")}


def doc_sections() -> dict[str, str]:
    """``{hook name: section text}`` from the ``## coovox_xxx`` headings of the doc."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## (coovox_\w+)\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


HOOKS = sorted(hook_functions())


def test_there_are_hooks_and_sections():
    assert len(HOOKS) >= 18
    assert doc_sections()


def test_every_documented_hook_exists():
    unknown = sorted(set(doc_sections()) - set(HOOKS))
    assert not unknown, f"docs/plugin-hooks.md documents hooks that do not exist: {unknown}"


def test_every_hook_has_a_section():
    missing = sorted(set(HOOKS) - set(doc_sections()))
    assert not missing, f"hooks without a '## name' section in docs/plugin-hooks.md: {missing}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name):
    doc = inspect.getdoc(hook_functions()[name])
    assert doc and len(doc) > 40, f"{name} in coovox/hookspecs.py needs a docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_section_shows_signature_returns_order_and_example(name):
    section = doc_sections().get(name)
    if section is None:
        pytest.fail(f"{name} has no section in docs/plugin-hooks.md")
    fn = hook_functions()[name]
    params = list(inspect.signature(fn).parameters)
    signature = re.search(r"```python\n(.*?)```", section, re.S)
    assert signature and f"def {name}(" in signature.group(1), f"{name}: signature block"
    for param in params:
        assert re.search(rf"\b{param}\b", signature.group(1)), f"{name}: parameter {param}"
    for word in ("**Receives:**", "**Returns:**", "**Order:**"):
        assert word in section, f"{name}: section lacks {word}"
    assert section.count("```python") >= 2, f"{name}: section lacks an example"
    first = bool(fn.coovox_spec.get("firstresult"))
    assert ("firstresult" in section) is first, f"{name}: firstresult must match the spec"


def doc_parameters(section: str, name: str) -> list[str]:
    """The parameter names of the ``def name(...)`` block of a section."""
    block = re.search(rf"def {name}\((.*?)\)\s*->", section, re.S)
    assert block, f"{name}: no signature"
    return re.findall(r"(\w+)\s*:", block.group(1))


@pytest.mark.parametrize("name", HOOKS)
def test_documented_signature_is_the_code_s(name):
    """The doc's signature names exactly the spec's arguments, in order, each of them
    described under **Receives:** (docs/plugin-hooks.md matches the code)."""
    section = doc_sections()[name]
    params = list(inspect.signature(hook_functions()[name]).parameters)
    assert doc_parameters(section, name) == params
    receives = section.split("**Receives:**", 1)[1].split("**Returns:**", 1)[0]
    for param in params:
        assert f"`{param}`" in receives, f"{name}: **Receives:** does not name `{param}`"
    first = bool(hook_functions()[name].coovox_spec.get("firstresult"))
    assert ("@firstresult" in section) is first


def test_every_hook_receives_the_context_but_those_called_before_it_exists():
    without = {n for n in HOOKS if "coovox" not in inspect.signature(
        hook_functions()[n]).parameters}
    assert without == {"coovox_add_hookspecs", "coovox_cli_commands"}


def test_the_public_api_exports_what_the_doc_lists():
    import coovox.api

    table = DOC.read_text(encoding="utf-8").split("## The public API", 1)[1]
    table = table.split("###", 1)[0]
    names = set(re.findall(r"^\| ([^|]+) \|", table, re.M)) - {"name", "---"}
    listed = {n.strip(" `") for cell in names for n in cell.split(",")}
    assert listed == set(coovox.api.__all__)


def test_core_events_are_the_documented_ones():
    from coovox.events import CORE_EVENTS

    section = DOC.read_text(encoding="utf-8").split("### Events", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| `([\w.]+)` \| (\w+) \| (.+) \|$", section, re.M)
    documented = {name: (source, set(re.findall(r"`(\w+)`", data)))
                  for name, source, data in rows}
    assert documented == {t.name: (t.source, set(t.fields)) for t in CORE_EVENTS}


def test_hooks_are_grouped_in_the_order_of_hookspecs():
    """The doc follows the spec module, so readers find hooks where the code has them."""
    source = inspect.getsource(hookspecs)
    in_code = [n for n in re.findall(r"^def (coovox_\w+)", source, re.M)]
    assert list(doc_sections()) == in_code


def test_the_all_hooks_test_plugin_implements_every_hook():
    from tests.support import all_hooks_plugin

    implemented = {name for name, fn in vars(all_hooks_plugin).items()
                   if getattr(fn, "coovox_impl", None) is not None}
    assert set(HOOKS) <= implemented, sorted(set(HOOKS) - implemented)

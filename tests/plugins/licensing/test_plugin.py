"""Wiring: Python messages are translated, the hooks answer through the host."""

from __future__ import annotations

from pathlib import Path

from coovox.plugins.licensing import plugin
from coovox.web import i18n
from tests.web.i18n_scan import msgids

HERE = Path(plugin.__file__).parent


def test_python_messages_have_chinese_translations():
    catalog = i18n.load_catalogs([HERE / "locale"])["zh_CN"]
    ids = set()
    for path in HERE.glob("*.py"):
        ids |= msgids(path.read_text(encoding="utf-8"))
    assert ids and not sorted(ids - set(catalog))


async def test_hooks_answer_for_the_started_coovox_only(coovox):
    state = await coovox.plugins.afirst("coovox_feature_licence", feature="billing")
    assert state["state"] == "not_activated" and state["usable"] is True
    await coovox.close()
    assert plugin.coovox_feature_licence(coovox=coovox, feature="billing") is None
    assert plugin.coovox_feature_activate(coovox=coovox, feature="billing", active=True)
    assert await coovox.plugins.afirst("coovox_feature_licence", feature="billing") is None

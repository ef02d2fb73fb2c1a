"""docs/tutorial-first-plugin.md: its code blocks are the plugin; they run here."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from coovox.context import Coovox
from coovox.plugin_host import PluginHost

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial-first-plugin.md"


def blocks(title: str) -> str:
    """The code blocks of the tutorial titled ``title``, joined in order."""
    text = TUTORIAL.read_text(encoding="utf-8")
    found = re.findall(rf'```python title="{re.escape(title)}"\n(.*?)```', text, re.S)
    assert found, f"no block titled {title}"
    return "\n\n".join(found)


@pytest.fixture
def tutorial_modules(tmp_path, monkeypatch):
    (tmp_path / "daily_cap.py").write_text(blocks("daily_cap.py"), encoding="utf-8")
    (tmp_path / "check_daily_cap.py").write_text(blocks("check_daily_cap.py"),
                                                 encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("daily_cap"), importlib.import_module("check_daily_cap")
    sys.modules.pop("daily_cap", None)
    sys.modules.pop("check_daily_cap", None)


def test_the_plugin_imports_only_coovox_api():
    imports = re.findall(r"^from (coovox[\w.]*) import|^import (coovox[\w.]*)",
                         blocks("daily_cap.py"), re.M)
    assert {a or b for a, b in imports} == {"coovox.api"}


async def test_the_tutorial_plugin_works_in_a_real_coovox(tutorial_modules, config,
                                                          aiohttp_client):
    from coovox.models import set_setting
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    plugin, check = tutorial_modules
    plugin.PLUGIN_NAME = "daily-cap"  # the entry point's name, as pip would install it
    host = PluginHost(load_entry_points=False, extra=[plugin])
    app = await Coovox(config=config, plugins=host).open()
    try:
        await set_setting("billing", "active", True)
        await check.check(app, app.now())  # step 4, as written
        await create_user("admin", "Tutorial-pass-1")
        _, token = await create_token("admin")
        client = await aiohttp_client(create_app(app))
        resp = await client.get("/api/v1/daily-cap/100",
                                headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200
        assert await resp.json() == {"extension": "100", "left": "5.0000"}
        app.publish("call.cut", "calls", call_id="c1", extension="100",
                    reason="money cap reached", plugin="billing")
        app.publish("call.charged", "billing", call_id="c1", extension="100", seq=1,
                    amount="0.02", at=0.0, spent="0.02")
        await app.events.stop()  # delivers what is queued
        counts = app.services["daily-cap"]
        assert counts.reached == ["100"] and counts.charges == 1
    finally:
        await app.close()

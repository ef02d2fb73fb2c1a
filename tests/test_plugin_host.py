"""The plugin host: built-in and third-party plugins, discovery, enable/disable, persistence."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from coovox import cli
from coovox.context import Coovox
from coovox.plugin_host import PluginError, PluginHost
from coovox.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP
from tests.support.fake_dist import PROBE_SOURCE, write_dist


@pytest.fixture
def probe(tmp_path, monkeypatch) -> str:
    """A third-party distribution ``coovox-probe`` 1.2.3 installed on sys.path.

    Its entry points: ``probe`` (working) and ``broken`` (fails on import).  Returns the
    probe module's name (unique per test so imports do not leak between tests).
    """
    module = "coovox_probe_" + uuid.uuid4().hex[:8]
    site = write_dist(tmp_path / "site", "coovox-probe", "1.2.3",
                      {"probe": module, "broken": module + "_broken"},
                      {module: PROBE_SOURCE,
                       module + "_broken": "raise ImportError('needs libfoo')\n"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    yield module
    sys.modules.pop(module, None)


def test_builtins_are_listed_in_one_place():
    host = PluginHost(load_entry_points=False)
    infos = host.infos()
    assert [i.name for i in infos] == [b.name for b in DEFAULT_PLUGINS]
    for info, builtin in zip(infos, DEFAULT_PLUGINS, strict=True):
        assert info.builtin is True
        assert info.essential is builtin.essential
        assert info.module.__name__ == builtin.module
    assert not host.plugins["billing"].essential


async def test_third_party_is_found_through_the_entry_point_group(probe, caplog):
    caplog.set_level(logging.ERROR)
    host = PluginHost()
    host.set_enabled("billing", False)  # (its call hooks need a database)
    info = host.plugins["probe"]
    assert (info.builtin, info.essential, info.enabled) == (False, False, True)
    assert info.version == "1.2.3"
    assert info.description == "A probe plugin that records its calls."
    assert info.module.__name__ == probe
    assert ENTRY_POINT_GROUP == "coovox.plugins"
    # its hook is called like a built-in one
    answers = await host.acall_each("coovox_call_fields", call_ids=["c1"])
    assert answers["probe"] == {"c1": {"probe": True}}


def test_builtin_and_third_party_are_registered_the_same_way(probe):
    host = PluginHost()
    registered = {name for name, _ in host.pm.list_name_plugin()}
    assert registered == set(host.plugins)
    for info in host.infos():
        assert host.pm.get_plugin(info.name) is info.module


def test_broken_third_party_entry_point_is_logged_and_skipped(probe, caplog):
    caplog.set_level(logging.ERROR, logger="coovox.plugin_host")
    host = PluginHost()
    assert "broken" not in host.plugins
    assert "probe" in host.plugins and "billing" in host.plugins
    assert any("broken" in r.getMessage() and "needs libfoo" in r.getMessage()
               for r in caplog.records)


async def test_disabled_plugin_hooks_are_not_called_but_its_models_stay(probe):
    host = PluginHost()
    host.set_enabled("billing", False)  # (its call hooks need a database)
    host.set_enabled("probe", False)
    callers = {i.plugin_name for i in host.hook.coovox_call_fields.get_hookimpls()}
    assert "probe" not in callers and "billing" not in callers
    assert "probe" not in await host.acall_each("coovox_call_fields", call_ids=["c1"])
    labels = {spec.app_label for spec in host.call_all_plugins("coovox_models")}
    assert "billing" in labels  # tables of a disabled plugin are never dropped
    host.set_enabled("probe", True)
    answers = await host.acall_each("coovox_call_fields", call_ids=["c1"])
    assert answers["probe"] == {"c1": {"probe": True}}


def test_essential_and_unknown_plugins_are_refused():
    host = PluginHost(load_entry_points=False)
    with pytest.raises(PluginError, match="'web' is essential"):
        host.set_enabled("web", False)
    with pytest.raises(PluginError, match="no plugin named 'nope'"):
        host.set_enabled("nope", True)
    assert host.is_enabled("web")


async def test_choice_persists_in_the_database(config):
    first = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await first.open(startup=False)
    await first.set_plugin_enabled("billing", False)
    await first.close()

    second = Coovox(config=config, plugins=PluginHost(load_entry_points=False))
    await second.open(startup=False)
    try:
        assert second.plugins.is_enabled("billing") is False
        assert second.plugins.is_enabled("calls") is True
    finally:
        await second.close()


# --- through the web API ---------------------------------------------------------------------


@pytest.fixture
async def probe_api(probe, config, aiohttp_client):
    """A running web app with the probe plugin installed, and an admin token."""
    from coovox.users import create_token, create_user
    from coovox.web.app import create_app

    app = Coovox(config=config, plugins=PluginHost())
    await app.open()
    try:
        await create_user("admin", "Admin-pass-1")
        _, token = await create_token("admin")
        client = await aiohttp_client(create_app(app))
        client.auth = {"Authorization": f"Bearer {token}"}
        yield client
    finally:
        await app.close()


async def test_disabled_plugin_routes_answer_404(probe_api):
    client = probe_api
    resp = await client.get("/api/v1/probe", headers=client.auth)
    assert resp.status == 200 and (await resp.json()) == {"hello": "probe"}

    resp = await client.patch("/api/v1/plugins/probe", json={"enabled": False},
                              headers=client.auth)
    assert resp.status == 200 and (await resp.json())["enabled"] is False
    resp = await client.get("/api/v1/probe", headers=client.auth)
    assert resp.status == 404
    assert "disabled" in (await resp.json())["error"]["message"]

    resp = await client.patch("/api/v1/plugins/probe", json={"enabled": True},
                              headers=client.auth)
    assert resp.status == 200
    resp = await client.get("/api/v1/probe", headers=client.auth)
    assert resp.status == 200


async def test_api_refuses_to_disable_an_essential_plugin(probe_api):
    client = probe_api
    resp = await client.patch("/api/v1/plugins/calls", json={"enabled": False},
                              headers=client.auth)
    assert resp.status == 409
    body = await resp.json()
    assert body["error"]["field"] == "enabled" and "essential" in body["error"]["message"]
    resp = await client.patch("/api/v1/plugins/probe", json={"enabled": "no"},
                              headers=client.auth)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "enabled"
    resp = await client.patch("/api/v1/plugins/ghost", json={"enabled": True},
                              headers=client.auth)
    assert resp.status == 404


# --- through the real command line -------------------------------------------------------------


def coovox_cmd(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    env["COOVOX_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "coovox", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_disable_persists_for_the_next_process(probe, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    proc = coovox_cmd("plugins", "disable", "probe", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    assert "plugin probe disabled" in proc.stdout

    proc = coovox_cmd("plugins", "list", "--json", data_dir=data)  # a new process
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["probe"]["enabled"] is False and rows["probe"]["builtin"] is False
    assert rows["probe"]["version"] == "1.2.3"
    assert rows["billing"]["enabled"] is True and rows["billing"]["builtin"] is True

    # the same command line in this process: the table, and an essential plugin refused
    monkeypatch.setenv("COOVOX_DATA_DIR", str(data))
    assert cli.main(["plugins", "list"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("probe "))
    assert line.split()[1:4] == ["1.2.3", "third-party", "no"]
    assert cli.main(["plugins", "disable", "web"]) == 1
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("coovox: error")]
    assert len(errors) == 1 and "essential" in errors[0] and "Traceback" not in err
    assert cli.main(["plugins", "enable", "probe"]) == 0
    assert "plugin probe enabled" in capsys.readouterr().out

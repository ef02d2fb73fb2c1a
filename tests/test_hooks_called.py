"""Every hook is called, through the real mechanism, with what docs/plugin-hooks.md says.

The test plugin ``tests/support/all_hooks_plugin.py`` implements every hook and records
its calls; one test per hook (call hooks also end to end in ``test_hooks_call_path.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from coovox import cli
from coovox.context import Coovox
from coovox.hooktypes import CallInfo, GateDecision, Role, Route
from coovox.plugin_host import PluginHost
from tests.support import all_hooks_plugin as plug
from tests.support.all_hooks_plugin import calls_of, plain

PASSWORD = "Hooks-pass-1"


def new_host() -> PluginHost:
    host = PluginHost(load_entry_points=False, extra=[plug])
    host.set_enabled("billing", False)  # keep the call hooks about the test plugin only
    return host


@pytest.fixture
async def hooked(config):
    """An opened CooVox with the all-hooks plugin registered."""
    plug.reset()
    app = Coovox(config=config, plugins=new_host())
    await app.open()
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def web(hooked, aiohttp_client):
    from coovox.users import create_user
    from coovox.web.app import create_app

    await create_user("admin", PASSWORD)
    return await aiohttp_client(create_app(hooked))


async def add_user(name: str, role: str) -> None:
    from coovox.users import create_user

    await create_user(name, PASSWORD, role=role)


async def sign_in(client, username: str, password: str = PASSWORD):
    import re

    page = await client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    return await client.post("/sign-in", allow_redirects=False, data={
        "username": username, "password": password, "csrf_token": csrf, "next": "/"})


# --- lifecycle -------------------------------------------------------------------------------


async def test_startup_receives_the_context_once_the_database_is_ready(hooked):
    from tests.support.all_hooks_models import HookNote

    assert calls_of("coovox_startup") == [{"coovox": hooked}]
    assert hooked.started
    assert await HookNote.all().count() == 0  # the database is usable


async def test_shutdown_is_awaited_before_the_database_closes(config):
    from tests.support.all_hooks_models import HookNote

    plug.reset()
    app = Coovox(config=config, plugins=new_host())
    await app.open()
    await app.close()
    assert calls_of("coovox_shutdown") == [{"coovox": app}]
    again = Coovox(config=config, plugins=new_host())
    await again.open(startup=False)
    try:
        assert await HookNote.filter(text="written during shutdown").count() == 1
    finally:
        await again.close()
    assert len(calls_of("coovox_shutdown")) == 1  # not started → not shut down


# --- storage -----------------------------------------------------------------------------------


async def test_models_table_is_created_even_for_a_disabled_plugin(config):
    plug.reset()
    host = new_host()
    host.set_enabled(plug.PLUGIN_NAME, False)
    app = Coovox(config=config, plugins=host)
    await app.open()
    await app.close()
    assert calls_of("coovox_models")
    assert calls_of("coovox_startup") == []  # disabled: no other hook runs
    with sqlite3.connect(config.database_url.removeprefix("sqlite://")) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        applied = db.execute("SELECT name FROM tortoise_migrations WHERE app='allhooks'")
        assert [r[0] for r in applied] == ["0001_initial"]
    assert "allhooks_note" in tables


# --- web ---------------------------------------------------------------------------------------------


async def test_routes_receive_the_context_and_are_served(web, hooked):
    assert calls_of("coovox_routes") == [{"coovox": hooked}]
    assert (await sign_in(web, "admin")).status == 302
    resp = await web.get("/allhooks")
    assert resp.status == 200
    assert "All hooks page" in await resp.text()
    resp = await web.get("/api/v1/allhooks/notes")
    assert resp.status == 200 and (await resp.json()) == {"items": []}


async def test_menu_entry_is_shown_in_the_layout(web):
    assert calls_of("coovox_menu_items") == [{}]
    await sign_in(web, "admin")
    html = await (await web.get("/")).text()
    assert 'href="/allhooks"' in html and ">All hooks</a>" in html


async def test_template_dir_is_searched_after_the_core(web):
    assert calls_of("coovox_template_dirs") == [{}]
    await add_user("audit1", plug.ROLE)
    await sign_in(web, "audit1")
    html = await (await web.get("/allhooks")).text()
    assert '<p id="seen-by">audit1</p>' in html  # our template
    assert 'id="menu"' in html  # extending the core's base.html


async def test_static_dir_is_served_to_everyone(web):
    assert calls_of("coovox_static_dirs") == [{}]
    resp = await web.get("/static/allhooks/probe.txt")
    assert resp.status == 200
    assert (await resp.text()).strip() == "allhooks static file"


async def test_locale_dir_translates_the_plugin_texts(web):
    assert calls_of("coovox_locale_dirs") == [{}]
    await sign_in(web, "admin")
    web.session.cookie_jar.update_cookies({"lang": "zh_CN"})
    html = await (await web.get("/allhooks")).text()
    assert "全部钩子页面" in html and "全部钩子</a>" in html


async def test_roles_let_their_users_in_and_others_not(web, hooked):
    assert calls_of("coovox_roles")
    from coovox.web.app import known_roles

    assert known_roles(hooked)[plug.ROLE] == Role(plug.ROLE, "Auditor")
    await add_user("audit1", plug.ROLE)
    assert (await sign_in(web, "audit1")).status == 302
    html = await (await web.get("/allhooks")).text()
    assert 'href="/allhooks"' in html
    assert (await web.get("/plugins", allow_redirects=False)).status == 403


async def test_route_with_an_undeclared_role_stops_the_app(config, aiohttp_client):
    from coovox.web.app import create_app

    class Stray:
        PLUGIN_NAME = "stray"

        @staticmethod
        @plug.hookimpl
        def coovox_routes(coovox):
            return [Route("GET", "/stray", plug.page, "stray", roles=("ghost",))]

    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False, extra=[Stray]))
    await app.open(startup=False)
    try:
        with pytest.raises(RuntimeError, match="'ghost', which no plugin declares"):
            create_app(app)
    finally:
        await app.close()


async def test_sign_in_refusal_is_shown_on_the_sign_in_form(web):
    await add_user(plug.REFUSED_USER, "billing")
    await add_user("audit1", plug.ROLE)
    resp = await sign_in(web, plug.REFUSED_USER)
    assert resp.status == 200
    assert plug.REFUSAL in await resp.text()
    assert plain("coovox_sign_in_refusal") == [
        {"username": plug.REFUSED_USER, "role": "billing"}]
    assert (await web.get("/", allow_redirects=False)).status == 302  # not signed in
    assert (await sign_in(web, "audit1")).status == 302  # None lets others in
    assert plain("coovox_sign_in_refusal")[-1] == {"username": "audit1", "role": plug.ROLE}


async def test_wrong_password_never_reaches_the_refusal_hook(web):
    await add_user(plug.REFUSED_USER, "billing")
    await sign_in(web, plug.REFUSED_USER, "wrong-password-1A")
    assert plain("coovox_sign_in_refusal") == []


# --- features -------------------------------------------------------------------------------------------


async def test_feature_licence_first_answer_wins(hooked):
    state = await hooked.plugins.afirst("coovox_feature_licence", feature=plug.FEATURE)
    assert state["usable"] is True and state["device_id"] == "test-device"
    assert set(state) == {"usable", "first_activation", "expires_at", "licence_uploaded",
                          "device_id"}
    other = await hooked.plugins.afirst("coovox_feature_licence", feature="nothing")
    assert other is None or other.get("device_id") != "test-device"  # we said None: next one
    assert plain("coovox_feature_licence") == [{"feature": plug.FEATURE},
                                                  {"feature": "nothing"}]


async def test_feature_activate_may_refuse(hooked):
    refusal = await hooked.plugins.afirst("coovox_feature_activate", feature=plug.FEATURE,
                                          active=True)
    assert refusal == "the all-hooks feature cannot be switched on"
    assert await hooked.plugins.afirst("coovox_feature_activate", feature=plug.FEATURE,
                                       active=False) is None
    assert plain("coovox_feature_activate")[-1] == {"feature": plug.FEATURE, "active": False}


# --- call control (through the host, as the call path calls them) ----------------------------------------


def call_info(dialed: str = "013800138000") -> CallInfo:
    return CallInfo(call_id="call-1", extension="1001", extension_name="Alice", dialed=dialed,
                    sent=dialed, rule="Mobile", trunks=("trunk-a",),
                    started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


class FakeControl:
    """A :class:`~coovox.hooktypes.CallControl` for host-level tests."""

    def __init__(self) -> None:
        self.timers: list[tuple[str, float]] = []

    async def cut(self, call_id: str, reason: str, *, billed_until: float | None = None,
                  plugin: str = "") -> bool:
        return True

    async def play_tone(self, call_id: str, tone: str) -> bool:
        return True

    async def play_prompt(self, call_id: str, name: str) -> bool:
        return True

    def schedule(self, call_id: str, at_talk_seconds: float,
                 callback: Callable[[], Awaitable[None]]) -> None:
        self.timers.append((call_id, at_talk_seconds))

    def talk_seconds(self, call_id: str) -> float | None:
        return 1.5


async def test_call_gate_answers_a_decision_per_plugin(hooked):
    info = call_info()
    answers = await hooked.plugins.acall_each("coovox_call_gate", call=info)
    assert answers[plug.PLUGIN_NAME] == GateDecision(plug.PLUGIN_NAME, cap=plug.CAP,
                                                     data={"seen": "call-1"})
    refused = await hooked.plugins.acall_each("coovox_call_gate", call=call_info("0666"))
    assert refused[plug.PLUGIN_NAME].refuse == "number barred by allhooks"
    assert [c["call"] for c in calls_of("coovox_call_gate")] == [info, call_info("0666")]


async def test_call_answered_gets_control_decision_and_resumed(hooked):
    info, control = call_info(), FakeControl()
    decision = GateDecision(plug.PLUGIN_NAME, cap=plug.CAP)
    await hooked.plugins.acall("coovox_call_answered", call=info, control=control,
                               decision=decision, resumed=False)
    (args,) = plain("coovox_call_answered")
    assert args == {"call": info, "control": control, "decision": decision, "resumed": False,
                    "talk": 1.5}


async def test_call_cut_names_the_reason_and_who_asked(hooked):
    await hooked.plugins.acall_each("coovox_call_cut", call=call_info(), reason="cap",
                                    plugin="core")
    assert plain("coovox_call_cut") == [{"call": call_info(), "reason": "cap",
                                            "plugin": "core"}]


async def test_call_ended_gets_the_record(hooked):
    record = {"id": "call-1", "status": "answered", "reason": "", "talk_time": 12.0}
    await hooked.plugins.acall_each("coovox_call_ended", call=call_info(), record=record)
    assert plain("coovox_call_ended") == [{"call": call_info(), "record": record}]


async def test_call_fields_are_keyed_by_call_id(hooked):
    answers = await hooked.plugins.acall_each("coovox_call_fields", call_ids=["a", "b"])
    assert answers[plug.PLUGIN_NAME] == {"a": {"allhooks_tag": "tag-a"},
                                         "b": {"allhooks_tag": "tag-b"}}
    assert plain("coovox_call_fields") == [{"call_ids": ["a", "b"]}]


# --- command line -----------------------------------------------------------------------------------------


async def test_event_published_reaches_every_plugin_in_order(hooked):
    import asyncio

    hooked.publish("test.first", "allhooks", n=1)
    hooked.publish("test.second", "allhooks", n=2)
    for _ in range(100):
        if len(calls_of("coovox_event")) >= 2:
            break
        await asyncio.sleep(0.01)
    events = [c["event"] for c in calls_of("coovox_event")]
    assert [(e.name, e.source, dict(e.data)) for e in events] == [
        ("test.first", "allhooks", {"n": 1}), ("test.second", "allhooks", {"n": 2})]
    assert all(c["coovox"] is hooked for c in calls_of("coovox_event"))


async def test_event_hook_failure_is_logged_and_publisher_unharmed(hooked, caplog):
    import asyncio

    from coovox.hookspecs import hookimpl

    class Broken:
        @hookimpl
        def coovox_event(self, coovox, event):
            raise RuntimeError("broken listener")

    hooked.plugins.pm.register(Broken(), name="broken")
    try:
        hooked.publish("test.third", "allhooks")
        for _ in range(100):
            if calls_of("coovox_event"):
                break
            await asyncio.sleep(0.01)
        assert [c["event"].name for c in calls_of("coovox_event")] == ["test.third"]
        assert "broken listener" in caplog.text
    finally:
        hooked.plugins.pm.unregister(name="broken")


async def test_cli_commands_add_a_runnable_sub_command(config, capsys):
    from tests.support.all_hooks_models import HookNote

    plug.reset()
    host = new_host()
    parser = cli.build_parser(host)
    (args,) = calls_of("coovox_cli_commands")
    assert callable(args["subparsers"].add_parser)
    ns = parser.parse_args(["allhooks-hello", "--name", "Ada"])
    assert await cli._dispatch(ns, config, host) == 0
    assert "hello Ada from allhooks" in capsys.readouterr().out
    app = Coovox(config=config, plugins=new_host())
    await app.open(startup=False)
    try:
        assert await HookNote.filter(text="hello Ada").exists()
    finally:
        await app.close()


async def test_startup_failure_names_the_plugin_and_closes(config):
    from coovox.plugin_host import PluginError

    class Failing:
        PLUGIN_NAME = "failing"

        @staticmethod
        @plug.hookimpl
        def coovox_startup(coovox):
            raise RuntimeError("no licence server")

    plug.reset()
    host = PluginHost(load_entry_points=False, extra=[plug, Failing])
    app = Coovox(config=config, plugins=host)
    with pytest.raises(PluginError, match="plugin failing failed to start: no licence server"):
        await app.open()
    assert calls_of("coovox_startup") == []  # Failing was asked first (registered last)
    assert [c["coovox"] for c in calls_of("coovox_shutdown")] == [app]
    assert not app.started


# --- a plugin's own hooks and events ---------------------------------------------------------------


async def test_add_hookspecs_lets_a_plugin_declare_a_hook_others_implement(hooked):
    assert calls_of("coovox_add_hookspecs") == [{}]
    answers = await hooked.plugins.acall_each("allhooks_noted", text="hi")
    assert answers == {plug.PLUGIN_NAME: "noted: hi"}
    assert plain("allhooks_noted") == [{"text": "hi"}]  # the context came without asking


async def test_add_hookspecs_through_the_host_at_start_up(hooked):
    from coovox.api import hookimpl, hookspec

    class Later:
        @staticmethod
        @hookspec(firstresult=True)
        def later_pick(coovox, n: int) -> int | None:
            """Pick something."""

    class Picker:
        @hookimpl
        def later_pick(self, n):
            return n * 2

    hooked.plugins.add_hookspecs(Later)
    hooked.plugins.pm.register(Picker(), name="picker")
    try:
        assert await hooked.plugins.afirst("later_pick", n=21) == 42
    finally:
        hooked.plugins.pm.unregister(name="picker")


async def test_event_types_are_declared_when_the_bus_starts(hooked):
    assert plain("coovox_event_types") == [{}]
    assert hooked.events.types["allhooks.noted"] == plug.EVENT
    assert {"call.started", "call.charged", "balance.low"} <= set(hooked.events.types)


async def test_event_type_declared_twice_differently_stops_start_up(config):
    from coovox.api import EventType, PluginError, hookimpl

    class Clash:
        PLUGIN_NAME = "clash"

        @staticmethod
        @hookimpl
        def coovox_event_types(coovox):
            return [EventType("call.ended", ("x",), "not the core's", "clash")]

    app = Coovox(config=config, plugins=PluginHost(load_entry_points=False, extra=[Clash]))
    with pytest.raises(PluginError, match="plugin clash: event 'call.ended' is already"):
        await app.open()
    await app.close()


async def test_call_hooks_receive_the_context(hooked):
    await hooked.plugins.acall_each("coovox_call_cut", call=call_info(), reason="r",
                                    plugin="core")
    (args,) = calls_of("coovox_call_cut")
    assert args["coovox"] is hooked

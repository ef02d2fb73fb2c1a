"""Point 3 of issue 13: the plugin host is the only code that calls hooks, by one rule.

The rule (docs/plugin-hooks.md, "How hooks are called") is shown here from a plugin's
side: errors, async implementations, disabled plugins, order, start-up order.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from coovox.context import Coovox
from coovox.hookspecs import hookimpl
from coovox.hooktypes import GateDecision, ModelSpec
from coovox.plugin_host import DECLARATIONS, FAIL_CLOSED, STOPS_STARTUP, PluginError, PluginHost

ROOT = Path(__file__).resolve().parents[1]
# Ways of reaching a hook implementation without the host
BYPASS = re.compile(r"\.hook\.coovox_|get_hookimpls\(|getattr\([^)]*[\"']coovox_\w+[\"']"
                    r"|impl\.function\(|\.pm\.hook\b|\bhook\.coovox_")


def python_files() -> list[Path]:
    files = [*ROOT.joinpath("coovox").rglob("*.py"), *ROOT.joinpath("examples").rglob("*.py"),
             *ROOT.joinpath("bench").rglob("*.py")]
    return [f for f in files if f.name != "plugin_host.py" and ".venv" not in f.parts]


def test_no_hook_is_called_outside_the_plugin_host():
    offenders = []
    for path in python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BYPASS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "hooks called outside coovox/plugin_host.py:\n" + "\n".join(offenders)


def test_the_grep_would_catch_each_old_way():
    for line in ('for impl in reversed(host.hook.coovox_cli_commands.get_hookimpls()):',
                 'impl = getattr(info.module, "coovox_shutdown", None)',
                 'value = impl.function(**kwargs)', 'self.coovox.plugins.hook.coovox_call_gate'):
        assert BYPASS.search(line), line


# --- the rule, from a plugin's side --------------------------------------------------------------


class Recorder:
    """Records which of its hooks ran (one instance per named plugin)."""

    def __init__(self, name: str, seen: list[str], *, fail: str = "") -> None:
        self.PLUGIN_NAME, self.seen, self.fail = name, seen, fail

    def _hit(self, hook: str) -> None:
        self.seen.append(f"{self.PLUGIN_NAME}:{hook}")
        if hook == self.fail:
            raise RuntimeError(f"{self.PLUGIN_NAME} broke in {hook}")

    @hookimpl
    async def coovox_startup(self, coovox):
        assert {"calls", "billing", "licensing"} <= set(coovox.services)  # the core is ready
        self._hit("startup")

    @hookimpl
    async def coovox_call_gate(self, coovox, call):
        self._hit("gate")
        return GateDecision(self.PLUGIN_NAME, cap=5)

    @hookimpl
    def coovox_call_fields(self, coovox, call_ids):
        self._hit("fields")
        return {cid: {self.PLUGIN_NAME: True} for cid in call_ids}

    @hookimpl
    def coovox_sign_in_refusal(self, coovox, username, role):
        self._hit("refusal")

    @hookimpl
    def coovox_models(self, coovox):
        self._hit("models")


def host_with(*plugins) -> PluginHost:
    return PluginHost(load_entry_points=False, extra=list(plugins))


async def test_an_error_in_a_collecting_hook_is_logged_and_others_still_answer(caplog):
    seen: list[str] = []
    host = host_with(Recorder("first", seen), Recorder("second", seen, fail="fields"))
    answers = await host.acall_each("coovox_call_fields", call_ids=["c1"])
    assert answers["first"] == {"c1": {"first": True}} and "second" not in answers
    assert "plugin second failed in coovox_call_fields" in caplog.text


async def test_an_error_in_a_deciding_hook_refuses():
    seen: list[str] = []
    host = host_with(Recorder("gatekeeper", seen, fail="gate"),
                     Recorder("guard", seen, fail="refusal"))
    host.set_enabled("billing", False)
    answers = await host.acall_each("coovox_call_gate", call=None)
    assert answers["gatekeeper"] == GateDecision("gatekeeper", refuse="gatekeeper error")
    refusal = await host.afirst("coovox_sign_in_refusal", username="u", role="admin")
    assert "guard" in refusal and "try again later" in refusal
    assert set(FAIL_CLOSED) == {"coovox_call_gate", "coovox_sign_in_refusal",
                                "coovox_feature_activate"}


def test_an_error_in_a_declaration_stops_start_up_naming_the_plugin():
    class Broken:
        PLUGIN_NAME = "broken-models"

        @staticmethod
        @hookimpl
        def coovox_models():
            raise ValueError("no such module")

    host = host_with(Broken)
    with pytest.raises(PluginError, match="plugin broken-models failed in coovox_models: no"):
        host.call_all_plugins("coovox_models")
    assert "coovox_startup" in STOPS_STARTUP and DECLARATIONS < STOPS_STARTUP


def test_a_declaration_must_be_a_plain_function():
    class Async:
        PLUGIN_NAME = "async-menu"

        @staticmethod
        @hookimpl
        async def coovox_menu_items():
            return []

    with pytest.raises(PluginError, match="async-menu failed in coovox_menu_items: .*plain"):
        host_with(Async).declared("coovox_menu_items")


async def test_disabled_plugins_are_never_called_except_declarations():
    seen: list[str] = []
    host = host_with(Recorder("off", seen))
    host.set_enabled("off", False)
    host.set_enabled("billing", False)
    assert await host.acall_each("coovox_call_fields", call_ids=["c"]) == {}
    assert await host.acall_each("coovox_call_gate", call=None) == {}
    host.call_all_plugins("coovox_models")
    assert seen == ["off:models"]  # its tables are kept


async def test_order_is_pluggys_with_tryfirst_and_trylast():
    seen: list[str] = []

    class Early:
        PLUGIN_NAME = "early"

        @staticmethod
        @hookimpl(tryfirst=True)
        def coovox_call_fields(call_ids):
            seen.append("early")

    class Late:
        PLUGIN_NAME = "late"

        @staticmethod
        @hookimpl(trylast=True)
        def coovox_call_fields(call_ids):
            seen.append("late")

    host = host_with(Early, Recorder("a", seen), Recorder("b", seen), Late)
    host.set_enabled("billing", False)
    await host.acall_each("coovox_call_fields", call_ids=[])
    assert seen == ["early", "b:fields", "a:fields", "late"]  # last registered first


async def test_async_implementations_are_awaited_and_get_the_context(config):
    seen: list[str] = []
    app = Coovox(config=config, plugins=host_with(Recorder("r", seen)))
    app.plugins.set_enabled("billing", False)
    answers = await app.plugins.acall_each("coovox_call_gate", call=None)
    assert answers["r"] == GateDecision("r", cap=5)  # awaited, not a coroutine


async def test_core_services_exist_before_a_third_party_startup(config, caplog):
    caplog.set_level(logging.ERROR)
    seen: list[str] = []
    app = Coovox(config=config, plugins=host_with(Recorder("third", seen)))
    await app.open()  # Recorder.coovox_startup asserts the core's services exist
    try:
        assert seen == ["third:models", "third:startup"]
    finally:
        await app.close()


async def test_third_party_startup_failure_stops_start_up_naming_it(config):
    seen: list[str] = []
    app = Coovox(config=config, plugins=host_with(Recorder("crashy", seen, fail="startup")))
    with pytest.raises(PluginError, match="plugin crashy failed to start: crashy broke"):
        await app.open()
    assert not app.started


def test_models_spec_type_is_the_public_one():
    assert ModelSpec("a", "b", "c").app_label == "a"

"""The plugin host: finds built-in and third-party plugins and calls their hooks."""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from coovox import __version__, hookspecs
from coovox.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin could not be loaded or refused an operation."""


@dataclass
class PluginInfo:
    """What ``coovox plugins list`` and ``/api/v1/plugins`` show about a plugin."""

    name: str
    version: str
    builtin: bool
    essential: bool
    enabled: bool
    description: str
    module: ModuleType | Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "builtin": self.builtin,
            "essential": self.essential,
            "enabled": self.enabled,
            "description": self.description,
        }


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("coovox")
    pm.add_hookspecs(hookspecs)
    return pm


class PluginHost:
    """Loads plugins, keeps their enabled state and calls hooks (awaiting async ones).

    A disabled plugin is unregistered from the hook caller, so none of its hooks run;
    its models stay known so its tables are never dropped.
    """

    def __init__(self, *, load_entry_points: bool = True, extra: list[Any] | None = None):
        self.pm = new_manager()
        self.plugins: dict[str, PluginInfo] = {}
        for builtin in DEFAULT_PLUGINS:
            module = importlib.import_module(builtin.module)
            self._add(builtin.name, module, __version__, True, builtin.essential,
                      builtin.description)
        if load_entry_points:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    obj = ep.load()
                except Exception as exc:  # a broken third-party plugin must not stop us
                    log.error("plugin %s could not be loaded: %s", ep.name, exc)
                    continue
                version = ep.dist.version if ep.dist else "?"
                doc = (inspect.getdoc(obj) or "").splitlines()
                self._add(ep.name, obj, version, False, False, doc[0] if doc else "")
        for obj in extra or []:
            name = getattr(obj, "PLUGIN_NAME", None) or getattr(obj, "__name__", repr(obj))
            self._add(name, obj, getattr(obj, "__version__", "0"), False, False, "")

    def _add(self, name: str, obj: Any, version: str, builtin: bool, essential: bool,
             description: str) -> None:
        if name in self.plugins:
            log.error("plugin name %s is used twice; the second one is ignored", name)
            return
        self.pm.register(obj, name=name)
        self.plugins[name] = PluginInfo(name, version, builtin, essential, True, description, obj)

    # --- enabled state -----------------------------------------------------------------

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable a plugin in this process (persisting is the caller's job)."""
        info = self.plugins.get(name)
        if info is None:
            raise PluginError(f"no plugin named {name!r}")
        if not enabled and info.essential:
            raise PluginError(f"plugin {name!r} is essential and cannot be disabled")
        if enabled == info.enabled:
            return
        info.enabled = enabled
        self._register_enabled()

    def _register_enabled(self) -> None:
        """(Re-)register the enabled plugins in their original order.

        pluggy calls the last registered plugin first; re-registering all of them keeps
        the order of hook calls the same after a plugin is disabled and enabled again.
        """
        for name in self.plugins:
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
        for name, info in self.plugins.items():
            if info.enabled:
                self.pm.register(info.module, name=name)

    def apply_states(self, states: dict[str, bool]) -> None:
        for name, enabled in states.items():
            info = self.plugins.get(name)
            if info is not None and not (info.essential and not enabled):
                self.set_enabled(name, enabled)

    def is_enabled(self, name: str) -> bool:
        info = self.plugins.get(name)
        return bool(info and info.enabled)

    def infos(self) -> list[PluginInfo]:
        return list(self.plugins.values())

    # --- calling hooks ---------------------------------------------------------------------

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def call_all(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on enabled plugins only; synchronous results only."""
        return getattr(self.pm.hook, hook_name)(**kwargs)

    def call_all_plugins(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on every installed plugin, enabled or not (used for models)."""
        results = []
        for info in self.plugins.values():
            impl = getattr(info.module, hook_name, None)
            if impl is not None and getattr(impl, "coovox_impl", None) is not None:
                value = impl(**kwargs)
                if value is not None:
                    results.append(value)
        return results

    async def acall(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook and await any awaitable results."""
        results = getattr(self.pm.hook, hook_name)(**kwargs)
        if results is None:
            return []
        if not isinstance(results, list):
            results = [results]
        out = []
        for value in results:
            if inspect.isawaitable(value):
                value = await value
            if value is not None:
                out.append(value)
        return out

    async def acall_each(self, hook_name: str, **kwargs: Any) -> dict[str, Any]:
        """Call a hook plugin by plugin (results keyed by plugin name), awaiting each.

        An exception in one plugin is logged and does not stop the others.
        """
        out: dict[str, Any] = {}
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                value = impl.function(**{k: kwargs[k] for k in impl.argnames})
                if inspect.isawaitable(value):
                    value = await value
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
                continue
            if value is not None:
                out[impl.plugin_name] = value
        return out

    async def afirst(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a ``firstresult`` hook: the first non-``None`` answer, awaiting async ones.

        Implementations are asked in pluggy's order and one by one, so an ``async``
        implementation answering ``None`` lets the next plugin answer.
        """
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            value = impl.function(**{k: kwargs[k] for k in impl.argnames})
            if inspect.isawaitable(value):
                value = await value
            if value is not None:
                return value
        return None

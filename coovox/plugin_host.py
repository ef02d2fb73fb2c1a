"""The plugin host: finds built-in and third-party plugins and is the ONE caller of hooks.

The rule every hook call follows (``docs/plugin-hooks.md``, "How hooks are called"):

- **Who is called.**  Declaration hooks (:data:`DECLARATIONS`: models, roles, routes,
  menu items, template/static/locale folders, hookspecs, event types) are read from every
  *installed* plugin, enabled or not: tables are never dropped and a plugin enabled later
  already has its routes (they answer 404 and its menu entries are hidden while it is
  disabled).  Every other hook is called on *enabled* plugins only.
- **Order.**  pluggy's: the last registered plugin first, ``tryfirst``/``trylast``
  honoured.  ``coovox_startup`` runs the built-in plugins first (the core's services
  exist before any third-party start-up), ``coovox_shutdown`` the third-party ones first.
- **Async.**  Any implementation may be ``async``; the host awaits it.  Declaration hooks
  and ``coovox_cli_commands`` are called while the application is assembled and must be
  plain functions.
- **Errors.**  :data:`STOPS_STARTUP` hooks raise :class:`PluginError` naming the plugin;
  :data:`FAIL_CLOSED` hooks turn a plugin's exception into a refusal from that plugin;
  every other hook logs the exception and goes on with the next plugin.
- **Context.**  A hook whose spec names ``coovox`` receives the application context
  (:attr:`PluginHost.context`) without the caller passing it.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from coovox import __version__, hookspecs
from coovox.hooktypes import GateDecision
from coovox.messages import Msg
from coovox.plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP

log = logging.getLogger(__name__)

DECLARATIONS = frozenset({
    "coovox_models", "coovox_roles", "coovox_routes", "coovox_menu_items",
    "coovox_template_dirs", "coovox_static_dirs", "coovox_locale_dirs",
    "coovox_add_hookspecs", "coovox_event_types"})
"""Hooks read from every installed plugin (enabled or not), as plain functions."""

STOPS_STARTUP = DECLARATIONS | {"coovox_startup"}
"""Hooks whose exception stops start-up with a :class:`PluginError` naming the plugin."""

FAIL_CLOSED: dict[str, Callable[[str], Any]] = {
    "coovox_call_gate": lambda name: GateDecision(name, refuse=f"{name} error"[:64]),
    "coovox_sign_in_refusal": lambda name: Msg(
        "Signing in is not possible now (plugin %(plugin)s failed); try again later.",
        plugin=name),
    "coovox_feature_activate": lambda name: Msg(
        "Plugin %(plugin)s failed while checking this change; nothing was changed.",
        plugin=name),
}
"""Hooks deciding for safety: a plugin's exception counts as this refusal from it."""

PLAIN = DECLARATIONS | {"coovox_cli_commands"}
"""Hooks that must be plain functions (called while the application is assembled)."""


class PluginError(Exception):
    """A plugin could not be loaded, failed to start, or refused an operation."""


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
    """Loads plugins, keeps their enabled state and calls their hooks (see the module).

    ``pm`` holds the enabled plugins (a disabled one is unregistered, so none of its hooks
    run); ``installed`` holds every plugin, for the declaration hooks.
    """

    def __init__(self, *, load_entry_points: bool = True, extra: list[Any] | None = None):
        self.pm = new_manager()
        self.installed = new_manager()
        self.plugins: dict[str, PluginInfo] = {}
        self.context: Any = None  # the Coovox this host serves (set by Coovox)
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
        for _name, found in self.declared("coovox_add_hookspecs"):
            for spec in found if isinstance(found, list | tuple) else [found]:
                self.add_hookspecs(spec)

    def _add(self, name: str, obj: Any, version: str, builtin: bool, essential: bool,
             description: str) -> None:
        if name in self.plugins:
            log.error("plugin name %s is used twice; the second one is ignored", name)
            return
        self.pm.register(obj, name=name)
        self.installed.register(obj, name=name)
        self.plugins[name] = PluginInfo(name, version, builtin, essential, True, description, obj)

    def add_hookspecs(self, spec: Any) -> None:
        """Add a plugin's own hookspecs (a module or class marked with ``hookspec``)."""
        self.pm.add_hookspecs(spec)
        self.installed.add_hookspecs(spec)

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

    # --- the one way hooks are called -------------------------------------------------------

    @property
    def hook(self) -> Any:
        """pluggy's hook relay of the enabled plugins (for inspection; call through the host)."""
        return self.pm.hook

    def implementations(self, hook_name: str) -> list[pluggy.HookImpl]:
        """The implementations of a hook that the host calls, in calling order."""
        pm = self.installed if hook_name in DECLARATIONS else self.pm
        caller = getattr(pm.hook, hook_name, None)
        return list(reversed(caller.get_hookimpls())) if caller is not None else []

    def _arguments(self, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> dict[str, Any]:
        args = {}
        for name in impl.argnames:
            if name in kwargs:
                args[name] = kwargs[name]
            elif name == "coovox":
                args[name] = self.context
            else:
                raise TypeError(f"{impl.plugin_name}: hook argument {name!r} not given")
        return args

    def _failed(self, hook_name: str, plugin: str, exc: BaseException) -> Any:
        """Apply the error rule: raise, refuse, or log and return None."""
        if hook_name in STOPS_STARTUP:
            what = "to start" if hook_name == "coovox_startup" else f"in {hook_name}"
            raise PluginError(f"plugin {plugin} failed {what}: {exc}") from exc
        if hook_name in FAIL_CLOSED:
            log.exception("plugin %s failed in %s: counted as a refusal", plugin, hook_name)
            return FAIL_CLOSED[hook_name](plugin)
        log.exception("plugin %s failed in %s", plugin, hook_name)
        return None

    def _plain(self, hook_name: str, impls: Iterable[pluggy.HookImpl],
               kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        out = []
        for impl in impls:
            args = self._arguments(impl, kwargs)
            try:
                value = impl.function(**args)
                if inspect.isawaitable(value):
                    if inspect.iscoroutine(value):
                        value.close()
                    raise TypeError(f"{hook_name} must be a plain function, not async")
            except Exception as exc:
                value = self._failed(hook_name, impl.plugin_name, exc)
            if value is not None:
                out.append((impl.plugin_name, value))
        return out

    def declared(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """A declaration hook of every installed plugin: ``(plugin, answer)`` pairs."""
        return self._plain(hook_name, self.implementations(hook_name), kwargs)

    def call_all(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """A plain hook (declarations: of every installed plugin; others: enabled ones)."""
        return [value for _, value in self._plain(hook_name, self.implementations(hook_name),
                                                  kwargs)]

    def call_all_plugins(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """A declaration hook of every installed plugin, enabled or not (e.g. models)."""
        assert hook_name in DECLARATIONS, f"{hook_name} is not a declaration hook"
        return self.call_all(hook_name, **kwargs)

    async def _one(self, hook_name: str, impl: pluggy.HookImpl, kwargs: dict[str, Any],
                   extra: dict[str, Any] | None = None) -> Any:
        args = self._arguments(impl, {**kwargs, **(extra or {})})
        try:
            value = impl.function(**args)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return self._failed(hook_name, impl.plugin_name, exc)
        return value

    async def acall_each(self, hook_name: str, *,
                         per_plugin: Callable[[str], dict[str, Any]] | None = None,
                         **kwargs: Any) -> dict[str, Any]:
        """Call a hook plugin by plugin, awaiting each; non-``None`` answers by plugin name.

        ``per_plugin(name)`` gives arguments that differ per plugin (a call's own gate
        decision in ``coovox_call_answered``).
        """
        out: dict[str, Any] = {}
        for impl in self.implementations(hook_name):
            extra = per_plugin(impl.plugin_name) if per_plugin else None
            value = await self._one(hook_name, impl, kwargs, extra)
            if value is not None:
                out[impl.plugin_name] = value
        return out

    async def acall(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook plugin by plugin, awaiting each; the non-``None`` answers."""
        return list((await self.acall_each(hook_name, **kwargs)).values())

    async def afirst(self, hook_name: str, **kwargs: Any) -> Any:
        """A ``firstresult`` hook: the first non-``None`` answer, awaiting async ones."""
        for impl in self.implementations(hook_name):
            value = await self._one(hook_name, impl, kwargs)
            if value is not None:
                return value
        return None

    async def startup(self) -> None:
        """``coovox_startup``: built-in plugins first, then third-party ones.

        Raises :class:`PluginError` naming the first plugin that fails.
        """
        impls = self.implementations("coovox_startup")
        builtin = [i for i in impls if self._builtin(i.plugin_name)]
        for impl in builtin + [i for i in impls if i not in builtin]:
            await self._one("coovox_startup", impl, {})

    async def shutdown(self) -> None:
        """``coovox_shutdown``: third-party plugins first, then built-in ones; errors logged."""
        impls = self.implementations("coovox_shutdown")
        builtin = [i for i in impls if self._builtin(i.plugin_name)]
        for impl in [i for i in impls if i not in builtin] + builtin:
            await self._one("coovox_shutdown", impl, {})

    def _builtin(self, name: str) -> bool:
        info = self.plugins.get(name)
        return bool(info and info.builtin)

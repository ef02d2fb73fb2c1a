"""Built-in plugins. They are registered exactly like third-party ones.

``DEFAULT_PLUGINS`` is the one place that lists them: name, module, and whether an
administrator may disable it (``essential`` ones cannot be disabled).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinPlugin:
    name: str
    module: str
    essential: bool
    description: str


DEFAULT_PLUGINS: tuple[BuiltinPlugin, ...] = (
    BuiltinPlugin("web", "coovox.web.plugin", True, "sign-in, users, API tokens, plugins, web log"),
    BuiltinPlugin("outbound", "coovox.plugins.outbound.plugin", True,
                  "extensions, trunks, dial rules, dial permissions, PIN sets"),
    BuiltinPlugin("calls", "coovox.plugins.calls.plugin", True,
                  "call control through ARI, the call record"),
    BuiltinPlugin("calllog", "coovox.plugins.calllog.plugin", True, "call log, exports, live calls"),
    BuiltinPlugin("licensing", "coovox.plugins.licensing.plugin", True, "trial and licences of features"),
    BuiltinPlugin("billing", "coovox.plugins.billing.plugin", False, "prepaid/postpaid call billing"),
)

ENTRY_POINT_GROUP = "coovox.plugins"

"""The built-in ``calls`` plugin: outbound configuration, call control, call log (wiring)."""

from __future__ import annotations

from coovox.hookspecs import hookimpl
from coovox.hooktypes import ModelSpec


@hookimpl
def coovox_models() -> ModelSpec:
    return ModelSpec("calls", "coovox.calls.models", "coovox.calls.migrations")

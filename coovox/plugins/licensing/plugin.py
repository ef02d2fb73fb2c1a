"""The built-in ``licensing`` plugin (wiring only)."""

from __future__ import annotations

from coovox.hookspecs import hookimpl  # noqa: F401

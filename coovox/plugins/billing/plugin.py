"""The built-in ``billing`` plugin (wiring only)."""

from __future__ import annotations

from coovox.hookspecs import hookimpl
from coovox.hooktypes import BILLING, Role


@hookimpl
def coovox_roles() -> list[Role]:
    return [Role(BILLING, "Billing user")]

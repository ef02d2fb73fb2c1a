"""What a call flow needs from the call controller, as a protocol.

:class:`~coovox.plugins.calls.flow.CallFlow` is handed an object with these members (the
:class:`~coovox.plugins.calls.stasis.CallController`, or a stand-in in tests); it never
imports the controller, so ``flow`` and ``stasis`` form no import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from coovox.hooktypes import CallInfo, GateDecision
from coovox.plugins.calls.state import CallState

if TYPE_CHECKING:  # types only: none of these modules imports this one
    from coovox.ari import AriConnection
    from coovox.context import Coovox
    from coovox.plugins.calls.models import Call
    from coovox.plugins.outbound.cache import ConfigCache


class FlowControl(Protocol):
    """The controller as one call sees it: settings, the plugins, the channel registry."""

    # settings (seconds unless noted), read when the flow needs them: tests change them
    app: str
    node: str
    timezone: str
    dial_timeout: int
    dial_grace: float
    pin_timeout: float
    pin_tries: int
    refuse_tone_seconds: float
    cause_wait: float
    stasis_wait: float

    # services
    coovox: Coovox
    ari: AriConnection
    config: ConfigCache

    # the channel registry and timers
    def register(self, channel_id: str, call: CallState) -> None: ...
    def unregister(self, channel_id: str) -> None: ...
    def forget(self, call: CallState) -> None: ...
    def next_turn(self, rule: str) -> int: ...
    def cancel_timers(self, call: CallState) -> None: ...
    def schedule(self, call_id: str, at_talk_seconds: float,
                 callback: Callable[[], Awaitable[None]]) -> None: ...
    def prompt(self, name: str) -> str: ...

    # plugins (hooks and events)
    async def ask_gates(self, info: CallInfo) -> dict[str, GateDecision]: ...
    async def announce_answered(self, call: CallState, *, resumed: bool) -> None: ...
    async def notify_cut(self, call: CallState, reason: str, plugin: str) -> None: ...
    async def announce_ended(self, call: CallState, row: Call) -> None: ...
    async def cut(self, call_id: str, reason: str, *, billed_until: float | None = None,
                  plugin: str = "") -> bool: ...


__all__ = ["FlowControl"]

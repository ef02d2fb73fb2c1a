"""PIN entry of a call whose dial rule has a PIN set (a part of :class:`CallFlow`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from coovox.ari import AriError
from coovox.plugins.calls import prompts, services
from coovox.plugins.calls.ports import FlowControl
from coovox.plugins.calls.state import CallState, channel_of

log = logging.getLogger("coovox.plugins.calls.flow")

PROMPT_WAIT = 5.0  # seconds the last "not valid" prompt may take before the refusal


class PinEntry:
    """Prompts and DTMF collection; the flow gives the call, its queue and ARI."""

    call: CallState
    ctl: FlowControl
    ari: Any
    loop: asyncio.AbstractEventLoop

    def _caller_gone(self) -> bool:
        raise NotImplementedError

    async def _quiet(self, awaitable: Any) -> bool:
        raise NotImplementedError

    async def _next(self, timeout: float | None) -> Any:
        raise NotImplementedError

    async def _collect_pin(self, pin_set: str) -> str | None:
        """Answer, prompt, collect DTMF up to '#' or a timeout; 3 tries. None = wrong.

        Asterisk plays a channel's playbacks one after the other and DTMF does not stop
        them, so a caller who types ahead has prompts queued.  After the last wrong PIN
        those are dropped and the "not valid" prompt is heard to its end before the
        refusal: hanging up at once cut it, and the busy tone queued behind it.  (Prompts
        are not stopped while the caller types: Asterisk then stops emulating the DTMF
        of a phone that sends no audio, and the next digits arrive only much later.)"""
        call, ctl = self.call, self.ctl
        await self._quiet(self.ari.channel_answer(call.caller))
        prompting: list[str] = []  # ids of the prompts playing or queued on the caller
        for attempt in range(1, ctl.pin_tries + 1):
            await self._prompt(prompts.PIN_ENTER, prompting)
            digits = ""
            deadline = self.loop.time() + ctl.pin_timeout
            while True:
                item = await self._next(deadline - self.loop.time())
                if item is None:
                    break
                if self._caller_gone():
                    return None
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "PlaybackFinished":
                    self._played(item, prompting)
                elif (item.get("type") == "ChannelDtmfReceived"
                        and channel_of(item) == call.caller):
                    digit = str(item.get("digit", ""))
                    if digit == "#":
                        break
                    digits += digit
                    if len(digits) >= 16:
                        break
            if digits and await services.pin_valid(pin_set, digits):
                return digits
            if attempt == ctl.pin_tries:  # the typing is over: what is queued is stale
                await self._stop_prompts(prompting)
            await self._prompt(prompts.PIN_WRONG, prompting)
        deadline = self.loop.time() + max(ctl.pin_timeout, PROMPT_WAIT)
        while prompting and not self._caller_gone():
            item = await self._next(deadline - self.loop.time())
            if item is None:
                break
            if isinstance(item, dict) and item.get("type") == "PlaybackFinished":
                self._played(item, prompting)
        return None

    async def _prompt(self, name: str, prompting: list[str]) -> None:
        try:
            playback = await self.ari.channel_play(self.call.caller, self.ctl.prompt(name))
            prompting.append(playback["id"])
        except (AriError, KeyError, TypeError) as exc:
            log.debug("call %s: prompt %s not played: %s", self.call.id, name, exc)

    @staticmethod
    def _played(event: dict[str, Any], prompting: list[str]) -> None:
        playback_id = (event.get("playback") or {}).get("id")
        if playback_id in prompting:
            prompting.remove(playback_id)

    async def _stop_prompts(self, prompting: list[str]) -> None:
        playbacks, prompting[:] = list(prompting), []
        for playback_id in playbacks:
            await self._quiet(self.ari.playback_stop(playback_id))

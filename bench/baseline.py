"""The baseline: a minimal Stasis app with the product's ARI client (``coovox.ari``).

On ``StasisStart(dialout, ext, number)`` it creates the trunk channel at once
(``POST /channels/create`` with ``originator=<caller>``), with no routing, billing or
database. Afterwards (outside the measured span) it hangs both legs up so the double's
state stays small. Admission of the product is compared with this app's, side by side.
"""

from __future__ import annotations

import asyncio
import logging

from coovox.ari import AriConnection, AriError

log = logging.getLogger(__name__)


class BaselineApp:
    def __init__(self, url: str, user: str, password: str, app: str,
                 hold: float = 0.5) -> None:
        self.hold = hold
        self.conn = AriConnection(url, user, password, app, on_event=self.on_event)
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        await self.conn.start()
        await self.conn.wait_connected(30)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.conn.stop()

    async def on_event(self, event: dict) -> None:
        if event.get("type") != "StasisStart":
            return
        args = event.get("args") or []
        if len(args) < 3 or args[0] != "dialout":
            return
        caller = event["channel"]["id"]
        number = args[2][1:] if args[2].startswith("9") else args[2]
        try:
            out = await self.conn.channel_create(f"Local/{number}@pstn", app=self.conn.app,
                                                 app_args="outbound", originator=caller)
        except AriError as exc:
            log.warning("baseline create failed: %s", exc)
            return
        task = asyncio.get_running_loop().create_task(self._end(caller, out["id"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end(self, caller: str, out: str) -> None:
        await asyncio.sleep(self.hold)
        for channel in (out, caller):
            try:
                await self.conn.channel_hangup(channel)
            except AriError:
                pass

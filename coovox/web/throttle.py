"""Slow down repeated failed sign-ins per user name and per address."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable


class SignInThrottle:
    """After ``free`` failures, each attempt waits ``base * 2**(n-free)`` s (capped).

    ``clock`` and ``sleep`` are injectable so tests run without waiting.
    """

    def __init__(self, free: int = 3, base: float = 0.5, cap: float = 8.0,
                 window: float = 900.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.clock = clock
        self.sleep = sleep
        self._fails: dict[str, list[float]] = defaultdict(list)

    def _count(self, key: str) -> int:
        now = self.clock()
        fails = [t for t in self._fails.get(key, []) if now - t < self.window]
        if fails:
            self._fails[key] = fails
        else:
            self._fails.pop(key, None)
        return len(fails)

    def delay(self, username: str, ip: str) -> float:
        n = max(self._count("u:" + username), self._count("ip:" + ip))
        if n < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** (n - self.free))

    async def wait(self, username: str, ip: str) -> float:
        """Sleep the delay due for this user name/address; returns it."""
        delay = self.delay(username, ip)
        if delay:
            await self.sleep(delay)
        return delay

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        self._fails["u:" + username].append(now)
        self._fails["ip:" + ip].append(now)

    def succeeded(self, username: str, ip: str) -> None:
        self._fails.pop("u:" + username, None)

"""Limit and slow down sign-in attempts per client address and per user name + address.

An attempt reserves its place *before* the password is checked (:meth:`SignInThrottle.begin`
checks and counts in one step, with no ``await`` in between), so parallel guesses are
counted as they arrive, not when their checks end. Per address and per user name +
address, failures in the last ``window`` seconds plus attempts in flight are limited;
beyond ``free`` of them each attempt waits ``base * 2**(n-free)`` s (capped). Keys hold the
address, so someone else's failures never slow a sign-in from another address.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_KEYS = 100_000  # past this many remembered keys, forget the expired ones


class Throttled(Exception):
    """Too many attempts: refuse at once; ``retry_after`` in whole seconds."""

    def __init__(self, retry_after: int, reason: str):
        super().__init__(reason)
        self.retry_after = max(1, retry_after)
        self.reason = reason


@dataclass
class Attempt:
    """A reserved sign-in attempt; end it with :meth:`SignInThrottle.finish`."""

    user_key: str
    ip_key: str
    delay: float
    done: bool = False


class SignInThrottle:
    """``per_address`` / ``per_user`` attempts per ``window``; ``concurrent`` at once per
    address. ``clock`` and ``sleep`` are injectable so tests run without waiting.
    """

    def __init__(self, free: int = 3, base: float = 0.5, cap: float = 8.0,
                 window: float = 900.0, per_address: int = 30, per_user: int = 10,
                 concurrent: int = 4, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.per_address, self.per_user, self.concurrent = per_address, per_user, concurrent
        self.clock = clock
        self.sleep = sleep
        self._fails: dict[str, list[float]] = defaultdict(list)
        self._inflight: dict[str, int] = defaultdict(int)

    @staticmethod
    def keys(username: str, ip: str) -> tuple[str, str]:
        return f"u:{username[:64]}@{ip}", f"ip:{ip}"

    def _count(self, key: str) -> int:
        now = self.clock()
        fails = [t for t in self._fails.get(key, ()) if now - t < self.window]
        if fails:
            self._fails[key] = fails
        else:
            self._fails.pop(key, None)
        return len(fails)

    def _retry_after(self, key: str) -> int:
        fails = self._fails.get(key)
        if not fails:
            return 1
        return math.ceil(fails[0] + self.window - self.clock())

    def _delay_for(self, n: int) -> float:
        # the exponent is bounded: 2 ** 1100 would overflow a float (OverflowError)
        return 0.0 if n < self.free else min(self.cap, self.base * 2 ** min(n - self.free, 40))

    def begin(self, username: str, ip: str) -> Attempt:
        """Reserve an attempt or raise :class:`Throttled` (no ``await``: atomic)."""
        if len(self._fails) > MAX_KEYS:
            self._forget_expired()
        ukey, ikey = self.keys(username, ip)
        n_user = self._count(ukey) + self._inflight.get(ukey, 0)
        n_ip = self._count(ikey) + self._inflight.get(ikey, 0)
        if n_ip >= self.per_address:
            raise Throttled(self._retry_after(ikey), "too many sign-in attempts from this "
                                                     "address")
        if n_user >= self.per_user:
            raise Throttled(self._retry_after(ukey), "too many sign-in attempts for this user")
        if self._inflight.get(ikey, 0) >= self.concurrent:
            raise Throttled(1, "too many sign-ins at once from this address")
        self._inflight[ukey] += 1
        self._inflight[ikey] += 1
        return Attempt(ukey, ikey, self._delay_for(max(n_user, n_ip)))

    async def wait(self, attempt: Attempt) -> float:
        """Sleep the delay due for this attempt; returns it."""
        if attempt.delay:
            await self.sleep(attempt.delay)
        return attempt.delay

    def finish(self, attempt: Attempt, *, failed: bool, succeeded: bool = False) -> None:
        """End an attempt: a failure is remembered, a success forgets the user's failures
        from this address (not the address's own count)."""
        if attempt.done:
            return
        attempt.done = True
        for key in (attempt.user_key, attempt.ip_key):
            left = self._inflight.get(key, 0) - 1
            if left > 0:
                self._inflight[key] = left
            else:
                self._inflight.pop(key, None)
        now = self.clock()
        if failed:
            self._fails[attempt.user_key].append(now)
            self._fails[attempt.ip_key].append(now)
        elif succeeded:
            self._fails.pop(attempt.user_key, None)

    def _forget_expired(self) -> None:
        for key in list(self._fails):
            self._count(key)

    # --- direct use (tests, tools) -------------------------------------------------------

    def delay(self, username: str, ip: str) -> float:
        """The delay a new attempt would wait now (failures only)."""
        ukey, ikey = self.keys(username, ip)
        return self._delay_for(max(self._count(ukey), self._count(ikey)))

    def failed(self, username: str, ip: str) -> None:
        """Remember one failed attempt."""
        ukey, ikey = self.keys(username, ip)
        now = self.clock()
        self._fails[ukey].append(now)
        self._fails[ikey].append(now)

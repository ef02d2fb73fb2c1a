"""Settings, the balance watcher and webhook delivery (no HTTP server types here).

The watcher hears CooVox's events on the event task (never on a call's path) and starts
each delivery as its own background task, so neither a call nor other plugins' events
wait for a slow receiver.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from coovox.api import Event, Field, Msg, get_setting, set_setting
from coovox_low_balance.models import Delivery

log = logging.getLogger(__name__)

NAMESPACE = "low_balance"
SETTINGS_TTL = 5.0  # seconds a saved setting of another node may take to be seen
MONEY = re.compile(r"-?\d{1,10}(\.\d{1,4})?")
EXTENSION = re.compile(r"[0-9A-Za-z*#+_-]{1,32}")
TRIGGERS = ("balance.low", "call.charged", "balance.corrected", "balance.recharged")
ALERTS = ("fraud.tripped",)  # forwarded as they are to the same webhook


class SettingsError(ValueError):
    """A setting refused, naming its field."""

    def __init__(self, field_name: str, message: Msg) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Settings:
    """Where to post, and the threshold of each extension (``per_extension`` wins)."""

    url: str = ""
    threshold: Decimal | None = None
    per_extension: dict[str, Decimal] = field(default_factory=dict)

    def threshold_for(self, extension: str) -> Decimal | None:
        return self.per_extension.get(extension, self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url,
                "threshold": None if self.threshold is None else str(self.threshold),
                "per_extension": {k: str(v) for k, v in sorted(self.per_extension.items())}}


def _money(value: Any, name: str) -> Decimal:
    text = str(value).strip()
    if not MONEY.fullmatch(text):
        raise SettingsError(name, Msg("%(field)s must be an amount such as 5 or 2.50",
                                      field=Field(name)))
    return Decimal(text)


def parse_settings(data: dict[str, Any]) -> Settings:
    """Settings from a form or a JSON body; raises :class:`SettingsError`."""
    url = str(data.get("url") or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in url \
                or len(url) > 500:
            raise SettingsError("url", Msg("%(field)s must be an http:// or https:// address",
                                           field=Field("url")))
    raw = data.get("threshold")
    threshold = None if raw in (None, "") else _money(raw, "threshold")
    per: dict[str, Decimal] = {}
    given = data.get("per_extension") or {}
    if isinstance(given, str):  # the form's lines: "100 = 5.00"
        pairs = [line.split("=", 1) for line in given.splitlines() if line.strip()]
        if any(len(p) != 2 for p in pairs):
            raise SettingsError("per_extension", Msg(
                "%(field)s: write one extension = amount per line", field=Field("per_extension")))
        given = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(given, dict):
        raise SettingsError("per_extension", Msg(
            "%(field)s: write one extension = amount per line", field=Field("per_extension")))
    for ext, amount in given.items():
        if not EXTENSION.fullmatch(str(ext)):
            raise SettingsError("per_extension", Msg("%(extension)s is not an extension number",
                                                     extension=str(ext)[:32]))
        per[str(ext)] = _money(amount, "per_extension")
    return Settings(url, threshold, per)


async def load_settings() -> Settings:
    stored = await get_setting(NAMESPACE, "settings", None)
    return parse_settings(stored) if isinstance(stored, dict) else Settings()


async def save_settings(settings: Settings) -> None:
    await set_setting(NAMESPACE, "settings", settings.as_dict())


@dataclass
class Watcher:
    """Watches balances through events; posts a webhook when one falls below its threshold.

    An extension is notified once when it falls below; it is armed again when its balance
    is back at or above the threshold (a recharge).
    """

    billing: Callable[[], Any]  # the billing read API, or None while billing is off
    clock: Callable[[], datetime]
    tries: int = 4
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)
    timeout: float = 5.0
    known: dict[str, Decimal] = field(default_factory=dict)  # balance estimates
    below: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _settings: Settings | None = None
    _expires: float = 0.0

    async def settings(self) -> Settings:
        if self._settings is None or time.monotonic() >= self._expires:
            self._settings = await load_settings()
            self._expires = time.monotonic() + SETTINGS_TTL
        return self._settings

    def forget_settings(self) -> None:
        """Read the settings again on the next event (they were just saved here)."""
        self._settings = None

    async def hear(self, event: Event) -> None:
        if event.name in ALERTS:
            await self.alert(event)
            return
        if event.name not in TRIGGERS:
            return
        data, ext = event.data, str(event.data.get("extension", ""))
        settings = await self.settings()
        threshold = settings.threshold_for(ext)
        if threshold is None or not settings.url:
            return
        if event.name in ("balance.recharged", "balance.corrected"):
            balance: Decimal | None = Decimal(data["balance"])
        elif event.name == "call.charged":
            estimate = self.known.get(ext)
            if estimate is not None:
                estimate -= Decimal(data["amount"])
                self.known[ext] = estimate
                if estimate >= threshold or ext in self.below:
                    return  # clearly above, or already told: no read
            balance = await self._read(ext)
        else:  # balance.low: the caller hears the warning now
            balance = await self._read(ext)
        if balance is not None:
            self.check(ext, balance, threshold, settings.url, event.name)

    async def _read(self, extension: str) -> Decimal | None:
        billing = self.billing()
        return None if billing is None else await billing.balance(extension)

    def check(self, ext: str, balance: Decimal, threshold: Decimal, url: str,
              trigger: str) -> None:
        self.known[ext] = balance
        if balance >= threshold:
            self.below.discard(ext)
            return
        if ext in self.below:
            return
        self.below.add(ext)
        self._start(ext, self.deliver(ext, balance, threshold, url, trigger))

    async def alert(self, event: Event) -> None:
        """Forward an alert (the fraud guard tripped) to the webhook, if one is set."""
        settings = await self.settings()
        if not settings.url:
            return
        ext = str(event.data.get("extension", ""))
        body = {"event": event.name, **{k: str(v) for k, v in event.data.items()},
                "time": event.at.isoformat()}
        self._start(ext, self.post(ext, settings.url, body, balance="", threshold=""))

    def _start(self, ext: str, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"low-balance-{ext}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, ext: str, balance: Decimal, threshold: Decimal, url: str,
                      trigger: str) -> Delivery:
        """POST the low-balance webhook (see :meth:`post`)."""
        body = {"event": "balance.low", "extension": ext, "balance": str(balance),
                "threshold": str(threshold), "trigger": trigger,
                "time": self.clock().isoformat()}
        return await self.post(ext, url, body, balance=str(balance), threshold=str(threshold))

    async def post(self, ext: str, url: str, body: dict[str, Any], *, balance: str,
                   threshold: str) -> Delivery:
        """POST ``body``, retrying network errors and 5xx with backoff; recorded."""
        now = self.clock()
        row = await Delivery.create(at=now, extension=ext, balance=balance,
                                    threshold=threshold,
                                    trigger=str(body.get("trigger") or body["event"])[:32],
                                    url=url)
        status, error = "failed", ""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for attempt in range(1, self.tries + 1):
                row.attempts = attempt
                try:
                    async with session.post(url, json=body) as resp:
                        if resp.status < 300:
                            status, error = "delivered", ""
                            break
                        error = f"HTTP {resp.status}"
                        if resp.status < 500:
                            break  # the receiver refuses it: trying again will not help
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500]
                if attempt < self.tries:
                    await asyncio.sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
        row.status, row.error = status, error
        await row.save(update_fields=["status", "attempts", "error"])
        if status != "delivered":
            log.warning("low-balance webhook for %s failed after %d tries: %s", ext,
                        row.attempts, error)
        return row

    async def idle(self) -> None:
        """Wait for the deliveries in progress (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def drain(self, timeout: float = 10.0) -> None:
        try:
            await asyncio.wait_for(self.idle(), timeout)
        except TimeoutError:
            for task in list(self.tasks):
                task.cancel()


async def recent_deliveries(limit: int = 50) -> list[Delivery]:
    return await Delivery.all().order_by("-id").limit(limit)

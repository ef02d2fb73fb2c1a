"""The metrics: one registry per running CooVox, updated from events and two probes.

Events arrive on CooVox's event task (never on a call's path); :meth:`Metrics.hear` only
increments numbers.  Two background tasks measure the event loop's lag and probe the
database; a logging handler counts database errors the application logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from coovox.api import Coovox, Event, get_setting

log = logging.getLogger(__name__)

LAG_INTERVAL = 0.5  # seconds between two event-loop lag measures
PROBE_INTERVAL = 15.0  # seconds between two database probes
DB_MODULES = ("sqlite3", "aiosqlite", "asyncpg", "tortoise")  # whose exceptions are DB errors
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _money(text: Any) -> float:
    try:
        return float(Decimal(str(text)))
    except (InvalidOperation, ValueError):
        return 0.0


class Metrics:
    """Every metric of the README, in its own registry (never the process-global one)."""

    def __init__(self, coovox: Coovox) -> None:
        self.coovox = coovox
        r = self.registry = CollectorRegistry()
        self.calls = Counter("coovox_calls", "Call attempts ended, by status", ["status"],
                             registry=r)
        self.started = Counter("coovox_calls_started", "Calls that passed the gates",
                               registry=r)
        self.answered = Counter("coovox_calls_answered", "Calls answered by the far end",
                                registry=r)
        self.cuts = Counter("coovox_calls_cut", "Calls cut by a cap or a plugin",
                            ["reason"], registry=r)
        self.live = Gauge("coovox_live_calls", "Calls started and not ended yet", registry=r)
        self.charges = Counter("coovox_charges", "Live charges billing took", registry=r)
        self.charged = Counter("coovox_charged_money", "Money charged live (currency units)",
                               registry=r)
        self.recharges = Counter("coovox_recharges", "Recharges of extensions", registry=r)
        self.recharged = Counter("coovox_recharged_money", "Money recharged (currency units)",
                                 registry=r)
        self.corrections = Counter("coovox_corrections", "Balance corrections", registry=r)
        self.low = Counter("coovox_low_balance_warnings", "Callers warned of a low balance",
                           registry=r)
        self.sign_ins = Counter("coovox_sign_ins", "Sign-ins on the web UI, by role",
                                ["role"], registry=r)
        self.ari = Gauge("coovox_ari_connected", "1 when the ARI connection is up",
                         registry=r)
        self.ari.set_function(self._ari_connected)
        self.lag = Gauge("coovox_event_loop_lag_seconds", "The event loop's last lag",
                         registry=r)
        self.lags = Histogram("coovox_event_loop_lag_distribution_seconds",
                              "The event loop's lag, measured every 0.5 s",
                              buckets=LAG_BUCKETS, registry=r)
        self.db_up = Gauge("coovox_database_up", "1 when the last database probe worked",
                           registry=r)
        self.db_errors = Counter("coovox_database_errors", "Database errors, by source "
                                 "(probe: our probe failed; log: the application logged one)",
                                 ["source"], registry=r)
        self.dropped = Gauge("coovox_events_dropped", "Events dropped (a listener far behind)",
                             registry=r)
        self.dropped.set_function(lambda: coovox.events.dropped)
        self._live: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._handler = _DatabaseErrors(lambda: self.db_errors.labels("log").inc())
        self._on: dict[str, Callable[[dict[str, Any]], None]] = {
            "call.started": self._started, "call.answered": lambda d: self.answered.inc(),
            "call.cut": lambda d: self.cuts.labels(d["reason"]).inc(),
            "call.ended": self._ended, "call.charged": self._charged,
            "balance.recharged": self._recharged,
            "balance.corrected": lambda d: self.corrections.inc(),
            "balance.low": lambda d: self.low.inc(),
            "user.signed_in": lambda d: self.sign_ins.labels(d["role"]).inc(),
        }

    # --- events ---------------------------------------------------------------------------

    def hear(self, event: Event) -> None:
        on = self._on.get(event.name)
        if on is not None:
            on(dict(event.data))

    def _started(self, data: dict[str, Any]) -> None:
        self.started.inc()
        self._live.add(data["call_id"])
        self.live.set(len(self._live))

    def _ended(self, data: dict[str, Any]) -> None:
        self.calls.labels(data["status"]).inc()
        self._live.discard(data["call_id"])
        self.live.set(len(self._live))

    def _charged(self, data: dict[str, Any]) -> None:
        self.charges.inc()
        self.charged.inc(_money(data["amount"]))

    def _recharged(self, data: dict[str, Any]) -> None:
        self.recharges.inc()
        self.recharged.inc(_money(data["amount"]))

    def _ari_connected(self) -> float:
        status = self.coovox.services.get("ari_status")
        return 1.0 if callable(status) and status().get("connected") else 0.0

    # --- probes ------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.measure_lag(), name="prometheus-lag"),
                       loop.create_task(self._probe_database(), name="prometheus-db")]
        logging.getLogger().addHandler(self._handler)

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def measure_lag(self, interval: float = LAG_INTERVAL) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(interval)
            lag = max(0.0, time.monotonic() - before - interval)
            self.lag.set(lag)
            self.lags.observe(lag)

    async def _probe_database(self, interval: float = PROBE_INTERVAL) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(interval)

    async def probe(self) -> bool:
        """Read a setting: 1 in ``coovox_database_up`` when it works, else count an error."""
        try:
            await get_setting("prometheus", "probe")
        except Exception as exc:  # whatever the driver raises: the database is not usable
            log.debug("database probe failed: %s", exc)
            self.db_up.set(0)
            self.db_errors.labels("probe").inc()
            return False
        self.db_up.set(1)
        return True

    def text(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class _DatabaseErrors(logging.Handler):
    """Counts log records at ERROR or above that carry a database driver's exception."""

    def __init__(self, count: Callable[[], None]) -> None:
        super().__init__(logging.ERROR)
        self.count = count

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if type(exc).__module__.split(".")[0] in DB_MODULES:
                self.count()
                return
            exc = exc.__cause__ or exc.__context__

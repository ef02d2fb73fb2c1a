"""``coovox simulate``: the product against the built-in ARI double, with demo calls.

Starts an :class:`~coovox.sim.AriDouble` on 127.0.0.1, points the configuration at it
(``simulation=True``) and keeps everything in its OWN data folder (``--data-dir``, default
``./coovox-sim-data``: SQLite database, licence store, secret key), never in the data of
``coovox run``.  It seeds demo extensions 100-104, a trunk ``Local/{number}@pstn``, a dial
rule (prefix ``9``, pattern ``.``) in ``DialPlan1`` and shows billing at work: billing is
switched on (the simulation's own 30-day trial), a demo rate covers the demo numbers,
the extensions are recharged, and Eve (104) has so little money that her first call is
cut when it runs out and her later calls are refused.  Then it runs the web UI (``--port``)
and the Stasis app as ``coovox run`` does, placing a demo call every ``--interval``
seconds.  On Ctrl-C or SIGTERM the demo callers hang up and every call record is finished
(and billed) before the program ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import signal
from decimal import Decimal
from pathlib import Path

from coovox.context import Coovox
from coovox.hooktypes import Subparsers

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = "./coovox-sim-data"
DEMO_EXTENSIONS = (("100", "Alice"), ("101", "Bob"), ("102", "Carol"), ("103", "Dave"),
                   ("104", "Eve"))
DEMO_TRUNK = ("pstn", "Local/{number}@pstn")
DEMO_RULE = "DemoOut"
# Last digit of the number -> the double's far end: 0 answer, 1 busy, 2 congestion,
# 3 ring forever (dial timeout), 4 answer and hang up after 5 s, 5 answer and wait,
# 6 ring 2 s / answer / hang up after 3 s.
OUTCOME_WEIGHTS = {"0": 4, "1": 1, "2": 1, "3": 1, "4": 3, "5": 3, "6": 3}
# Billing of the demo: one rate for the demo numbers (9 + 7 digits), 0.10 for the first
# 10 s then 0.05 every 5 s; what each extension's balance is topped up to at each start.
DEMO_RATE = {"remark": "Demo: 9 + 7 digits", "prefix": "9", "length": 8,
             "initial_cost": "0.1000", "initial_time": 10, "rate": "0.0500", "unit": 5,
             "start_time": "00:00:00", "end_time": "00:00:00", "extensions": "all",
             "active": True}
DEMO_BALANCES = {"100": Decimal(20), "101": Decimal(20), "102": Decimal(20),
                 "103": Decimal(20), "104": Decimal("0.2")}
SHORT_OF_MONEY = "104"  # Eve: her first call is cut when her 0.20 runs out
CLOSE_TIMEOUT = 15.0  # seconds to wait for the calls to end at exit


def add_command(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="run the product against a built-in ARI double with demo calls",
        description="Run CooVox against a built-in ARI double (no Asterisk needed), with "
                    "demo extensions, a trunk, a dial rule, billing switched on, a rate, "
                    "recharged accounts and a stream of demo calls. Its data is kept apart "
                    "from `coovox run`'s, in --data-dir.")
    p.add_argument("--interval", type=float, default=2.0,
                   help="seconds between demo calls (default 2)")
    p.add_argument("--calls", type=int, default=0,
                   help="stop placing calls after this many (default: until Ctrl-C)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help=f"folder of the simulation's database, licence store and key "
                        f"(default {DEFAULT_DATA_DIR}; never the data of `coovox run`)")
    p.add_argument("--port", type=int, default=None,
                   help="port of the web UI (default: web_port, 8080)")
    p.add_argument("--ari-port", type=int, default=0,
                   help="port of the ARI double on 127.0.0.1 (default: any free port)")
    p.set_defaults(handler=cmd_simulate, needs_db=False)


async def seed_demo() -> None:
    """Demo configuration; existing rows with the same names are left as they are."""
    from coovox.plugins.calls.models import DialPermission, DialRule, Extension, Trunk

    for number, name in DEMO_EXTENSIONS:
        await Extension.get_or_create(number=number, defaults={"name": name})
    await Trunk.get_or_create(name=DEMO_TRUNK[0], defaults={"dial_string": DEMO_TRUNK[1]})
    await DialRule.get_or_create(name=DEMO_RULE, defaults={
        "prefix": "9", "pattern": ".", "trunks": [DEMO_TRUNK[0]]})
    perm, _ = await DialPermission.get_or_create(name="DialPlan1")
    if DEMO_RULE not in (perm.dial_rules or []):
        perm.dial_rules = [*(perm.dial_rules or []), DEMO_RULE]
        await perm.save()


async def seed_billing(coovox: Coovox) -> bool:
    """Billing at work: switch billing on (the simulation's trial), the demo rate, billing
    on for the demo extensions and their balances topped up.  False when billing cannot
    be used (plugin disabled, trial of the simulation's licence store expired)."""
    if not coovox.plugins.is_enabled("billing"):
        log.warning("SIMULATION: the billing plugin is disabled: calls are not billed")
        return False
    from coovox.plugins.billing import services
    from coovox.plugins.billing.models import Rate
    from coovox.plugins.billing.validation import BillingError

    try:
        await services.update_settings({"active": True}, plugins=coovox.plugins)
    except BillingError as exc:
        log.warning("SIMULATION: billing stays off: %s (delete %s to start a new trial)",
                    exc.message, coovox.config.licence_dir)
        return False
    if not await Rate.filter(remark=DEMO_RATE["remark"]).exists():
        await services.create_rate(dict(DEMO_RATE))
    numbers = [n for n, _ in DEMO_EXTENSIONS]
    await services.update_accounts(numbers, {"enabled": True})
    accounts = {a["extension"]: a for a in (await services.list_accounts({}, 0, 1000))[0]}
    now = coovox.now()
    for number, target in DEMO_BALANCES.items():
        balance = Decimal(accounts.get(number, {}).get("balance", "0"))
        if balance < target:
            await services.recharge([number], str(target - balance), "simulation", now)
    return True


def demo_number(rng: random.Random, outcome: str | None = None) -> str:
    """``9`` + six random digits + the digit picking the far end's behaviour."""
    digits = list(OUTCOME_WEIGHTS)
    last = outcome or rng.choices(digits, weights=[OUTCOME_WEIGHTS[d] for d in digits])[0]
    return "9" + "".join(rng.choice("0123456789") for _ in range(6)) + last


async def demo_calls(double, interval: float, limit: int, rng: random.Random) -> None:
    """Place demo calls; callers of calls that would last forever hang up after a while.

    The first call is Eve's: answered and never hung up by her, it runs until her money
    runs out and billing cuts it."""
    placed = 0
    loop = asyncio.get_running_loop()
    while not limit or placed < limit:
        if placed == 0:
            extension, number, patience = SHORT_OF_MONEY, demo_number(rng, "5"), 120.0
        else:
            extension = rng.choice(DEMO_EXTENSIONS)[0]
            number, patience = demo_number(rng), rng.uniform(8, 25)
        try:
            caller = await double.place_call(extension, number)
        except Exception as exc:  # the app is not connected yet: try again later
            log.info("demo call not placed: %s", exc)
        else:
            placed += 1
            loop.call_later(patience, _hang_up_later, double, caller)
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))


def _hang_up_later(double, caller: str) -> None:
    async def hang_up() -> None:
        if caller in double.channels:
            try:
                await double.phone_hangup(caller)
            except Exception:
                pass

    asyncio.get_running_loop().create_task(hang_up())


async def close_calls(double, timeout: float = CLOSE_TIMEOUT) -> int:
    """At exit: every demo caller hangs up, then wait until the app has finished (and
    billed) every call record.  Returns the number of records still active (0)."""
    from coovox.plugins.calls.models import Call

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for channel in list(double.channels.values()):
            if channel.kind == "caller":
                try:
                    await double.phone_hangup(channel.id)
                except Exception:  # already gone
                    pass
        active = await Call.filter(status="active").count()
        if not active and not any(c.kind == "caller" for c in double.channels.values()):
            return 0
        if loop.time() >= deadline:
            log.warning("SIMULATION: %d call(s) still active after %g s", active, timeout)
            return active
        await asyncio.sleep(0.2)


def simulation_config(config, args: argparse.Namespace, double, password: str):
    """The configuration of the simulation: its own data folder (database, licence store,
    key), the double's address, ``--port``."""
    data = Path(getattr(args, "data_dir", None) or DEFAULT_DATA_DIR)
    port = args.port if getattr(args, "port", None) else config.web_port
    return config.replace(
        simulation=True, data_dir=str(data),
        database_url=f"sqlite://{data / 'coovox.sqlite3'}",
        licence_dir=str(data / "licence"), web_port=port,
        ari_url=double.url, ari_user=double.user, ari_password=password)


async def cmd_simulate(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.runner import ask_first_admin, start
    from coovox.sim import AriDouble

    cfg = coovox.config
    password = secrets.token_urlsafe(16)
    double = AriDouble(app=cfg.ari_app, user=cfg.ari_user or "coovox", password=password)
    await double.start("127.0.0.1", getattr(args, "ari_port", 0) or 0)
    coovox.config = cfg = simulation_config(cfg, args, double, password)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    runner = None
    try:
        runner = await start(coovox, port_setting="--port")
        await seed_demo()
        billed = await seed_billing(coovox)
        log.info("SIMULATION: web UI on http://%s:%s/ , data in %s, ARI double on %s%s",
                 cfg.web_host, cfg.web_port, cfg.data_dir, double.url,
                 ", billing on (Eve, 104, runs out of money)" if billed else "")
        await ask_first_admin(stop)
        feeder = loop.create_task(demo_calls(double, args.interval, args.calls,
                                             random.Random()))
        waiter = loop.create_task(stop.wait())
        await asyncio.wait({feeder, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if feeder.done() and not stop.is_set():
            await asyncio.sleep(args.interval)  # let the last demo call get going
        for task in (feeder, waiter):
            task.cancel()
        await asyncio.gather(feeder, waiter, return_exceptions=True)
        log.info("SIMULATION: stopping: the demo callers hang up")
        await close_calls(double)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
        if runner is not None:
            await runner.cleanup()
            await coovox.close()
        await double.stop()
    return 0

"""``coovox simulate``: the product against the built-in ARI double, with demo calls.

Starts an :class:`~coovox.sim.AriDouble` on 127.0.0.1, points the configuration at it
(``simulation=True``), seeds demo extensions 100-104, a trunk ``Local/{number}@pstn``, a
dial rule (prefix ``9``, pattern ``.``) in ``DialPlan1``, then runs the web UI and the
Stasis app as ``coovox run`` does, placing a demo call every ``--interval`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import signal

from coovox.context import Coovox

log = logging.getLogger(__name__)

DEMO_EXTENSIONS = (("100", "Alice"), ("101", "Bob"), ("102", "Carol"), ("103", "Dave"),
                   ("104", "Eve"))
DEMO_TRUNK = ("pstn", "Local/{number}@pstn")
DEMO_RULE = "DemoOut"
# Last digit of the number -> the double's far end: 0 answer, 1 busy, 2 congestion,
# 3 ring forever (dial timeout), 4 answer and hang up after 5 s, 5 answer and wait,
# 6 ring 2 s / answer / hang up after 3 s.
OUTCOME_WEIGHTS = {"0": 4, "1": 1, "2": 1, "3": 1, "4": 3, "5": 3, "6": 3}


def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run the product against a built-in ARI double with demo calls")
    p.add_argument("--interval", type=float, default=2.0,
                   help="seconds between demo calls (default 2)")
    p.add_argument("--calls", type=int, default=0,
                   help="stop after this many demo calls (default: run until Ctrl-C)")
    p.add_argument("--ari-port", type=int, default=0,
                   help="port of the ARI double on 127.0.0.1 (default: any free port)")
    p.set_defaults(handler=cmd_simulate, needs_db=False)


async def seed_demo() -> None:
    """Demo configuration; existing rows with the same names are left as they are."""
    from coovox.calls.models import DialPermission, DialRule, Extension, Trunk

    for number, name in DEMO_EXTENSIONS:
        await Extension.get_or_create(number=number, defaults={"name": name})
    await Trunk.get_or_create(name=DEMO_TRUNK[0], defaults={"dial_string": DEMO_TRUNK[1]})
    await DialRule.get_or_create(name=DEMO_RULE, defaults={
        "prefix": "9", "pattern": ".", "trunks": [DEMO_TRUNK[0]]})
    perm, _ = await DialPermission.get_or_create(name="DialPlan1")
    if DEMO_RULE not in (perm.dial_rules or []):
        perm.dial_rules = [*(perm.dial_rules or []), DEMO_RULE]
        await perm.save()


def demo_number(rng: random.Random) -> str:
    """``9`` + six random digits + the digit picking the far end's behaviour."""
    digits = list(OUTCOME_WEIGHTS)
    last = rng.choices(digits, weights=[OUTCOME_WEIGHTS[d] for d in digits])[0]
    return "9" + "".join(rng.choice("0123456789") for _ in range(6)) + last


async def demo_calls(double, interval: float, limit: int, rng: random.Random) -> None:
    """Place demo calls; callers of calls that would last forever hang up after a while."""
    placed = 0
    loop = asyncio.get_running_loop()
    while not limit or placed < limit:
        extension = rng.choice(DEMO_EXTENSIONS)[0]
        number = demo_number(rng)
        try:
            caller = await double.place_call(extension, number)
        except Exception as exc:  # the app is not connected yet: try again later
            log.info("demo call not placed: %s", exc)
        else:
            placed += 1
            loop.call_later(rng.uniform(8, 25), _hang_up_later, double, caller)
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))


def _hang_up_later(double, caller: str) -> None:
    async def hang_up() -> None:
        if caller in double.channels:
            try:
                await double.phone_hangup(caller)
            except Exception:
                pass

    asyncio.get_running_loop().create_task(hang_up())


async def cmd_simulate(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.runner import NO_ADMIN_LINE, first_admin, start
    from coovox.sim import AriDouble

    cfg = coovox.config
    password = secrets.token_urlsafe(16)
    double = AriDouble(app=cfg.ari_app, user=cfg.ari_user or "coovox", password=password)
    await double.start("127.0.0.1", args.ari_port)
    coovox.config = cfg.replace(simulation=True, ari_url=double.url,
                                ari_user=double.user, ari_password=password)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    runner = None
    try:
        runner = await start(coovox)
        await seed_demo()
        try:
            await first_admin()
        except (EOFError, KeyboardInterrupt):
            log.warning(NO_ADMIN_LINE)
        log.info("SIMULATION: web UI on http://%s:%s/ , ARI double on %s",
                 cfg.web_host, cfg.web_port, double.url)
        feeder = loop.create_task(demo_calls(double, args.interval, args.calls,
                                             random.Random()))
        waiter = loop.create_task(stop.wait())
        await asyncio.wait({feeder, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if feeder.done() and not stop.is_set():
            await asyncio.sleep(args.interval)  # let the last demo call get going
        for task in (feeder, waiter):
            task.cancel()
        await asyncio.gather(feeder, waiter, return_exceptions=True)
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

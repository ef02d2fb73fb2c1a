"""Configuration the call benchmarks run with, written through the product's models.

- trunk ``carrier`` = ``Local/{number}@pstn``; dial rule ``bench``: prefix ``9``, pattern
  ``X.``; permission ``DialPlan1``;
- rates (all extensions): prefix ``9``: 0.0100 per 6 s unit (the metered load);
  prefix ``98``: 0.0100 per 1 s unit (the cut-off calls, longest prefix wins);
- ``LOAD_EXT`` extensions 1000..1399 with a large balance (background / rate calls);
- cut-off extensions 600000.. each with exactly ``CUT_UNITS`` units of money, so every
  cut-off call is cut when its boundary ``CUT_UNITS`` s falls due;
- ``BENCH_FRAUD=1`` in the environment: the fraud guard on, with limits never reached.
"""

from __future__ import annotations

import os
from decimal import Decimal

from coovox.config import load_config
from coovox.context import Coovox
from coovox.plugin_host import PluginHost

LOAD_EXT = [str(1000 + i) for i in range(400)]
CUT_BASE = 600000
CUT_UNITS = 2
CUT_RATE = Decimal("0.0100")


def cut_extension(i: int) -> str:
    return str(CUT_BASE + i)


async def open_product(env: dict[str, str], *, startup: bool = False) -> Coovox:
    app = Coovox(config=load_config(environ=env), plugins=PluginHost())
    await app.open(startup=startup)
    return app


async def seed(env: dict[str, str], n_cut: int) -> None:
    from coovox.models import set_setting
    from coovox.plugins.billing.models import Account, Rate
    from coovox.plugins.calls.models import DialPermission, DialRule, Extension, Trunk

    app = await open_product(env)
    try:
        await Trunk.create(name="carrier", dial_string="Local/{number}@pstn")
        await DialRule.create(name="bench", prefix="9", pattern="X.", trunks=["carrier"])
        await DialPermission.get_or_create(name="DialPlan1", defaults={"dial_rules": ["bench"]})
        await DialPermission.filter(name="DialPlan1").update(dial_rules=["bench"])
        numbers = LOAD_EXT + [cut_extension(i) for i in range(n_cut)]
        await Extension.bulk_create([Extension(number=n, name=f"Bench {n}") for n in numbers],
                                    batch_size=1000)
        await Account.bulk_create(
            [Account(extension=n, enabled=True, balance=Decimal("1000000")) for n in LOAD_EXT]
            + [Account(extension=cut_extension(i), enabled=True, balance=CUT_RATE * CUT_UNITS)
               for i in range(n_cut)], batch_size=1000)
        await Rate.create(remark="bench load", prefix="9", rate=Decimal("0.0100"), unit=6,
                          all_extensions=True)
        await Rate.create(remark="bench cut-off", prefix="98", rate=CUT_RATE, unit=1,
                          all_extensions=True)
        await set_setting("billing", "active", True)
        if os.environ.get("BENCH_FRAUD"):  # the fraud guard on, every limit counted and
            # checked but never reached: the guard's cost on admission and charges
            from coovox.plugins.billing import fraud

            await fraud.update_global({
                "guard": True, "spend_hour": "1000000", "spend_day": "1000000",
                "calls_per_hour": 100000, "concurrent_calls": 10000,
                "blocked_prefixes": ["900"], "trip_attempts": 5})
    finally:
        await app.close()

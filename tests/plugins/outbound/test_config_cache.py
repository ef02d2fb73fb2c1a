"""The outbound configuration kept in memory: this process's edits at once, another node's
within the TTL; calls routed from it."""

from __future__ import annotations

from coovox.plugins.calls.models import DialPermission, DialRule, Extension, Trunk
from coovox.plugins.outbound import cache as config_cache
from coovox.plugins.outbound.cache import ConfigCache
from tests.support.call_app import finished


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _seed() -> None:
    await Trunk.create(name="pstn", dial_string="Local/{number}@pstn")
    await DialRule.create(name="Out", prefix="9", pattern="X.", trunks=["pstn"])
    perm, _ = await DialPermission.get_or_create(name="DialPlan1")  # made at start
    perm.dial_rules = ["Out"]
    await perm.save()
    await Extension.create(number="100", name="Alice")


async def test_an_edit_in_this_process_is_used_at_once(coovox):
    await _seed()
    cache = ConfigCache(clock=Clock())
    assert (await cache.get()).extensions["100"].name == "Alice"
    ext = await Extension.get(number="100")
    ext.name = "Alice B."
    await ext.save()  # the web pages and the API save models like this
    assert (await cache.get()).extensions["100"].name == "Alice B."
    await (await Trunk.get(name="pstn")).delete()
    assert "pstn" not in (await cache.get()).trunks


async def test_an_edit_by_another_node_is_used_after_the_ttl(coovox):
    await _seed()
    clock = Clock()
    cache = ConfigCache(clock=clock, ttl=2.0)
    assert (await cache.get()).extensions["100"].enabled
    # another node shares the database: its UPDATE sends no signal to this process
    await Extension.filter(number="100").update(enabled=False)
    clock.now += 1.9
    assert (await cache.get()).extensions["100"].enabled  # kept for up to 2 s
    clock.now += 0.2
    assert not (await cache.get()).extensions["100"].enabled


async def test_calls_arriving_together_share_one_read(coovox, monkeypatch):
    await _seed()
    reads = []
    real = config_cache.load

    async def counted():
        reads.append(1)
        return await real()

    monkeypatch.setattr(config_cache, "load", counted)
    cache = ConfigCache(clock=Clock())
    import asyncio

    snapshots = await asyncio.gather(*(cache.get() for _ in range(20)))
    assert len(reads) == 1 and all(s is snapshots[0] for s in snapshots)


async def test_a_disabled_trunk_is_not_dialled_by_the_next_call(app, double):
    """Through the web API's path (a model save), the very next call sees the change."""
    from coovox.sim import FarEnd

    for number in ("555000", "555001"):
        double.far_end(number, FarEnd(hangup_after=0.2))
    await double.place_call("100", "9555000")
    (first,) = await finished()
    assert first.trunk == "pstn"
    trunk = await Trunk.get(name="pstn")
    trunk.enabled = False
    await trunk.save()
    await double.place_call("100", "9555001")
    rows = await finished(count=2)
    second = next(r for r in rows if r.id != first.id)
    assert (second.status, second.reason) == ("refused", "no route")


async def test_a_large_table_of_extensions_is_looked_up_per_call(coovox, monkeypatch):
    """Beyond FULL_MAX extensions (a large CSV import) the snapshot does not re-read them
    all every TTL: each calling extension is read on its own, with the same rules."""
    await _seed()
    await Extension.create(number="101", name="Bob")
    monkeypatch.setattr(config_cache, "FULL_MAX", 1)
    clock = Clock()
    cache = ConfigCache(clock=clock, ttl=2.0)
    snap = await cache.get("100")
    assert snap.partial and list(snap.extensions) == ["100"] and "pstn" in snap.trunks
    assert (await cache.get("999")).extensions == {}
    ext = await Extension.get(number="100")
    ext.name = "Alice B."
    await ext.save()  # this process: at once
    assert (await cache.get("100")).extensions["100"].name == "Alice B."
    await Extension.filter(number="100").update(enabled=False)  # another node: after the TTL
    clock.now += 1.9
    assert (await cache.get("100")).extensions["100"].enabled
    clock.now += 0.2
    assert not (await cache.get("100")).extensions["100"].enabled


async def test_after_half_the_ttl_calls_do_not_wait_for_the_re_read(coovox, monkeypatch):
    """Another node's edits are read in the background from half the TTL on: a call gets
    the snapshot at once, the next ones the re-read one."""
    import asyncio

    await _seed()
    clock = Clock()
    cache = ConfigCache(clock=clock, ttl=2.0)
    assert (await cache.get()).extensions["100"].enabled
    await Extension.filter(number="100").update(enabled=False)  # another node
    real, gate = config_cache.load, asyncio.Event()

    async def slow():
        await gate.wait()
        return await real()

    monkeypatch.setattr(config_cache, "load", slow)
    clock.now += 1.5
    snap = await asyncio.wait_for(cache.get(), 1)  # the re-read waits on `gate`: not us
    assert snap.extensions["100"].enabled
    gate.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not (await cache.get()).extensions["100"].enabled:
            break
    assert not (await cache.get()).extensions["100"].enabled
    await cache.close()

"""Issue 14.3: sign-in throttling that holds under parallel attempts; trusted proxies."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import aiohttp
import pytest

from coovox import users
from coovox.config import ConfigError, load_config
from coovox.models import WebLog
from coovox.web.guard import TrustedProxies
from coovox.web.keys import THROTTLE_KEY
from coovox.web.throttle import SignInThrottle, Throttled
from tests.support.web import ADMIN_PASSWORD, csrf_of

OTHER_ADDRESS = "127.0.0.2"  # any 127.x address reaches the test server on Linux


class CountingHasher:
    def __init__(self, real):
        self.real = real
        self.verified = 0

    def hash(self, password):
        return self.real.hash(password)

    def verify(self, password_hash, password):
        self.verified += 1
        return self.real.verify(password_hash, password)


async def _form_post(session, base, path, fields, headers=None):
    page = await session.get(base + "/sign-in", headers=headers)
    fields = dict(fields, csrf_token=csrf_of(await page.text()))
    return await session.post(base + path, data=fields, headers=headers,
                              allow_redirects=False)


async def test_parallel_guesses_are_counted_before_the_check(client, admin_user, monkeypatch):
    counter = CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", counter)
    waits: list[float] = []

    async def quick_sleep(seconds):
        waits.append(seconds)
        await asyncio.sleep(0)

    throttle = client.server.app[THROTTLE_KEY]  # the running app's (fresh) throttle
    throttle.sleep = quick_sleep
    csrf = csrf_of(await (await client.get("/sign-in")).text())

    async def guess(i):
        resp = await client.post("/sign-in", data={"username": "admin", "password": f"guess-{i}",
                                                   "csrf_token": csrf}, allow_redirects=False)
        return resp.status, resp.headers.get("Retry-After"), await resp.text()

    async def legit():
        # someone else, from another address, while the guesses run
        # (at most `concurrent` guesses are checked at once: how many reach the check
        # depends on how fast the others arrive, so start at the first)
        async with asyncio.timeout(30):
            while counter.verified < 1:
                await asyncio.sleep(0.005)
        started = time.perf_counter()
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=(OTHER_ADDRESS, 0)),
                cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            resp = await _form_post(session, str(client.make_url("")), "/sign-in",
                                    {"username": "admin", "password": ADMIN_PASSWORD})
        return resp.status, time.perf_counter() - started

    *guesses, (legit_status, legit_took) = await asyncio.gather(
        *(guess(i) for i in range(120)), legit())
    statuses = [status for status, _, _ in guesses]
    reached = counter.verified - 1  # the legitimate sign-in was checked once
    assert reached <= throttle.per_user, f"{reached} guesses reached the password check"
    assert statuses.count(200) == reached  # each one answered "wrong user or password"
    assert statuses.count(429) == 120 - reached
    refused = next(g for g in guesses if g[0] == 429)
    assert refused[1] and int(refused[1]) >= 1  # Retry-After
    assert "Too many sign-in attempts" in refused[2] or "too many" in refused[2].lower()
    assert legit_status == 302 and legit_took < 2.0
    assert throttle.delay("admin", OTHER_ADDRESS) == 0  # not slowed by the guesses
    assert throttle.delay("admin", "127.0.0.1") > 0


async def test_the_limits_hold_per_address_and_per_user(client, admin_user):
    now = [1000.0]
    throttle = SignInThrottle(per_address=6, per_user=3, clock=lambda: now[0])
    for _ in range(3):
        throttle.finish(throttle.begin("admin", "10.0.0.1"), failed=True)
    with pytest.raises(Throttled) as exc:
        throttle.begin("admin", "10.0.0.1")
    assert 890 <= exc.value.retry_after <= 900
    # another user from that address still may, until the address's own limit
    for _ in range(3):
        throttle.finish(throttle.begin("bill-abc", "10.0.0.1"), failed=True)
    with pytest.raises(Throttled):
        throttle.begin("bill-xyz", "10.0.0.1")
    # admin from elsewhere is not affected at all
    attempt = throttle.begin("admin", "10.0.0.2")
    assert attempt.delay == 0
    throttle.finish(attempt, failed=False, succeeded=True)
    now[0] += 901  # the window passed
    throttle.finish(throttle.begin("admin", "10.0.0.1"), failed=False)


def test_attempts_in_flight_count_and_are_released():
    throttle = SignInThrottle(per_address=100, per_user=100, concurrent=2)
    first = throttle.begin("a", "10.0.0.1")
    second = throttle.begin("b", "10.0.0.1")
    with pytest.raises(Throttled):
        throttle.begin("c", "10.0.0.1")  # two already being checked from there
    throttle.finish(first, failed=True)
    throttle.finish(first, failed=True)  # twice is harmless
    third = throttle.begin("c", "10.0.0.1")
    throttle.finish(second, failed=False)
    throttle.finish(third, failed=False)
    assert throttle.delay("x", "10.0.0.1") == 0  # one failure only


# --- trusted proxies ---------------------------------------------------------------------


@pytest.fixture
async def proxied_client(coovox, aiohttp_client, admin_user):
    """The app behind a reverse proxy at 127.0.0.1 (the test client's address)."""
    from coovox.web.app import create_app

    coovox.config = coovox.config.replace(trusted_proxies=("127.0.0.1",))
    return await aiohttp_client(create_app(coovox))


async def _wrong_sign_in(client, forwarded_for):
    headers = {"X-Forwarded-For": forwarded_for}
    page = await client.get("/sign-in", headers=headers)
    return await client.post("/sign-in", headers=headers, allow_redirects=False, data={
        "username": "admin", "password": "wrong", "csrf_token": csrf_of(await page.text())})


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(client, admin_user, caplog):
    caplog.set_level(logging.WARNING)
    await _wrong_sign_in(client, "203.0.113.9")
    assert "from 127.0.0.1" in caplog.text and "203.0.113.9" not in caplog.text
    entry = await WebLog.filter(action="POST /sign-in").order_by("-id").first()
    assert entry.ip == "127.0.0.1"
    assert client.server.app[THROTTLE_KEY].delay("admin", "203.0.113.9") == 0


async def test_forwarded_for_is_used_from_a_trusted_proxy(proxied_client, caplog):
    caplog.set_level(logging.WARNING)
    throttle = proxied_client.server.app[THROTTLE_KEY]  # the running app's (fresh) throttle
    throttle.per_user = 2
    for _ in range(2):
        resp = await _wrong_sign_in(proxied_client, "198.51.100.7, 203.0.113.9")
        assert resp.status == 200
    assert re.search(r"from 203\.0\.113\.9", caplog.text)
    entry = await WebLog.filter(action="POST /sign-in").order_by("-id").first()
    assert entry.ip == "203.0.113.9"  # the rightmost address the proxy did not add itself
    resp = await _wrong_sign_in(proxied_client, "203.0.113.9")
    assert resp.status == 429
    # the same user from another client of the proxy is not held back
    resp = await _wrong_sign_in(proxied_client, "203.0.113.10")
    assert resp.status == 200


def test_client_address_rules():
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    h = {"X-Forwarded-For": "1.1.1.1, 2.2.2.2, 10.1.1.1", "X-Forwarded-Proto": "https"}
    from multidict import CIMultiDict

    assert proxies.client("10.0.0.5", CIMultiDict(h)) == ("2.2.2.2", "https")
    assert proxies.client("192.0.2.1", CIMultiDict(h)) == ("192.0.2.1", None)  # untrusted
    assert proxies.client("::1", CIMultiDict({"X-Forwarded-For": "garbage"})) == ("::1", None)
    assert proxies.client("10.0.0.5", CIMultiDict()) == ("10.0.0.5", None)
    assert proxies.client("10.0.0.5", CIMultiDict(
        {"X-Forwarded-For": "[2001:db8::5]:443"})) == ("2001:db8::5", None)
    assert TrustedProxies().client("127.0.0.1", CIMultiDict(h)) == ("127.0.0.1", None)


def test_trusted_proxies_setting(tmp_path):
    cfg = load_config(environ={"COOVOX_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ::1"},
                      data_dir=str(tmp_path))
    assert cfg.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    (tmp_path / "coovox.toml").write_text('trusted_proxies = ["192.168.1.0/24"]\n')
    assert load_config(environ={"COOVOX_DATA_DIR": str(tmp_path)}).trusted_proxies == (
        "192.168.1.0/24",)
    assert load_config(environ={}, data_dir=str(tmp_path / "x")).trusted_proxies == ()
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(environ={"COOVOX_TRUSTED_PROXIES": "proxy.example"}, data_dir=str(tmp_path))


async def test_thousands_of_failures_wait_the_cap_and_never_overflow():
    """A throttle configured with high limits (or counting for a long time) must not turn
    a long run of failures into an OverflowError (a 500): the delay stays at its cap."""
    throttle = SignInThrottle(per_address=5000, per_user=5000, concurrent=5000,
                              sleep=lambda _s: asyncio.sleep(0))
    for _ in range(1100):
        attempt = throttle.begin("admin", "192.0.2.9")
        throttle.finish(attempt, failed=True, succeeded=False)
    attempt = throttle.begin("admin", "192.0.2.9")
    assert await throttle.wait(attempt) == throttle.cap
    throttle.finish(attempt, failed=True, succeeded=False)

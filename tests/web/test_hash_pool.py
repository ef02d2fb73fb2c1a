"""Issue 14.1: argon2 never runs on the event loop; a bounded pool answers 429 when full."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from argon2.exceptions import VerifyMismatchError

from coovox import users
from coovox.web.keys import THROTTLE_KEY
from tests.support.web import ADMIN_PASSWORD, csrf_of

GATE_TIMEOUT = 1.5  # a check held longer than this would show as a blocked loop


class GatedHasher:
    """Checks that wait until the test opens the gate (like a slow argon2, they hold a
    thread, and the GIL is free meanwhile); counts how many started."""

    def __init__(self, real):
        self.real = real
        self.gate = threading.Event()
        self.started = 0
        self.lock = threading.Lock()

    def hash(self, password):
        return self.real.hash(password)

    def verify(self, password_hash, password):
        with self.lock:
            self.started += 1
        self.gate.wait(GATE_TIMEOUT)
        raise VerifyMismatchError()


async def _until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_parallel_sign_ins_do_not_delay_healthz(client, admin_user, monkeypatch):

    gated = GatedHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", gated)
    # no address limits here: this test is about the password checks themselves
    async def no_wait(seconds):
        await asyncio.sleep(0)

    throttle = client.server.app[THROTTLE_KEY]  # the running app's (fresh) throttle
    throttle.per_address = throttle.per_user = throttle.concurrent = 1000
    throttle.sleep = no_wait
    csrf = csrf_of(await (await client.get("/sign-in")).text())

    async def attempt(i):
        resp = await client.post("/sign-in", data={"username": "admin", "password": f"no-{i}",
                                                   "csrf_token": csrf}, allow_redirects=False)
        return resp.status, await resp.text()

    pool = users.HASH_POOL
    capacity = pool.workers + pool.max_waiting
    tasks = [asyncio.ensure_future(attempt(i)) for i in range(40)]
    try:
        # the pool is full (checks running and queued), the others were answered already
        await _until(lambda: pool.pending == capacity
                     and sum(t.done() for t in tasks) == 40 - capacity)
        started = time.perf_counter()
        health = await client.get("/healthz")
        took = time.perf_counter() - started
        assert health.status == 200
        assert took < 0.5, f"/healthz took {took:.2f} s while sign-ins were checked"
        assert users.HASH_POOL.pending >= 1  # checks were still going on meanwhile
    finally:
        gated.gate.set()
        results = await asyncio.gather(*tasks)
    statuses = [status for status, _ in results]
    assert statuses.count(200) == gated.started == capacity
    assert statuses.count(429) == 40 - gated.started > 0
    busy = next(text for status, text in results if status == 429)
    assert "The server is busy checking other sign-ins" in busy
    assert "Traceback" not in busy
    assert users.HASH_POOL.pending == 0


async def test_a_busy_answer_has_retry_after(client, admin_user, monkeypatch):
    async def busy(fn, *args):
        raise users.PasswordHashBusy("full")

    monkeypatch.setattr(users.HASH_POOL, "run", busy)
    csrf = csrf_of(await (await client.get("/sign-in")).text())
    resp = await client.post("/sign-in", data={"username": "admin", "password": ADMIN_PASSWORD,
                                               "csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 429 and resp.headers["Retry-After"].isdigit()
    assert "coovox_session" not in resp.cookies or not resp.cookies["coovox_session"].value


async def test_every_argon2_use_goes_through_the_pool(admin_client, admin_token, monkeypatch):
    """Sign-in, own password change, admin create/passwd (page and API) all use the pool;
    when it is full they answer 429 with a clear message, never a 500."""
    used: list[str] = []
    real_run = users.HASH_POOL.run

    async def counting(fn, *args):
        used.append(fn.__name__)
        return await real_run(fn, *args)

    monkeypatch.setattr(users.HASH_POOL, "run", counting)
    c = admin_client
    resp = await c.post("/users", data={"csrf_token": c.csrf})
    assert resp.status == 200 and used == ["_hash_now"]
    resp = await c.post("/users/admin/password", data={"csrf_token": c.csrf,
                                                       "password": "Other-pass-2"})
    assert resp.status == 200 and used[-1] == "_hash_now"
    resp = await c.post("/account/password", data={
        "csrf_token": c.csrf, "current_password": "Other-pass-2",
        "new_password": "Third-pass-3", "new_password2": "Third-pass-3"})
    assert resp.status == 200 and used[-2:] == ["_verify_now", "_hash_now"]
    auth = {"Authorization": f"Bearer {admin_token}"}
    resp = await c.put("/api/v1/users/admin/password", json={"password": "Fourth-pass-4"},
                       headers=auth)
    assert resp.status == 204 and used[-1] == "_hash_now"
    resp = await c.post("/api/v1/users", json={}, headers=auth)
    assert resp.status == 201 and used[-1] == "_hash_now"
    assert len(used) == 6

    async def busy(fn, *args):
        raise users.PasswordHashBusy("full")

    monkeypatch.setattr(users.HASH_POOL, "run", busy)
    resp = await c.put("/api/v1/users/admin/password", json={"password": "Fifth-pass-5"},
                       headers=auth)
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "busy"
    resp = await c.post("/api/v1/users", json={}, headers=auth)
    assert resp.status == 429


async def test_pool_refuses_beyond_its_queue_at_once():
    pool = users.HashPool(workers=1, max_waiting=1)
    gate = threading.Event()
    first = asyncio.ensure_future(pool.run(gate.wait, 5))
    second = asyncio.ensure_future(pool.run(gate.wait, 5))
    await asyncio.sleep(0)
    assert pool.pending == 2
    started = time.perf_counter()
    with pytest.raises(users.PasswordHashBusy):
        await pool.run(gate.wait, 5)
    assert time.perf_counter() - started < 0.1
    gate.set()
    assert await first and await second
    assert pool.pending == 0
    assert await pool.run(lambda: 42) == 42


async def test_real_argon2_runs_in_the_pool_threads():
    seen: list[str] = []
    real = users._hash_now

    def spy(password):
        seen.append(threading.current_thread().name)
        return real(password)

    pool = users.HashPool()
    hashed = await pool.run(spy, "Some-pass-1")
    assert seen and seen[0].startswith("coovox-argon2")
    assert await pool.run(users._verify_now, hashed, "Some-pass-1") is True
    assert await pool.run(users._verify_now, hashed, "wrong") is False

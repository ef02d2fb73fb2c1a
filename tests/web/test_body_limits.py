"""Issue 14.2: per-route body limits, checked before the body is read."""

from __future__ import annotations

import asyncio
import time

import pytest

from coovox.web import guard, views
from tests.support.web import csrf_of

MB = 1024 * 1024


async def raw_request(client, head: str, body: bytes = b"", *, chunks: list[bytes] | None = None,
                      timeout: float = 5.0) -> tuple[int, dict[str, str], bytes, float]:
    """Send ``head`` (request line + headers) and a little body over a plain socket; read
    the answer. Returns status, headers, body and the seconds until the answer."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    started = time.perf_counter()
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        for chunk in chunks or ():
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        took = time.perf_counter() - started
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line)}
        length = int(headers.get("content-length", "0"))
        content = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, headers, content, took
    finally:
        writer.close()


@pytest.fixture
def counted_sign_in(monkeypatch):
    """Count calls of the sign-in handler (patched before the app is built)."""
    calls: list[int] = []
    real = views.sign_in

    async def counting(request):
        calls.append(1)
        return await real(request)

    monkeypatch.setattr(views, "sign_in", counting)
    return calls


async def test_a_19_mb_sign_in_is_refused_before_reading(counted_sign_in, client, admin_user):
    head = ("POST /sign-in HTTP/1.1\nHost: x\n"
            "Content-Type: application/x-www-form-urlencoded\n"
            f"Content-Length: {19 * MB}\n")
    # only 1 KB of the announced 19 MB is ever sent: the answer cannot wait for the body
    status, headers, body, took = await raw_request(client, head, b"username=" + b"a" * 1024)
    assert status == 413
    assert took < 2
    assert b"The request is too large: at most 16 KB here." in body
    assert headers.get("connection", "").lower() == "close"
    assert counted_sign_in == []  # the handler never ran, so nothing read the body


async def test_a_chunked_sign_in_stops_reading_at_the_limit(counted_sign_in, client,
                                                            admin_user):
    head = ("POST /sign-in HTTP/1.1\nHost: x\n"
            "Content-Type: application/x-www-form-urlencoded\n"
            "Transfer-Encoding: chunked\n")
    chunks = [b"username=" + b"a" * 4000] + [b"a" * 4096] * 8  # ~37 KB, no length given
    status, _, body, _ = await raw_request(client, head, chunks=chunks)
    assert status == 413 and b"16 KB" in body
    assert counted_sign_in == []


async def test_anonymous_bodies_are_small_everywhere(client):
    big = b"x" * (20 * 1024)
    for path in ("/api/v1/users", "/users", "/no/such/page", "/language"):
        resp = await client.post(path, data=big, allow_redirects=False,
                                 headers={"Content-Type": "application/octet-stream"})
        assert resp.status == 413, path
    resp = await client.post("/api/v1/users", data=big,
                             headers={"Content-Type": "application/json"})
    body = await resp.json()
    assert body["error"]["code"] == "too_large" and "16 KB" in body["error"]["message"]
    resp = await client.post("/sign-in", data=big, headers={"Accept-Language": "zh-CN"})
    assert resp.status == 413 and "请求内容过大" in await resp.text()


async def test_signed_in_limits_per_kind_of_route(admin_client, admin_token):
    c = admin_client
    auth = {"Authorization": f"Bearer {admin_token}"}
    # a JSON API call may send up to 1 MB
    resp = await c.post("/api/v1/users", data=b"[" + b" " * (900 * 1024) + b"]",
                        headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 400  # read and refused for what it says, not for its size
    resp = await c.post("/api/v1/users", data=b" " * (MB + 1),
                        headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"
    # a form: 64 KB
    resp = await c.post("/users", data={"csrf_token": c.csrf, "pad": "x" * (40 * 1024)})
    assert resp.status == 200
    resp = await c.post("/users", data={"csrf_token": c.csrf, "pad": "x" * (70 * 1024)})
    assert resp.status == 413
    assert "Traceback" not in await resp.text()
    # a licence: 64 KiB file, a little room around it
    resp = await c.put("/api/v1/licensing/features/billing/licence", data=b"x" * (70 * 1024),
                       headers=auth)
    assert resp.status == 400  # the licence check's own "larger than 64 KiB"
    resp = await c.put("/api/v1/licensing/features/billing/licence", data=b"x" * (200 * 1024),
                       headers=auth)
    assert resp.status == 413


async def test_csv_import_accepts_large_files_up_to_20_mb(admin_client):
    c = admin_client
    head = ("POST /calls/extensions/import HTTP/1.1\nHost: x\n"
            "Content-Type: multipart/form-data; boundary=BB\n"
            f"Cookie: coovox_session={c.session.cookie_jar.filter_cookies(c.make_url('/'))['coovox_session'].value}\n"
            f"Content-Length: {21 * MB}\n")
    status, _, _, took = await raw_request(c, head, b"--BB\r\n")
    assert status == 413 and took < 2
    # 12 MB gets through to the import, which explains its own 10 MB limit
    from aiohttp import FormData

    form = FormData()
    form.add_field("csrf_token", c.csrf)
    form.add_field("file", b"number,name\n" + b"1,a\n" * (3 * MB), filename="big.csv",
                   content_type="text/csv")
    resp = await c.post("/calls/extensions/import", data=form)
    assert resp.status == 400
    assert "The file is larger than 10 MB." in await resp.text()


def test_body_limit_defaults():
    assert guard.ANONYMOUS_MAX_BODY == 16 * 1024
    assert guard.FORM_MAX_BODY == 64 * 1024
    assert guard.API_MAX_BODY == MB


async def test_route_limits_are_declared(client):
    from coovox.web.keys import ROUTES_KEY

    routes = client.server.app[ROUTES_KEY]
    assert routes["calls_extensions_import"].max_body == 20 * MB
    assert routes["api_licensing_licence"].max_body <= 100 * 1024
    assert routes["licensing_upload"].max_body <= 100 * 1024


async def test_small_sign_in_still_works(client, admin_user):
    from tests.support.web import ADMIN_PASSWORD

    page = await client.get("/sign-in")
    resp = await client.post("/sign-in", data={"username": "admin", "password": ADMIN_PASSWORD,
                                               "csrf_token": csrf_of(await page.text())},
                             allow_redirects=False)
    assert resp.status == 302

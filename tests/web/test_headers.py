"""Issue 14.5: security headers everywhere, a CSP without inline code, /healthz exposure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coovox.plugin_host import PluginHost
from coovox.web import i18n
from coovox.web.guard import is_local_probe  # noqa: F401  (the rule the tests below check)

FORWARDED = {"X-Forwarded-For": "203.0.113.5"}  # not a local probe any more


def assert_protected(resp, *, cached: bool = False) -> None:
    h = resp.headers
    csp = h["Content-Security-Policy"]
    directives = dict((d.split(" ", 1) + [""])[:2] for d in csp.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert h["Server"] == "CooVox"  # no "Python/3.x aiohttp/x.y"
    assert not re.search(r"\d", h["Server"])
    if cached:
        assert "no-store" not in h.get("Cache-Control", "")
    else:
        assert h["Cache-Control"] == "no-store"


async def test_headers_on_pages_api_static_and_errors(admin_client, admin_token):
    c = admin_client
    assert_protected(await c.get("/users"))
    assert_protected(await c.get("/sign-in"))
    assert_protected(await c.get("/no/such/page"))
    api = await c.get("/api/v1/plugins", headers={"Authorization": f"Bearer {admin_token}"})
    assert api.status == 200
    assert_protected(api)
    assert_protected(await c.get("/api/v1/nothing"))
    static = await c.get("/static/core/app.css")
    assert static.status == 200
    assert_protected(static, cached=True)
    assert_protected(await c.get("/static/calls/live.js"), cached=True)
    assert_protected(await c.get("/healthz"))


async def test_redirects_and_refusals_have_them_too(client):
    resp = await client.get("/users", allow_redirects=False)
    assert resp.status == 302
    assert_protected(resp)
    resp = await client.post("/sign-in", data=b"x" * (64 * 1024))
    assert resp.status == 413
    assert_protected(resp)


def _template_dirs() -> list[Path]:
    dirs = [Path(i18n.__file__).parent / "templates"]
    host = PluginHost()
    for found in host.call_all_plugins("coovox_template_dirs"):
        dirs.extend(Path(p) for p in found)
    return dirs


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_holds_code_or_styles_the_csp_would_block():
    problems = []
    templates = [p for d in _template_dirs() for p in sorted(d.rglob("*.html"))]
    assert len(templates) > 20
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.name}:{line}: {what}")
    assert not problems, "\n".join(problems)


async def test_pages_still_link_their_scripts(admin_client):
    html = await (await admin_client.get("/calls/live")).text()
    assert '<script src="/static/calls/live.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/calls/calls.css">' in html
    assert (await admin_client.get("/static/calls/calls.css")).status == 200
    html = await (await admin_client.get("/users")).text()
    assert 'data-autosubmit' in html and 'data-confirm="Sign admin out everywhere?"' in html


# --- /healthz ----------------------------------------------------------------------------


async def test_anonymous_healthz_says_only_up_and_sets_no_cookie(client):
    resp = await client.get("/healthz", headers=FORWARDED)
    assert resp.status == 200
    assert await resp.json() == {"status": "up"}
    assert "Set-Cookie" not in resp.headers
    resp = await client.get("/healthz", headers={"X-Forwarded-For": "127.0.0.1"})
    assert await resp.json() == {"status": "up"}  # forwarded: not from this machine


async def test_healthz_details_for_a_local_probe_and_signed_in_users(admin_client):
    local = await admin_client.get("/healthz")  # 127.0.0.1, no forwarding header
    body = await local.json()
    assert body["status"] == "up" and body["database"]["ok"] is True
    assert body["ari"]["connected"] is False and "version" in body
    signed_in = await admin_client.get("/healthz", headers=FORWARDED)
    assert (await signed_in.json())["ari"]["connected"] is False
    assert "Set-Cookie" not in signed_in.headers


async def test_healthz_degraded(client, monkeypatch):
    from coovox.storage import db

    async def down():
        return "database is locked"

    monkeypatch.setattr(db, "ping", down)
    resp = await client.get("/healthz", headers=FORWARDED)
    assert resp.status == 503
    assert await resp.json() == {"status": "degraded"}
    local = await (await client.get("/healthz")).json()
    assert local["status"] == "degraded" and local["database"]["error"] == "database is locked"


@pytest.mark.parametrize("headers", [{}, {"Forwarded": "for=198.51.100.1"},
                                     {"X-Real-IP": "198.51.100.1"}])
async def test_local_probe_needs_no_forwarding_header(client, headers):
    body = await (await client.get("/healthz", headers=headers)).json()
    assert ("version" in body) is (not headers)

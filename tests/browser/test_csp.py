"""In Chromium (issue 14.5): every main page works under the Content-Security-Policy (no
inline scripts, handlers or styles) with no CSP violation in the console, and the page
scripts that replaced inline code still do their job."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.browser import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

ADMIN_PAGES = ["/", "/users", "/tokens", "/plugins", "/weblog", "/account/password",
               "/account/sessions", "/calls/extensions", "/calls/extensions/new",
               "/calls/trunks", "/calls/trunks/new", "/calls/dial-rules",
               "/calls/dial-rules/new", "/calls/dial-permissions", "/calls/pin-sets",
               "/calls/log", "/calls/live", "/addons/licensing", "/addons/billing/settings"]
BILLING_PAGES = ["/billing/extensions", "/billing/rates", "/billing/rates/new",
                 "/billing/recharges", "/billing/calls", "/billing/statistics",
                 "/billing/settings", "/account/sessions"]


class Console:
    """Console messages and page errors of a page, CSP violations singled out."""

    def __init__(self, page):
        self.page = page
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._error)

    def _console(self, msg):
        self.messages.append(f"{msg.type}: {msg.text}")

    def _error(self, exc):
        self.messages.append(f"pageerror: {exc}")

    def violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m
                or "Refused to" in m or m.startswith("pageerror")]

    def close(self):
        self.page.remove_listener("console", self._console)
        self.page.remove_listener("pageerror", self._error)


def _api(server, token, method, path, body):
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                 method=method, headers={"Authorization": f"Bearer {token}",
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status


def test_main_pages_work_under_the_csp(browser, server):
    b = browser
    page = b.page
    console = Console(page)
    try:
        # the collector sees a violation when there is one (an injected inline script)
        b.goto("/sign-in", "csp-sign-in")
        page.evaluate("() => { const s = document.createElement('script');"
                      " s.textContent = 'window.__inline = 1'; document.body.append(s); }")
        page.wait_for_timeout(100)
        assert page.evaluate("() => window.__inline") is None
        assert console.violations(), console.messages
        console.messages.clear()

        b.sign_in("admin", ADMIN_PASSWORD)
        resp = b.goto("/users", "csp-users")
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        for path in ADMIN_PAGES:
            b.goto(path, "csp" + path.replace("/", "-"))
        assert console.violations() == [], console.violations()

        # live calls: the script moved out of the page opens the server's event stream
        with page.expect_request(lambda r: "/calls/live/events" in r.url, timeout=5000):
            b.goto("/calls/live", "csp-live")

        # the per-page select still submits its form (was an inline onchange)
        b.goto("/weblog", "csp-weblog")
        with page.expect_navigation():
            page.select_option("select[name=per_page]", "50")
        assert "per_page=50" in page.url

        # activate billing, make a billing user, a token and two extensions
        b.goto("/addons/billing/settings", "csp-billing-addon")
        if not page.locator("#billing-active").is_checked():
            page.check("#billing-active")
            b.submit("#billing-activate [type=submit]")
        b.goto("/users", "csp-users-2")
        b.submit("#create-billing-user")
        name = page.locator("#created-username").inner_text()
        password = page.locator("#created-password").inner_text()
        b.goto("/tokens", "csp-tokens")
        b.submit("#create-token")
        token = page.locator("#new-token").inner_text()
        for number in ("300", "301"):
            assert _api(server, token, "POST", "/api/v1/extensions",
                        {"number": number, "name": "CSP " + number}) == 201

        # a confirmation (was an inline onsubmit): dismissed, nothing happens; accepted, done
        b.goto("/users", "csp-users-3")
        row = page.locator(f"tr[data-user='{name}'] form.sign-out-everywhere button")
        page.once("dialog", lambda d: d.dismiss())
        row.click()
        page.wait_for_timeout(300)
        assert page.locator("#signed-out-everywhere").count() == 0
        page.once("dialog", lambda d: d.accept())
        with page.expect_navigation():
            row.click()
        assert page.locator("#signed-out-everywhere").is_visible()
        b.shot("csp-signed-out-everywhere")
        assert console.violations() == [], console.violations()
        b.sign_out()

        b.sign_in(name, password)
        for path in BILLING_PAGES:
            b.goto(path, "csp" + path.replace("/", "-"))
        b.goto("/billing/extensions", "csp-billing-extensions")
        page.check("#select-all")
        assert page.locator("#selection-count .n").inner_text() == "2"
        b.goto("/billing/rates/new", "csp-rate-form")
        page.fill("#ext-search", "301")
        assert page.locator("#ext-picker label:not([hidden])").count() == 1
        # the language select (was an inline onchange)
        b.choose_language("zh_CN")
        page.wait_for_selector("#menu >> text=费率")
        b.choose_language("en")
        assert console.violations() == [], console.violations()
    finally:
        console.close()

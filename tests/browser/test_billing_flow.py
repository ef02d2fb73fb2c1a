"""In Chromium (issue 6 point 8): the administrator activates billing and creates a billing
user; the billing user bulk-enables billing, recharges, adds a rate, sees a simulated call
with its cost in the call log and in statistics, downloads CSV and Excel, and reads the
pages in Chinese. Calls come from the ARI double (``python -m coovox.sim``) over loopback."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal

import pytest

from coovox.web.formats import money_text
from tests.support.browser import ADMIN_PASSWORD, Browser, Server, free_port, serving

SIM_PASSWORD = "sim-secret"

pytestmark = pytest.mark.browser


def _wait_http(url: str, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: it answers
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture(scope="module")
def sim(artifacts):
    port = free_port()
    log = (artifacts / "sim.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "coovox.sim", "--port", str(port),
                             "--user", "coovox", "--password", SIM_PASSWORD, "--app", "coovox",
                             "--time-scale", "0.3"], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_sim/state", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory, artifacts, sim):
    env = {"COOVOX_ARI_URL": sim, "COOVOX_ARI_USER": "coovox",
           "COOVOX_ARI_PASSWORD": SIM_PASSWORD, "COOVOX_SIMULATION": "true"}
    with serving(tmp_path_factory, artifacts, "coovox-billing", env=env) as srv:
        yield srv


def _json(method: str, url: str, token: str | None = None, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _wait_for_call(base: str, token: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        calls = _json("GET", base + "/api/v1/calls", token)["items"]
        done = [c for c in calls if c.get("ended_at") and c.get("cost") not in (None, "")]
        if done:
            return done[0]
        time.sleep(0.5)
    raise AssertionError(f"no finished, costed call within {seconds} s: {calls}")


def _admin_part(b: Browser, server: Server) -> tuple[str, str, str]:
    """Sign in as admin, activate billing, create a billing user and an API token."""
    page = b.page
    b.sign_in("admin", ADMIN_PASSWORD)
    b.goto("/addons/billing/settings", "billing-addon")
    if not page.locator("#billing-active").is_checked():
        page.check("#billing-active")
        b.submit("#billing-activate [type=submit]")
    assert page.locator("#billing-active").is_checked()
    b.shot("billing-activated")
    b.goto("/users", "accounts")
    b.submit("#create-billing-user")
    name = page.locator("#created-username").inner_text()
    password = page.locator("#created-password").inner_text()
    b.shot("billing-user-created")
    b.goto("/tokens", "tokens")
    b.submit("#create-token")
    token = page.locator("#new-token").inner_text()
    # the outbound configuration the call needs, through the JSON API
    api = server.url
    _json("POST", api + "/api/v1/trunks", token,
          {"name": "pstn", "dial_string": "Local/{number}@pstn"})
    _json("POST", api + "/api/v1/dial-rules", token,
          {"name": "out", "prefix": "9", "pattern": "X.", "trunks": ["pstn"]})
    _json("PATCH", api + "/api/v1/dial-permissions/DialPlan1", token, {"dial_rules": ["out"]})
    for number, who in (("100", "Alice"), ("101", "Bob")):
        _json("POST", api + "/api/v1/extensions", token, {"number": number, "name": who})
    b.sign_out()
    return name, password, token


def test_billing_user_bills_a_simulated_call(browser, server, sim, tmp_path):
    from openpyxl import load_workbook

    b = browser
    page = b.page
    name, password, token = _admin_part(b, server)

    b.sign_in(name, password)
    b.goto("/billing/extensions", "billing-extensions")
    page.check("#select-all")
    assert page.locator("#selection-count .n").inner_text() == "2"
    page.click("[data-open=dlg-bulk]")
    page.check("#dlg-bulk input[name=apply][value=enabled]")
    page.check("#dlg-bulk input[name=enabled]")
    b.shot("bulk-edit")
    b.submit("#dlg-bulk [type=submit]")
    assert page.locator("#accounts tr[data-extension='100']").get_attribute("data-enabled") == "on"
    b.shot("billing-enabled")

    page.check("#select-all")
    page.click("[data-open=dlg-recharge]")
    page.fill("#dlg-recharge input[name=amount]", "10")
    b.submit("#dlg-recharge [type=submit]")
    balance = page.locator("#accounts tr[data-extension='100']").get_attribute("data-balance")
    assert Decimal(balance) == Decimal("10")
    b.shot("recharged")

    b.goto("/billing/rates", "rates")
    b.submit("#rate-add")
    page.fill("#f-prefix", "9")
    page.fill("#f-rate", "0.6")
    page.fill("#f-unit", "1")
    page.check("#rate-form input[name=all_extensions]")
    b.shot("rate-form")
    b.submit("#rate-form [type=submit]")
    assert page.locator("#rates").inner_text().count("9") >= 1
    b.shot("rate-added")

    # a simulated call: extension 100 dials 9 + a number the double answers then hangs up
    _json("POST", sim + "/_sim/call", None, {"extension": "100", "number": "9123454"})
    call = _wait_for_call(server.url, token)
    assert Decimal(call["cost"]) > 0

    b.goto("/billing/calls", "billing-calls")
    calls_text = page.locator("#calls").inner_text()
    shown_cost = money_text(call["cost"], 2)  # pages show USD with its 2 decimals
    assert "100" in calls_text and shown_cost in calls_text.replace(",", "")
    with page.expect_download() as got:
        page.click("#download-csv")
    assert got.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(got.value.path().read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and any("100" in cell for cell in rows[1])
    assert shown_cost in rows[1], rows  # money with the currency's decimals, as the pages
    with page.expect_download() as got:
        page.click("#download-xlsx")
    xlsx = tmp_path / got.value.suggested_filename
    assert xlsx.suffix == ".xlsx"
    got.value.save_as(xlsx)
    sheet = load_workbook(xlsx).active
    assert sheet.max_row == 2
    values = [str(c.value) for c in sheet[2]]
    assert any("100" in v for v in values), values

    b.goto("/billing/statistics", "billing-statistics")
    stats = page.locator("#statistics tbody tr")
    assert stats.count() == 1
    assert shown_cost in stats.first.inner_text().replace(",", "")

    b.goto("/billing/extensions", "billing-extensions-after-call")
    after = page.locator("#accounts tr[data-extension='100']").get_attribute("data-balance")
    assert Decimal(after) == Decimal("10") - Decimal(call["cost"])

    b.choose_language("zh_CN")
    page.wait_for_selector("#menu >> text=分机")
    menu = page.locator("#menu").inner_text()
    for label in ("分机", "费率", "充值记录", "通话记录", "统计", "设置"):
        assert label in menu, label
    assert "预付费" in page.locator("#accounts").inner_text()
    b.shot("billing-chinese")

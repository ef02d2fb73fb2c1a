"""In Chromium, in English and in Chinese (issue 15): the sign-in page says how to create
the first administrator; Chinese pages say everything in Chinese with the guides' words;
every time has one format in the PBX time zone (the live page's script included); money
has the currency's decimals; a page past the end shows the last page; the rate form shows
every error at once; statistics find an extension by name; billing users see that billing
is off.  Screenshots of every page go to $COOVOX_TEST_ARTIFACTS/screenshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.browser import ADMIN_PASSWORD, Browser, seeding, serving

pytestmark = pytest.mark.browser

TZ = "Asia/Shanghai"
START = datetime(2026, 11, 20, 23, 30, 5, 123456, tzinfo=UTC)
LOCAL = "2026-11-21 07:30:05"  # START in Shanghai
BILL_USER, BILL_PASSWORD = "bill-ux1", "Bill-pass-123"
LANGS = ("en", "zh_CN")
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
OTHER_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}|\d{2}:\d{2}:\d{2}\.\d|[A-Z][a-z]{2} \d{1,2}, "
                           r"\d{4}|\d{4}年\d{1,2}月")


async def _seed(data: Path) -> None:
    """Calls (every status, the reasons users meet, one in progress), billed calls of Alice
    and Bob, a rate, recharges, a billing user; billing switched OFF."""
    from coovox.plugins.billing import services
    from coovox.plugins.billing.models import BillingCall
    from coovox.plugins.calls.models import Call, DialPermission, DialRule, Extension, Trunk
    from coovox.users import create_user

    async with seeding(data, timezone=TZ):
        await create_user("admin", ADMIN_PASSWORD)
        await create_user(BILL_USER, BILL_PASSWORD, role="billing")
        await Extension.create(number="100", name="Alice")
        await Extension.create(number="101", name="Bob")
        await Trunk.create(name="pstn", dial_string="PJSIP/{number}@carrier")
        await DialRule.create(name="out", prefix="9", pattern="X.", trunks=["pstn"],
                              condition={"days": [0, 1, 2, 3, 4], "start": "08:00",
                                         "end": "18:00"})
        await DialPermission.create(name="DialPlan1", dial_rules=["out"])
        rows = [("answered", "caller hung up", "100", 61.0), ("refused", "insufficient funds",
                                                               "101", None),
                ("failed", "congestion", "100", None), ("busy", "", "101", None),
                ("no answer", "callee hung up", "100", None)]
        for i, (status, reason, ext, talk) in enumerate(rows):
            at = START - timedelta(minutes=i)
            await Call.create(id=f"c{i}", started_at=at, answered_at=at if talk else None,
                              ended_at=at + timedelta(seconds=75), extension=ext,
                              extension_name={"100": "Alice", "101": "Bob"}[ext],
                              dialed="912345678", trunk="pstn", status=status, reason=reason,
                              duration=75.0, talk_time=talk)
        await Call.create(id="live", started_at=START, answered_at=START, extension="100",
                          extension_name="Alice", dialed="98765432", trunk="pstn",
                          status="active")
        await services.update_accounts(["100", "101"], {"enabled": True})
        await services.recharge(["100", "101"], "1234.5678", BILL_USER, START)
        await services.create_rate({"remark": "local", "prefix": "9", "rate": "0.0125",
                                    "initial_cost": "0.1", "unit": 60, "extensions": "all"})
        for i, ext in enumerate(["100", "100", "101"]):
            await BillingCall.create(call_id=f"b{i}", extension=ext,
                                     name={"100": "Alice", "101": "Bob"}[ext],
                                     rate={"id": 1, "remark": "local"}, charged="0.1125",
                                     cost="0.1125", settled=True, answered=True,
                                     talk_time=61.0, local_date="2026-11-21")
        await BillingCall.create(call_id="c0", extension="100", name="Alice",
                                 rate={"id": 1, "remark": "local"}, charged="0.1125",
                                 cost="0.1125", settled=True, answered=True, talk_time=61.0,
                                 local_date="2026-11-21")


@pytest.fixture(scope="module")
def server(tmp_path_factory, artifacts):
    with serving(tmp_path_factory, artifacts, "coovox-issue15",
                 seed=_seed, env={"COOVOX_TIMEZONE": TZ}) as srv:
        yield srv


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory, artifacts):
    """A first start: no user at all."""
    with serving(tmp_path_factory, artifacts, "coovox-first-start",
                 env={"FIRST_ADMIN_PASSWORD": ""}) as srv:
        yield srv


def test_the_sign_in_page_says_how_to_create_the_first_administrator(
        browser_context, empty_server, artifacts, request):
    b = Browser(browser_context, empty_server.url, artifacts / "screenshots",
                request.node.name)
    b.context.clear_cookies()
    for lang, hint in (("en", "No administrator exists yet."), ("zh_CN", "尚未创建管理员。")):
        b.use_language(lang)
        b.goto("/sign-in", f"sign-in-no-admin-{lang}")
        box = b.page.locator("#no-admin-hint")
        assert hint in box.inner_text()
        assert re.search(r"-m coovox admin create admin", box.locator("code").inner_text())


def test_administrator_pages_in_both_languages(browser, server):
    b, page = browser, browser.page
    b.sign_in("admin", ADMIN_PASSWORD)
    for lang in LANGS:
        b.use_language(lang)
        zh = lang == "zh_CN"
        b.goto("/calls/log", f"call-log-{lang}")
        log = page.locator("#calls").inner_text()
        assert LOCAL in log and not OTHER_TIME_RE.search(log)
        heads = page.locator("#calls thead").inner_text()
        if zh:
            for word in ("余额不足", "主叫挂断", "线路拥塞", "被叫挂断", "应答", "拒绝"):
                assert word in log, word
            assert "insufficient funds" not in log
            assert "总时长" in heads and "通话时长" in heads
        else:
            assert "insufficient funds" in log and "Duration" in heads
        b.goto("/calls/live", f"live-{lang}")
        # the page's script re-draws the rows from the API each second: same format
        page.wait_for_function("document.querySelector('#live-status') !== null")
        page.wait_for_timeout(1500)
        live = page.locator("#live-calls tbody").inner_text()
        assert LOCAL in live, live
        b.shot(f"live-after-poll-{lang}")
        b.goto("/plugins", f"plugins-{lang}")
        plugins = page.locator("#plugins").inner_text()
        if zh:
            assert "预付费/后付费通话计费" in plugins and "开启" in plugins
            assert "启动" not in plugins and "停止" not in plugins
        b.goto("/calls/dial-rules/out/edit", f"dial-rule-{lang}")
        form = page.locator("#config-form").inner_text()
        if zh:
            assert "开始时间" in form and "结束时间" in form and "开始日期" not in form
        b.goto("/weblog", f"weblog-{lang}")
        for cell in page.locator("#weblog tbody tr td:first-child").all_inner_texts():
            assert TIME_RE.fullmatch(cell.strip()), cell
        # a refused input is explained in the page's language at its field
        b.goto("/calls/trunks/pstn/edit", f"trunk-{lang}")
        page.fill("#f-max_calls", "0")
        b.submit("#config-form [type=submit]")
        error = page.locator("#error-max_calls").inner_text()
        assert error == ("必须在 1 到 10000 之间，或留空" if zh
                         else "must be between 1 and 10000 or empty")
        b.shot(f"trunk-error-{lang}")


def _billing_pages(b: Browser, lang: str, banner: bool) -> None:
    page = b.page
    for path in ("/billing/extensions", "/billing/rates", "/billing/statistics"):
        b.goto(path, f"{path.strip('/').replace('/', '-')}-{lang}-{'off' if banner else 'on'}")
        assert page.locator("#billing-off").count() == (1 if banner else 0), path
        if banner:
            text = page.locator("#billing-off").inner_text()
            assert ("计费功能已关闭" if lang == "zh_CN" else "Billing is switched off") in text


def test_billing_pages_in_both_languages(browser, server):
    b, page = browser, browser.page
    b.sign_in(BILL_USER, BILL_PASSWORD)
    for lang in LANGS:
        b.use_language(lang)
        _billing_pages(b, lang, banner=True)
    # the administrator switches billing on: the banner goes
    b.sign_in("admin", ADMIN_PASSWORD)
    b.goto("/addons/billing/settings", "billing-addon")
    page.check("#billing-active")
    b.submit("#billing-activate [type=submit]")
    b.sign_in(BILL_USER, BILL_PASSWORD)
    for lang in LANGS:
        zh = lang == "zh_CN"
        b.use_language(lang)
        _billing_pages(b, lang, banner=False)
        # money with the currency's decimals: USD 2
        b.goto("/billing/extensions", f"extensions-usd-{lang}")
        balance = page.locator("#accounts tr[data-extension='100'] td.balance").inner_text()
        assert balance == "1234.57"
        # a refused recharge names the field by its label, in the page's language
        page.locator("#accounts tr[data-extension='100'] [data-row-open=dlg-recharge-one]").click()
        page.fill("#dlg-recharge-one input[name=amount]", "0")
        b.submit("#dlg-recharge-one [type=submit]")
        flash = page.locator(".flash.error").first.inner_text()
        assert flash == ("充值金额必须大于 0" if zh else "Recharge Amount must be greater than 0")
        b.shot(f"recharge-refused-{lang}")
        # every error of the rate form at once
        b.goto("/billing/rates/new", f"rate-form-{lang}")
        page.fill("#f-length", "99")
        page.fill("#f-rate", "-1")
        page.fill("#f-unit", "0")
        page.fill("#f-start_time", "25:00")
        b.submit("#rate-form [type=submit]")
        fields = page.locator("#rate-form .field-error").evaluate_all(
            "els => els.map(e => e.dataset.field)")
        assert set(fields) == {"length", "rate", "unit", "start_time", "extensions"}
        assert page.locator("#rate-error li").count() == 5
        b.shot(f"rate-form-errors-{lang}")
        # statistics by a name, as the call log's keyword
        b.goto("/billing/statistics?by=year&keyword=ali", f"statistics-keyword-{lang}")
        row = page.locator("#statistics tbody tr").first.inner_text()
        assert "Alice[100]" in row and "\t3\t" in f"\t{row}\t".replace("\n", "\t")
        # a page past the end is the last page
        b.goto("/billing/recharges?page=999", f"recharges-page-999-{lang}")
        assert page.locator(".pager .cur").inner_text() == "1"
        assert page.locator("#recharges tbody tr").count() == 2
        times = page.locator("#recharges tbody tr td:first-child").all_inner_texts()
        assert times == [LOCAL, LOCAL]
    # VND: no decimals
    b.goto("/billing/settings", "settings")
    page.select_option("#currency", "VND")
    b.submit("#billing-settings [type=submit]")
    b.goto("/billing/extensions", "extensions-vnd")
    balance = page.locator("#accounts tr[data-extension='100'] td.balance").inner_text()
    assert balance == "1235"
    assert "(₫)" in page.locator("#accounts thead").inner_text()

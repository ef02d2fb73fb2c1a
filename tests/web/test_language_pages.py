"""Pages in Chinese say everything in Chinese (issue 15): every page of every role, with
data in every state (call reasons and statuses, locked and postpaid accounts, plugins) and
with the messages of refused input, shows no English word but names and codes; messages
name fields by their label in the page's language (no raw keys such as "amount: ...")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from coovox.models import WebLog
from coovox.plugins.billing import metering, services
from coovox.plugins.calls import causes
from coovox.plugins.calls.models import Call, DialPermission, DialRule, Extension, PinSet, Trunk
from coovox.users import create_token, create_user
from coovox.web.keys import ROUTES_KEY
from tests.support.web import ADMIN_PASSWORD, sample_path, sign_in
from tests.web.i18n_scan import ALLOWED, unwrapped_strings

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
BILLING_PASSWORD = "Bill-pass-123"
# names, codes and data that are the same in every language
DATA_WORDS = {"Asterisk", "Web", "English", "DialPlan", "PJSIP", "carrier", "number", "admin",
              "bill", "zh", "HH", "MM", "SS", "CVX", "HTTP", "POST", "PBX", "USD", "CNY", "EUR",
              "GBP", "VND", "web", "outbound", "calls", "calllog", "licensing", "billing", "push", "events",
              "prometheus", "Prometheus", "low", "balance", *ALLOWED}  # plugin/product names
REASONS = [*causes.REASONS, metering.REFUSE_FUNDS, metering.REFUSE_LOCKED,
           metering.REFUSE_NO_RATE, metering.CUT_ERROR]


async def _seed() -> None:
    """Data in every state a page shows words for."""
    await Extension.create(number="100", name="张三")
    await Extension.create(number="101", name="李四", enabled=False)
    await Trunk.create(name="中继1", dial_string="PJSIP/{number}@carrier")
    await PinSet.create(name="密码组", pins=["1234"])
    await DialRule.create(name="外线", prefix="9", pattern="X.", trunks=["中继1"],
                          pin_set="密码组", time_limit=600,
                          condition={"days": [0, 1], "start": "08:00", "end": "18:00"})
    perm = await DialPermission.get(name="DialPlan1")
    perm.dial_rules = ["外线"]
    await perm.save()
    start = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    statuses = [*causes.END_STATUSES]
    for i, reason in enumerate(REASONS):
        status = statuses[i % len(statuses)]
        await Call.create(id=f"c{i}", started_at=start + timedelta(minutes=i),
                          answered_at=start if status == causes.ANSWERED else None,
                          ended_at=start + timedelta(minutes=i, seconds=30), extension="100",
                          extension_name="张三", dialed="912345678", trunk="中继1",
                          status=status, reason=reason, duration=30.0, talk_time=20.0)
    await Call.create(id="live", started_at=start, extension="100", extension_name="张三",
                      dialed="912345678", status=causes.ACTIVE)
    await services.update_settings({"active": True})
    await services.update_accounts(["100"], {"enabled": True, "status": "locked",
                                             "payment_type": "postpaid"})
    await services.recharge(["100"], "10", "bill-zh", start)
    await services.correct("100", "-1", "更正", "bill-zh", start)
    await services.create_rate({"remark": "市话", "prefix": "9", "rate": "0.1", "unit": 60,
                                "extensions": "all"})
    await create_token("admin", "令牌")
    await WebLog.create(ip="127.0.0.1", username="admin", role="admin", action="POST /users",
                        result="302 Found (0.010 s)")


# values that are data, not words: a request line of the web log, a device identity
DATA_RE = re.compile(r"^(?:(?:GET|POST|PUT|PATCH|DELETE) /\S*|CVX(?:-[0-9A-F]+)+)$")


def visible_english(html: str, data: set[str] = frozenset()) -> list[str]:
    """English words a reader sees on a rendered page (names and codes excepted)."""
    out = []
    for chunk in unwrapped_strings(html):
        if DATA_RE.match(chunk):
            continue
        words = set(re.findall(r"[A-Za-z]{2,}", chunk)) - DATA_WORDS - set(data)
        if words:
            out.append(chunk)
    return out


def _get_pages(client, roles: set[str]) -> list[str]:
    paths = []
    for route in client.server.app[ROUTES_KEY].values():
        if route.method != "GET" or route.api or route.public or route.path.startswith("/api"):
            continue
        if not (set(route.roles) & roles or "*" in route.roles):
            continue
        if "{" in route.path:
            path = _fill(route.path)
            if path is None:
                continue
        else:
            path = route.path
        paths.append(path)
    return sorted(set(paths))


def _fill(path: str) -> str | None:
    keys = {"/calls/extensions/": "100", "/calls/trunks/": "中继1", "/calls/dial-rules/": "外线",
            "/calls/dial-permissions/": "DialPlan1", "/calls/pin-sets/": "密码组",
            "/billing/rates/": "1", "/licensing/": "billing"}
    for prefix, key in keys.items():
        if path.startswith(prefix):
            return re.sub(r"\{[^}]+\}", key, path, count=1)
    if "{" in path:
        return sample_path(path)
    return path


@pytest.fixture
async def seeded(client, admin_user):
    await _seed()
    await create_user("bill-zh", BILLING_PASSWORD, role="billing")
    return client


async def _scan(client, paths: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        resp = await client.get(path, headers=ZH)
        if resp.status != 200 or "text/html" not in resp.headers.get("Content-Type", ""):
            continue
        english = visible_english(await resp.text())
        if english:
            found[path] = english
    return found


async def test_every_page_of_the_administrator_is_chinese(seeded):
    seeded.csrf = await sign_in(seeded, "admin", ADMIN_PASSWORD)
    paths = _get_pages(seeded, {"admin"})
    assert {"/calls/log", "/plugins", "/calls/dial-rules/new", "/weblog"} <= set(paths)
    found = await _scan(seeded, paths)
    assert not found, "English on Chinese pages:\n" + "\n".join(
        f"{p}: {v}" for p, v in found.items())


async def test_every_page_of_the_billing_user_is_chinese(seeded):
    seeded.csrf = await sign_in(seeded, "bill-zh", BILLING_PASSWORD)
    paths = _get_pages(seeded, {"billing"})
    assert "/billing/calls" in paths and "/billing/extensions" in paths
    found = await _scan(seeded, paths)
    assert not found, "English on Chinese pages:\n" + "\n".join(
        f"{p}: {v}" for p, v in found.items())


async def test_call_reasons_and_statuses_are_chinese_on_the_call_logs(seeded):
    seeded.csrf = await sign_in(seeded, "admin", ADMIN_PASSWORD)
    html = await (await seeded.get("/calls/log?per_page=100", headers=ZH)).text()
    for word in ("余额不足", "主叫挂断", "未知分机", "线路拥塞", "应答", "无应答", "拒绝"):
        assert word in html, word
    assert "insufficient funds" not in html and "caller hung up" not in html
    # duration and talk time are different words
    assert "<th>总时长</th>" in html and "<th>通话时长</th>" in html


async def test_words_of_switches_and_times_of_day(seeded):
    seeded.csrf = await sign_in(seeded, "admin", ADMIN_PASSWORD)
    html = await (await seeded.get("/plugins", headers=ZH)).text()
    assert "开启" in html and "启动" not in html and "停止" not in html
    assert "预付费/后付费通话计费" in html  # the billing plugin's description
    form = await (await seeded.get("/calls/dial-rules/外线/edit", headers=ZH)).text()
    assert "开始时间" in form and "结束时间" in form
    assert "开始日期" not in form and "结束日期" not in form


@pytest.mark.parametrize("headers, shown", [
    (ZH, "充值金额必须大于 0"), (EN, "Recharge Amount must be greater than 0")])
async def test_a_refused_recharge_names_the_field_by_its_label(seeded, headers, shown):
    seeded.csrf = await sign_in(seeded, "bill-zh", BILLING_PASSWORD)
    resp = await seeded.post("/billing/extensions/recharge", headers=headers, data={
        "csrf_token": seeded.csrf, "extensions": ["100"], "amount": "0"})
    html = await resp.text()
    assert shown in html
    assert "amount:" not in html and "amount must" not in html


@pytest.mark.parametrize("headers, shown", [
    (ZH, ["中继 &#39;中继1&#39; 正在被使用：拨号规则 &#39;外线&#39;",
          "最大通话数：必须在 1 到 10000 之间，或留空"]),
    (EN, ["trunk &#39;中继1&#39; is used by dial rule &#39;外线&#39;",
          "must be between 1 and 10000 or empty"])])
async def test_configuration_messages_are_in_the_page_language(seeded, headers, shown):
    seeded.csrf = await sign_in(seeded, "admin", ADMIN_PASSWORD)
    resp = await seeded.post("/calls/trunks/中继1/delete", headers=headers,
                             data={"csrf_token": seeded.csrf})
    assert shown[0] in await resp.text()
    resp = await seeded.post("/calls/trunks/中继1/edit", headers=headers, data={
        "csrf_token": seeded.csrf, "dial_string": "PJSIP/{number}@carrier", "max_calls": "0"})
    html = await resp.text()
    assert resp.status == 400 and shown[1].split("：")[-1] in html


async def test_a_weak_password_is_explained_in_chinese(seeded):
    seeded.csrf = await sign_in(seeded, "admin", ADMIN_PASSWORD)
    resp = await seeded.post("/account/password", headers=ZH, data={
        "csrf_token": seeded.csrf, "current_password": ADMIN_PASSWORD,
        "new_password": "short", "new_password2": "short"})
    html = await resp.text()
    assert "密码长度至少为 8 个字符" in html and "must be" not in html

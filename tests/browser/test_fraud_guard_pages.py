"""In Chromium, in English and in Chinese (issue 18 point 7): the administrator sets the
fraud guard's limits, sees a trip on the overview (and the guard page) and unlocks the
extension in one click.  Screenshots go to $COOVOX_TEST_ARTIFACTS/screenshots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.browser import ADMIN_PASSWORD, seeding, serving

pytestmark = pytest.mark.browser
LANGS = ("en", "zh_CN")
TRIPPED = ("100", "101")  # one extension per language


async def _seed(data: Path) -> None:
    from coovox.plugins.billing import fraud, services
    from coovox.plugins.billing.fraud_rules import TRIP_SPEND_HOUR, Limits
    from coovox.plugins.calls.models import Extension
    from coovox.users import create_user

    now = datetime.now(UTC)
    async with seeding(data):
        await create_user("admin", ADMIN_PASSWORD)
        for number, name in (("100", "Alice"), ("101", "Bob")):
            await Extension.create(number=number, name=name)
        await services.update_accounts(list(TRIPPED), {"enabled": True})
        await services.update_settings({"active": True})
        for ext in TRIPPED:
            await fraud.trip(ext, TRIP_SPEND_HOUR, Limits(action="lock"), now, now, None)


@pytest.fixture(scope="module")
def server(tmp_path_factory, artifacts):
    with serving(tmp_path_factory, artifacts, "coovox-fraud", seed=_seed) as srv:
        yield srv


def test_limits_trips_on_the_overview_and_unlock(browser, server):
    b, page = browser, browser.page
    errors = b.console_errors()
    b.sign_in("admin", ADMIN_PASSWORD)
    for lang, ext in zip(LANGS, TRIPPED, strict=True):
        zh = lang == "zh_CN"
        b.use_language(lang)
        b.goto("/addons/billing/fraud", f"fraud-settings-{lang}")
        assert page.locator("label[for=spend_hour]").inner_text() == (
            "每小时消费上限" if zh else "Spend per hour")
        page.check("#guard")
        page.fill("#spend_hour", "abc")
        b.submit("#fraud-defaults button[type=submit]")
        flash = page.locator(".flash.error").inner_text()
        assert ("每小时消费上限" if zh else "Spend per hour") in flash, flash
        page.check("#guard")
        page.fill("#spend_hour", "5")
        page.fill("#blocked_prefixes", "900 00881")
        page.select_option("#action", "refuse")
        b.submit("#fraud-defaults button[type=submit]")
        assert page.locator(".flash.ok").inner_text() == ("设置已保存。" if zh
                                                          else "Settings saved.")
        assert page.locator("#spend_hour").input_value() == "5.0000"
        assert page.locator("#blocked_prefixes").input_value() == "900 00881"
        b.shot(f"fraud-saved-{lang}")
        b.goto("/", f"fraud-overview-{lang}")
        panel = page.locator("#fraud-trips")
        assert ("防盗打触发记录" if zh else "Fraud guard trips") in panel.inner_text()
        row = panel.locator(f"tr.trip[data-extension='{ext}']")
        assert ("每小时消费" if zh else "spend per hour") in row.inner_text()
        assert ("锁定分机" if zh else "Lock the extension") in row.inner_text()
        with page.expect_navigation():
            row.locator("button.unlock").click()
        assert page.locator(f"#fraud-trips tr.trip[data-extension='{ext}']").count() == 0
        b.shot(f"fraud-unlocked-{lang}")
        b.goto("/weblog", f"fraud-weblog-{lang}")
        text = page.locator("main").inner_text()
        assert f"fraud.tripped {ext}" in text
        assert "/addons/billing/fraud/unlock" in text
    b.goto("/billing/extensions", "fraud-extensions-unlocked")
    assert not [e for e in errors if "Content Security Policy" in e], errors

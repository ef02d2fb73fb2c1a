"""In Chromium, in English and in Chinese (issue 16, manual 003 §4.1.2, §4.2, §4.3.2): a
trunk with its own caller ID and preference, a round-robin dial rule choosing the second
caller ID, extensions added in bulk with caller IDs increased by 1, and a bad caller ID
named at its field.  Screenshots go to $COOVOX_TEST_ARTIFACTS/screenshots."""

from __future__ import annotations

import pytest

from tests.support.browser import ADMIN_PASSWORD

pytestmark = pytest.mark.browser

LANGS = (("en", "1000"), ("zh_CN", "2000"))


def test_caller_ids_and_call_methods_in_both_languages(browser):
    b, page = browser, browser.page
    errors = b.console_errors()
    b.sign_in("admin", ADMIN_PASSWORD)
    for lang, start in LANGS:
        b.use_language(lang)
        zh = lang == "zh_CN"
        b.goto("/calls/trunks/new", f"trunk-form-{lang}")
        assert page.locator("label[for=f-prefer]").inner_text() == ("优先使用" if zh else "Prefer")
        page.fill("#f-name", f"carrier-{lang}")
        page.fill("#f-dial_string", "PJSIP/{number}@carrier")
        page.fill("#f-caller_id", "02112345678")
        page.select_option("#f-prefer", "trunk")
        b.submit("#config-form button[type=submit]")
        assert "02112345678" in page.locator("table").inner_text()
        b.shot(f"trunks-{lang}")

        b.goto("/calls/dial-rules/new", f"rule-form-{lang}")
        method = page.locator("label[for=f-call_method]").inner_text()
        assert method == ("呼叫方法" if zh else "Call method"), method
        page.fill("#f-name", f"round-{lang}")
        page.fill("#f-pattern", "X.")
        page.locator("select[name=trunks]").first.select_option(f"carrier-{lang}")
        page.select_option("#f-call_method", "round_robin")
        page.select_option("#f-caller_id", "2")
        b.submit("#config-form button[type=submit]")
        b.goto(f"/calls/dial-rules/round-{lang}/edit", f"rule-saved-{lang}")
        assert page.locator("#f-call_method").input_value() == "round_robin"
        assert page.locator("#f-caller_id option:checked").inner_text() == (
            "分机外呼显示号码2" if zh else "Extension's caller ID 2")

        b.goto("/calls/extensions", f"extensions-{lang}")
        b.submit("#bulk-add")
        b.shot(f"bulk-form-{lang}")
        assert page.locator("h1").inner_text() == ("批量添加" if zh else "Bulk add")
        page.fill("#f-start", start)
        page.fill("#f-count", "3")
        page.fill("#f-caller_id1_start", "67293500")
        page.select_option("#f-caller_id1_method", "increment")
        b.submit("#config-form button[type=submit]")
        table = page.locator("table").inner_text()
        assert "67293502" in table and str(int(start) + 2) in table, table
        header = page.locator("table thead").inner_text()
        assert ("外呼显示号码1" if zh else "Outbound caller ID 1") in header
        b.shot(f"bulk-added-{lang}")

        b.goto("/calls/extensions/new")
        page.fill("#f-number", str(int(start) + 10))
        page.fill("#f-caller_id2", "86-10")
        b.submit("#config-form button[type=submit]")
        message = page.locator("#error-caller_id2").inner_text()
        assert message.startswith("必须是 3 到 20 位数字" if zh else "must be 3 to 20 digits")
        b.shot(f"caller-id-error-{lang}")
    assert not [e for e in errors if "Content Security Policy" in e], errors

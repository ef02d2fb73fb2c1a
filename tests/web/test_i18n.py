"""English and Simplified Chinese: choice per user, defaults, formats, complete catalogs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from coovox.models import User
from coovox.plugin_host import PluginHost
from coovox.web import i18n
from tests.support.web import ADMIN_PASSWORD, csrf_of
from tests.web.i18n_scan import msgids, template_files, unwrapped_strings

CORE = Path(i18n.__file__).parent
HOST = PluginHost()


def _template_dirs() -> dict[str, list[Path]]:
    """Template folders per plugin (all installed plugins, enabled or not)."""
    out: dict[str, list[Path]] = {"web": [CORE / "templates"]}
    for plugin, found in HOST.declared("coovox_template_dirs"):
        out.setdefault(plugin, []).extend(Path(p) for p in found)
    return out


def _zh_catalog() -> dict[str, str]:
    dirs = [CORE / "locale"] + [Path(p) for found in HOST.call_all_plugins("coovox_locale_dirs")
                                for p in found]
    return i18n.load_catalogs(dirs).get("zh_CN", {})


def _menu_labels() -> set[str]:
    """Labels of menu entries, menu sections and roles of every plugin."""
    labels: set[str] = {role.label for found in HOST.call_all_plugins("coovox_roles")
                        for role in found}
    for items in HOST.call_all_plugins("coovox_menu_items"):
        for item in items:
            labels.add(item.label)
            if item.section:
                labels.add(item.section)
    return labels


PLUGINS = sorted(_template_dirs())


@pytest.mark.parametrize("plugin", PLUGINS)
def test_templates_wrap_every_visible_string(plugin):
    problems = []
    for path in template_files(_template_dirs()[plugin]):
        for text in unwrapped_strings(path.read_text(encoding="utf-8")):
            problems.append(f"{path.name}: {text!r}")
    assert not problems, "user-visible text not wrapped in _():\n" + "\n".join(problems)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_every_template_msgid_has_a_chinese_translation(plugin):
    catalog = _zh_catalog()
    missing = sorted({f"{path.name}: {m!r}" for path in template_files(_template_dirs()[plugin])
                      for m in msgids(path.read_text(encoding="utf-8")) if m not in catalog})
    assert not missing, "no zh_CN translation for:\n" + "\n".join(missing)


def test_every_menu_and_role_label_has_a_chinese_translation():
    catalog = _zh_catalog()
    missing = sorted(label for label in _menu_labels() if label not in catalog)
    assert not missing, f"menu labels without zh_CN translation: {missing}"


def test_core_python_messages_are_translated():
    catalog = _zh_catalog()
    ids = set()
    for path in CORE.glob("*.py"):
        if path.name != "pagination.py":  # its docstring holds examples
            ids |= msgids(path.read_text(encoding="utf-8"))
    from coovox.web.security import FORM_EXPIRED

    ids.add(FORM_EXPIRED)
    missing = sorted(i for i in ids if i not in catalog)
    assert not missing, f"core messages without zh_CN translation: {missing}"


def test_scanner_catches_unwrapped_text():
    assert unwrapped_strings('<p>{{ _("Fine") }}</p><p>Not fine</p>') == ["Not fine"]
    assert unwrapped_strings('<input placeholder="Search here">') == ['placeholder="Search here"']
    assert unwrapped_strings('<b>{{ n }}</b> &lt; <code>cvx_x.csv</code> CooVox') == []
    assert msgids("""{{ _("A") }} {{ _('B %(n)s', n=1) }}""") == {"A", "B %(n)s"}


# --- choosing the language -------------------------------------------------------------------


async def test_browser_language_is_the_default(client):
    zh = await client.get("/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录" in await zh.text()
    en = await client.get("/sign-in", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in await en.text() and "登录" not in await en.text()
    other = await client.get("/sign-in", headers={"Accept-Language": "de-DE"})
    assert "Sign in" in await other.text()


async def test_choice_is_kept_in_a_cookie_and_on_the_user(admin_client):
    resp = await admin_client.post("/language", data={
        "csrf_token": admin_client.csrf, "lang": "zh_CN", "next": "/users"},
        allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/users"
    assert resp.cookies["lang"].value == "zh_CN"
    assert (await User.get(username="admin")).language == "zh_CN"
    html = await (await admin_client.get("/users", headers={"Accept-Language": "en"})).text()
    assert "账号管理" in html and "添加计费用户" in html and "共 1 条数据" in html
    # a new browser signing in as the same user gets the user's language
    admin_client.session.cookie_jar.clear()
    page = await admin_client.get("/sign-in", headers={"Accept-Language": "en"})
    resp = await admin_client.post("/sign-in", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf_of(await page.text())},
        allow_redirects=False)
    assert resp.cookies["lang"].value == "zh_CN"


async def test_an_unknown_language_is_ignored(admin_client):
    resp = await admin_client.post("/language", data={
        "csrf_token": admin_client.csrf, "lang": "xx", "next": "https://evil.example/"},
        allow_redirects=False)
    assert resp.headers["Location"] == "/" and "lang" not in resp.cookies


def test_dates_have_one_format_in_the_pbx_time_zone_in_every_language():
    moment = datetime(2026, 1, 2, 23, 30, 5, 123456, tzinfo=UTC)
    token = i18n.set_language("zh_CN")
    try:
        zh = i18n.format_datetime(moment, "Asia/Shanghai")
    finally:
        i18n._lang.reset(token)
    en = i18n.format_datetime(moment, "Asia/Shanghai")
    assert zh == en == "2026-01-03 07:30:05"
    assert i18n.format_datetime(None) == ""


def test_money_has_the_currency_sign_and_decimals():
    assert i18n.money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert i18n.money(Decimal("1234.5"), "VND") == "₫1,235"
    assert i18n.money(Decimal("1234.5"), "USD", decimals=4) == "$1,234.5000"
    token = i18n.set_language("zh_CN")
    try:
        assert i18n.money(Decimal("12.3"), "CNY") == "¥12.30"
        assert i18n.money(Decimal("12.3"), "USD") == "US$12.30"
    finally:
        i18n._lang.reset(token)

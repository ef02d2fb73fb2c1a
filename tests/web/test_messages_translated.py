"""Every message a page may show has a zh_CN translation (issue 15) -- not only the texts
of templates (test_i18n.py) but what Python code produces: every message raised by
validation code (collected from the source), every call reason and status word, plugin
descriptions, field labels.  And one word per msgid: two catalogs never translate the
same English text differently (the merged catalog would pick one at random)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from coovox import messages
from coovox.plugin_host import PluginHost
from coovox.plugins.billing import metering, validation
from coovox.plugins.calls import causes
from coovox.web import i18n

ROOT = Path(__file__).resolve().parents[2]
HOST = PluginHost()
# Exceptions whose message a page shows (the field's error, a flash, a banner)
USER_ERRORS = {"BillingError", "Invalid", "NotFound", "Conflict", "UserError", "MoneyError",
               "LicenceError"}  # (a StoreError's OS message goes into a translated one)
# modules whose ValueErrors are shown next to a list's filter
VALUE_ERROR_MODULES = {"web/pagination.py", "web/weblog.py", "plugins/calllog/queries.py"}
# command-line and developer tools: English only, never on a page
NOT_PAGES = {"cli.py", "config.py", "runner.py", "plugins/calls/simulate.py", "plugins/billing/check.py",
             "plugins/licensing/vendor.py", "plugins/licensing/reset.py"}


def _catalog() -> dict[str, str]:
    dirs = [Path(i18n.__file__).parent / "locale"]
    dirs += [Path(p) for found in HOST.call_all_plugins("coovox_locale_dirs") for p in found]
    return i18n.load_catalogs(dirs).get("zh_CN", {})


def _sources() -> list[tuple[str, Path]]:
    out = []
    examples = sorted(p for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").exists())
    for base in (ROOT / "coovox", *examples):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).as_posix()
            if "migrations" in rel or rel.startswith(("sim/", "build/")) or rel in NOT_PAGES:
                continue
            out.append((rel, path))
    return out


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def raised_messages() -> tuple[set[str], list[str]]:
    """(msgids, problems): every constant message of a user-facing error or Msg in the
    source; an f-string or a concatenation there cannot be translated (a problem)."""
    found: set[str] = set()
    problems: list[str] = []
    for rel, path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _name(node.func)
            first = node.args[0]
            user = (name in USER_ERRORS or name == "Msg"
                    or (name == "ValueError" and rel in VALUE_ERROR_MODULES))
            if not user:
                continue
            where = f"{rel}:{node.lineno}"
            for branch in _branches(first):
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                    found.add(branch.value)
                elif isinstance(branch, ast.JoinedStr | ast.BinOp):
                    problems.append(f"{where}: {name}(f-string or +): use Msg(template, "
                                    "**params)")
    return found, problems


def _branches(node: ast.AST) -> list[ast.AST]:
    """``a if c else b`` -> both; anything else -> itself."""
    if isinstance(node, ast.IfExp):
        return [*_branches(node.body), *_branches(node.orelse)]
    return [node]


def test_messages_raised_for_users_are_translatable_templates():
    _, problems = raised_messages()
    assert not problems, "\n".join(problems)


def test_every_message_raised_for_users_has_a_chinese_translation():
    catalog = _catalog()
    found, _ = raised_messages()
    assert len(found) > 80  # the scan does find them
    missing = sorted(m for m in found if m not in catalog)
    assert not missing, "no zh_CN translation for:\n" + "\n".join(missing)


def _http_phrases() -> set[str]:
    from http import HTTPStatus

    return {HTTPStatus(c).phrase for c in (200, 201, 204, 302, 303, 400, 401, 403, 404, 405,
                                           409, 413, 415, 422, 429, 500, 503)}


def _words() -> dict[str, set[str]]:
    from coovox.plugins.licensing.services import KNOWN_FEATURES
    from coovox.plugins.outbound.pages import DAYS, SPECS
    from coovox.plugins.outbound.services import KINDS

    labels = {f.label for spec in SPECS for f in spec.fields}
    labels |= {f.help for spec in SPECS for f in spec.fields if f.help}
    labels |= {label for spec in SPECS for _, label, _ in spec.columns}
    labels |= {label for spec in SPECS for _, label, _ in spec.filters}
    return {
        "call reasons": set(causes.REASONS) | {metering.REFUSE_LOCKED, metering.REFUSE_FUNDS,
                                                metering.REFUSE_NO_RATE, metering.CUT_ERROR},
        "call statuses": {causes.ACTIVE, *causes.END_STATUSES, "talking", "dialling"},
        "account words": {*validation.STATUSES, *validation.PAYMENT_TYPES},
        "plugin descriptions": {p.description for p in HOST.infos() if p.description},
        "field labels": set(messages.LABELS.values()),
        "configuration labels": labels | set(DAYS),
        "features": set(KNOWN_FEATURES),
        "web log results": _http_phrases() | {"sign-in refused"},
        "kinds of configuration": {kind.name for kind in KINDS.values()},
    }


@pytest.mark.parametrize("kind", sorted(_words()))
def test_every_word_shown_from_code_has_a_chinese_translation(kind):
    catalog = _catalog()
    missing = sorted(w for w in _words()[kind] if w not in catalog)
    assert not missing, f"{kind} without zh_CN translation: {missing}"


def test_one_translation_per_english_text_across_catalogs():
    from babel.messages.pofile import read_po

    dirs = [Path(i18n.__file__).parent / "locale"]
    dirs += [Path(p) for found in HOST.call_all_plugins("coovox_locale_dirs") for p in found]
    seen: dict[str, dict[str, list[str]]] = {}
    for folder in dirs:
        po = folder / "zh_CN.po"
        if not po.exists():
            continue
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id and message.string:
                    seen.setdefault(str(message.id), {}).setdefault(
                        str(message.string), []).append(folder.parent.name)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not clashes, "different translations of the same text:\n" + "\n".join(
        f"{k!r}: {v}" for k, v in sorted(clashes.items()))


@pytest.mark.parametrize("english, chinese", [
    ("On", "开启"), ("Off", "关闭"),  # a switch (not 启动/停止: start/stop a machine)
    ("Duration", "总时长"), ("Talk time", "通话时长"),  # from start / from answer
    ("Start time", "开始时间"), ("End time", "结束时间"),  # times of day
    ("Start date", "开始日期"), ("End date", "结束日期"),
])
def test_words_the_guides_use(english, chinese):
    assert _catalog()[english] == chinese

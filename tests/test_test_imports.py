"""Tests tidy (issue 13 point 8): shared fixtures and helpers live in ``tests/support``
(fixtures registered with ``pytest_plugins`` in ``tests/conftest.py``); no test module
imports another test module or a conftest.

``KNOWN`` lists the imports of that kind still left (importer -> imported); the test fails
on a new one and on an entry that is gone (so the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

KNOWN: set[tuple[str, str]] = {
    ("tests.ari.test_connection", "tests.ari.conftest"),
    ("tests.ari.test_swagger_check", "tests.ari.conftest"),
    ("tests.browser.test_accounts_flow", "tests.browser.conftest"),
    ("tests.browser.test_billing_flow", "tests.browser.conftest"),
    ("tests.browser.test_caller_id_pages", "tests.browser.conftest"),
    ("tests.browser.test_csp", "tests.browser.conftest"),
    ("tests.browser.test_fraud_guard_pages", "tests.browser.conftest"),
    ("tests.browser.test_issue15_pages", "tests.browser.conftest"),
    ("tests.browser.test_issue16_pages", "tests.browser.conftest"),
    ("tests.plugins.billing.pg_worker", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_api", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_check", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_deck_api", "tests.plugins.billing.test_api"),
    ("tests.plugins.billing.test_deck_pages", "tests.plugins.billing.test_pages"),
    ("tests.plugins.billing.test_decks", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_fraud_dialects", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_fraud_e2e", "tests.plugins.billing.test_e2e"),
    ("tests.plugins.billing.test_fraud_guard", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_fraud_pages", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_gate", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_invariants_pg", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_ledger", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_ledger_dialects", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_metering", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_money_cap", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_money_rules", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_pages", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_pages_issue15", "tests.plugins.billing.conftest"),
    ("tests.plugins.billing.test_pages_issue16", "tests.plugins.billing.test_pages_issue15"),
    ("tests.plugins.billing.test_services", "tests.plugins.billing.conftest"),
    ("tests.plugins.licensing.test_reset", "tests.plugins.licensing.conftest"),
    ("tests.plugins.licensing.test_services", "tests.plugins.licensing.conftest"),
    ("tests.plugins.licensing.test_store", "tests.plugins.licensing.conftest"),
    ("tests.plugins.licensing.test_views", "tests.plugins.licensing.conftest"),
    ("tests.reliability.conftest", "tests.plugins.billing.conftest"),
    ("tests.reliability.test_bad_events", "tests.plugins.billing.test_e2e"),
    ("tests.reliability.test_books", "tests.plugins.billing.conftest"),
    ("tests.reliability.test_crash", "tests.reliability.conftest"),
    ("tests.reliability.test_database_trouble", "tests.plugins.billing.test_e2e"),
    ("tests.reliability.test_database_trouble", "tests.reliability.conftest"),
    ("tests.reliability.test_database_trouble", "tests.reliability.test_crash"),
    ("tests.reliability.test_interleavings", "tests.plugins.billing.conftest"),
    ("tests.reliability.test_interleavings", "tests.reliability.conftest"),
    ("tests.reliability.test_lost_asterisk", "tests.plugins.billing.test_e2e"),
    ("tests.reliability.test_two_nodes", "tests.reliability.conftest"),
    ("tests.reliability.test_two_nodes", "tests.reliability.test_crash"),
    ("tests.security.conftest", "tests.web.conftest"),
    ("tests.security.test_access_roles", "tests.web.test_access"),
    ("tests.security.test_api_fuzz", "tests.reliability.conftest"),
    ("tests.security.test_bad_files", "tests.reliability.conftest"),
    ("tests.sim.test_conformance", "tests.sim.conftest"),
    ("tests.sim.test_double", "tests.sim.conftest"),
    ("tests.sim.test_transcripts", "tests.sim.conftest"),
    ("tests.web.test_language_pages", "tests.web.test_access"),
    ("tests.web.test_security", "tests.web.test_access"),
}


def _forbidden(target: str) -> bool:
    last = target.rsplit(".", 1)[-1]
    return target.startswith("tests.") and (last == "conftest" or last.startswith("test_"))


def test_module_imports() -> set[tuple[str, str]]:
    """(importer, imported) for every import of a test module or a conftest under tests/."""
    out: set[tuple[str, str]] = set()
    for path in sorted(TESTS.rglob("*.py")):
        importer = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            out |= {(importer, n) for n in names if _forbidden(n)}
    return out


test_module_imports.__test__ = False  # a helper, not a test


def test_no_test_module_imports_another_or_a_conftest():
    found = test_module_imports()
    new = sorted(found - KNOWN)
    assert not new, "import a helper from tests/support instead:\n" + "\n".join(
        f"{a} imports {b}" for a, b in new)


def test_the_list_of_known_imports_only_shrinks():
    gone = sorted(KNOWN - test_module_imports())
    assert not gone, "remove from KNOWN:\n" + "\n".join(f"{a} -> {b}" for a, b in gone)

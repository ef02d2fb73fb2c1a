"""Issue 14, point 2: no input gives a 5xx, on any route.

Walks the application's own routes (from the router, not a list kept by hand):

- every API operation of ``/api/v1/openapi.json``: each path parameter, each declared query
  parameter and each field of the request body filled with odd values;
- every page: each path parameter filled with odd values; the GET pages' forms (found in
  their HTML, dialogs included) posted with each field set to odd values, with a valid CSRF
  token; GET filter forms sent with odd query values;

as an administrator and as a billing user.  Odd values: 300+ characters, NUL, newline,
right-to-left marks, emoji, huge and negative numbers (1e400, -0, 32 nines), loose number
spellings, lists and objects where text is expected.  No answer may be a 5xx and nothing
may be logged as an error (no traceback).  Run time is kept modest (one pass, well under
a minute).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

from coovox.plugins.billing import services
from coovox.users import create_token, create_user
from coovox.web.keys import ROUTES_KEY
from tests.support.call_app import seed
from tests.support.web import sign_in

ODD = ["x" * 300, "9" * 301, "a\x00b", "\x00", "line\nbreak", "\u202eevil\u2066", "😀" * 120,
       "1e400", "-0", "99999999999999999999999999999999", "-1", "", "  ", "1_000", "１０",
       ".5", "\u0663", str(2**63), "../../../etc/passwd", "<script>x</script>", "'\";--",
       "null", "%00", "\u200f\u200e"]
ODD_JSON: list[Any] = [*ODD, 10**40, -(10**40), -0.0, True, None, [], {}, ["x" * 300],
                       {"a": "\x00"}, 1.5]
PATH_ODD = ["x" * 300, "9" * 40, "a\x00b", "line\nbreak", "\u202eevil", "😀" * 80, "1e400",
            "-0", "99999999999999999999999999999999", "0", "-1", "%00", "..", "١٢"]
# would end the fuzzing session or switch a plugin off (covered by tests/web)
SKIP_ACTIONS = ("/sign-out", "/plugins/", "/sign-in", "/language")
# forms that end the fuzzing user's own web session (its sessions page, "sign out
# everywhere" on the users page); their routes' path parameters are still fuzzed
SKIP_FORMS = re.compile(r"^/account/sessions/[0-9]+/end$|^/users/[^/]+/sessions/end$")
SKIP_API = {("PATCH", "/api/v1/plugins/{name}"), ("DELETE", "/api/v1/tokens/{id}")}
PASSWORD = "Fuzz-pass-123"
URL_LIMIT = 6000  # aiohttp refuses a request line over 8190 bytes (and logs a traceback)


class Forms(HTMLParser):
    """The forms of a page: action, method, enctype and fields with their first value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "enctype": a.get("enctype", ""), "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            fields = self._form["fields"]
            if tag == "select":
                self._select = a["name"]
                fields.setdefault(a["name"], "")
            elif kind == "checkbox":
                fields.setdefault(a["name"], a.get("value", "on"))
            else:
                fields.setdefault(a["name"], a.get("value", ""))
        elif tag == "option" and self._form is not None and self._select:
            if not self._form["fields"].get(self._select):
                self._form["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


class Fuzzer:
    def __init__(self, client, role: str) -> None:
        self.client = client
        self.role = role
        self.statuses: Counter = Counter()
        self.problems: list[str] = []
        self.requests = 0
        self.headers: dict[str, str] = {}

    async def send(self, method: str, url: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        resp = await self.client.request(method, url, allow_redirects=False, headers=headers,
                                         **kw)
        body = await resp.read()
        self.requests += 1
        self.statuses[f"{resp.status // 100}xx"] += 1
        where = f"[{self.role}] {method} {url[:120]!r} {str(kw)[:160]}"
        if resp.status >= 500:
            self.problems.append(f"{where} -> {resp.status} {body[:200]!r}")
        elif b"Traceback" in body:
            self.problems.append(f"{where} -> a traceback in the answer")
        elif resp.content_type == "text/html" and b"\x00" in body:
            self.problems.append(f"{where} -> a raw NUL in the page")
        return resp, body


def fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::[^{}]*)?\}", lambda m: quote(values[m.group(1)], safe=""),
                  template)


def params_of(template: str) -> list[tuple[str, str | None]]:
    """(name, regex or None) of each ``{name}`` / ``{name:regex}`` of a route path."""
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"\{(\w+)(?::([^{}]*))?\}", template)]


def path_values(template: str, valid: dict[str, str]) -> list[str]:
    """URLs of ``template`` with each parameter odd in turn (the others valid)."""
    out = []
    for name, regex in params_of(template):
        for odd in PATH_ODD:
            if regex and not re.fullmatch(regex, odd):
                continue  # the router would not even match it (a 404 of aiohttp)
            out.append(fill(template, {**valid, name: odd}))
    return out


async def fuzz_api(fz: Fuzzer, doc: dict[str, Any]) -> None:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            method = method.upper()
            if (method, path) in SKIP_API:
                continue
            names = [n for n, _r in params_of(path)]
            urls = path_values(path, {n: "100" for n in names}) if names else [path]
            props = list(((((op.get("requestBody") or {}).get("content") or {})
                           .get("application/json") or {}).get("schema") or {})
                         .get("properties", {}) or {})
            props = props or ["name", "number", "amount", "extension", "extensions", "credit",
                              "reason", "password", "user", "enabled"]
            queries = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            for url in urls[::2]:  # every other odd path value: both kinds are covered
                await fz.send(method, url, json={p: "x" for p in props}
                              if method in ("POST", "PATCH", "PUT") else None)
            base = fill(path, {n: "100" for n in names})
            for value in ODD_JSON:
                if method in ("POST", "PATCH", "PUT"):
                    await fz.send(method, base, json={p: value for p in props})
                elif method == "GET" and queries and isinstance(value, str):
                    params = {q: value for q in queries}
                    if len(urlencode(params)) < URL_LIMIT:
                        await fz.send("GET", base, params=params)
                    else:
                        for q in queries:
                            await fz.send("GET", base, params={q: value})
            if method in ("POST", "PATCH", "PUT"):
                for raw in ('{"amount": 1e400, "credit": -0}', "[1,", '{"a":' * 50,
                            json.dumps({p: 10**30 for p in props})):
                    await fz.send(method, base, data=raw,
                                  headers={"Content-Type": "application/json"})


def odd_form(fields: dict[str, str], value: str, only: str | None = None) -> dict[str, Any]:
    out = {}
    for name, default in fields.items():
        if name == "csrf_token":
            out[name] = default
        elif only is None or name == only:
            out[name] = value
        else:
            out[name] = default
    return out


async def post_form(fz: Fuzzer, form: dict[str, Any], data: dict[str, Any]) -> None:
    if "multipart" in form["enctype"]:
        from aiohttp import FormData

        body = FormData()
        for name, value in data.items():
            if name in ("file", "licence"):
                body.add_field(name, value.encode(), filename="x.csv",
                               content_type="text/csv")
            else:
                body.add_field(name, value)
        await fz.send("POST", form["action"], data=body)
    else:
        await fz.send("POST", form["action"], data=data)


async def fuzz_pages(fz: Fuzzer, app, valid: dict[str, str]) -> None:
    routes = app[ROUTES_KEY]
    pages = []
    for route in routes.values():
        if route.api:
            continue
        path = route.path
        if route.method == "GET" and "{" not in path:
            pages.append(path)
        if any(path.startswith(s) for s in SKIP_ACTIONS):
            continue
        names = [n for n, _r in params_of(path)]
        for url in path_values(path, {n: valid.get(n, "100") for n in names}):
            if route.method == "GET":
                await fz.send("GET", url)
            else:
                await fz.send("POST", url, data={"csrf_token": fz.client.csrf, "name": "x"})
    # the forms of every page (and of edit pages of existing objects)
    pages += [fill(r.path, valid) for r in routes.values()
              if not r.api and r.method == "GET" and "{" in r.path]
    forms: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    for page in pages:
        resp, body = await fz.send("GET", page)
        if resp.status != 200 or resp.content_type != "text/html":
            continue
        parser = Forms()
        parser.feed(body.decode("utf-8", "replace"))
        for form in parser.forms:
            action = form["action"] or page
            form["action"] = urlsplit(action).path or page
            if any(form["action"].startswith(s) for s in SKIP_ACTIONS) \
                    or SKIP_FORMS.match(form["action"]):
                continue
            if form["method"] == "post" and "csrf_token" not in form["fields"]:
                form["fields"]["csrf_token"] = fz.client.csrf
            key = (form["method"], re.sub(r"/\d+(?=/|$)", "/N", form["action"]),
                   tuple(sorted(form["fields"])))
            forms.setdefault(key, form)
    # deleting forms last, so that the others still find what they edit
    for form in sorted(forms.values(), key=lambda f: ("delete" in f["action"],
                                                      "revoke" in f["action"])):
        fields = form["fields"]
        if form["method"] == "get":
            for value in ODD:
                params = odd_form(fields, value)
                if len(urlencode(params)) < URL_LIMIT:
                    await fz.send("GET", form["action"], params=params)
                else:  # one field at a time: the request line stays under aiohttp's 8 KiB
                    for name in fields:
                        await fz.send("GET", form["action"],
                                      params=odd_form(fields, value, only=name))
            continue
        for value in ODD:
            await post_form(fz, form, odd_form(fields, value))
        for name in fields:
            if name != "csrf_token":
                for value in ("x" * 300, "a\x00b", "99999999999999999999999999999999",
                              "1e400"):
                    await post_form(fz, form, odd_form(fields, value, only=name))


@pytest.fixture
async def world(coovox):
    await seed()
    await create_user("admin", PASSWORD)
    await create_user("bill-fz1", PASSWORD, role="billing")
    await services.update_accounts(["100"], {"enabled": True, "credit": Decimal("1")})
    await services.recharge(["100"], "5", "test", datetime.now(UTC))
    rate = await services.create_rate({"prefix": "9", "initial_cost": "0", "initial_time": 0,
                                       "rate": "0.01", "unit": 1, "extensions": "all"})
    return {"key": "100", "id": str(rate.id), "name": "bill-fz1", "feature": "billing",
            "extension": "100", "number": "100"}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("role", ["admin", "billing"])
async def test_no_input_gives_a_5xx_or_a_traceback(client, world, role, caplog):
    caplog.set_level(logging.WARNING)
    user = "admin" if role == "admin" else "bill-fz1"
    client.csrf = await sign_in(client, user, PASSWORD)
    fz = Fuzzer(client, role)
    t0 = time.monotonic()
    doc = json.loads((await fz.send("GET", "/api/v1/openapi.json"))[1])
    # the API as a script uses it (a token), then the pages with the session and CSRF
    _, token = await create_token(user)
    fz.headers = {"Authorization": f"Bearer {token}"}
    await fuzz_api(fz, doc)
    fz.headers = {}
    await fuzz_pages(fz, client.server.app, world)
    # signed out: the sign-in form with odd names (three: below the throttle's free tries)
    client.session.cookie_jar.clear()
    page = (await fz.send("GET", "/sign-in"))[1].decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for odd in ("x" * 300, "a\x00b", "\u202e😀" * 50):
        await fz.send("POST", "/sign-in", data={"csrf_token": csrf, "username": odd,
                                                "password": odd, "next": odd})
    took = time.monotonic() - t0
    print(f"\n[{role}] {fz.requests} requests in {took:.0f} s: {dict(fz.statuses)}")
    assert fz.requests > 1000 and fz.statuses["2xx"] > 0 and fz.statuses["4xx"] > 0
    assert fz.problems == [], "\n".join(fz.problems[:40])
    errors = [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records
              if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], "\n".join(errors[:20])

"""Signing in through the web forms (shared by the web, plugin and security tests)."""

from __future__ import annotations

import itertools
import re

from coovox.web.openapi import PARAM_RE

ADMIN_PASSWORD = "Admin-pass-1"
USER_PASSWORD = "User-pass-1"
_counter = itertools.count(1)


async def sign_in(client, username: str, password: str) -> str:
    """Sign in through the form; returns the CSRF token for later forms."""
    page = await client.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    resp = await client.post("/sign-in", data={"username": username, "password": password,
                                                "csrf_token": csrf, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 302, await resp.text()
    page = await client.get("/sign-in")
    return re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def become(client, role: str | None, name: str | None = None) -> str | None:
    """Forget the client's cookies and, unless ``role`` is None, sign in as a new user of
    that role (``client.csrf`` is then its CSRF token). Returns the user name."""
    from coovox.users import create_user

    client.session.cookie_jar.clear()
    if role is None:
        client.csrf = None
        return None
    name = name or f"{role}-{next(_counter)}"
    await create_user(name, USER_PASSWORD, role)
    client.csrf = await sign_in(client, name, USER_PASSWORD)
    return name


async def token_for(username: str) -> str:
    from coovox.users import create_token

    return (await create_token(username))[1]


# path parameters: a value each pattern accepts, digits for ids
CANDIDATES = ("x1", "1", "x", "a", "100", "billing", "x.csv")


def sample_path(path: str) -> str:
    """Fill path parameters with a value their pattern accepts (digits for ids)."""
    def fill(m):
        text = m.group(0)[1:-1]
        pattern = text.split(":", 1)[1] if ":" in text else "[^{}/]+"
        if m.group(1) in ("id", "pk"):
            pattern = f"(?=\\d+$){pattern}"
        for value in CANDIDATES:
            if re.fullmatch(pattern, value):
                return value
        raise AssertionError(f"no sample value for {m.group(0)} in {path}")
    return PARAM_RE.sub(fill, path)

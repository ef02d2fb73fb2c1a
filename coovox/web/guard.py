"""The front door of every request, before anything reads it.

- who is really calling: behind a trusted reverse proxy (``trusted_proxies``) the client
  address comes from ``X-Forwarded-For`` and HTTPS from ``X-Forwarded-Proto``; from anyone
  else these headers are ignored;
- how much body it may send: a per-route limit checked against ``Content-Length`` before
  a byte of the body is read (413 at once), and enforced while reading bodies without a
  length (chunked);
- the security headers of every answer (pages, API, static files, errors).

The middleware hands the rest of the application a clone of the request
(:meth:`aiohttp.web.BaseRequest.clone`) carrying the real address, scheme and body limit,
so ``request.remote``, ``request.secure`` and ``request.post()`` are right everywhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from coovox.hooktypes import Route
from coovox.web.errors import error_body
from coovox.web.keys import ROUTES_KEY

KIB = 1024
MIB = 1024 * KIB
ANONYMOUS_MAX_BODY = 16 * KIB  # a request carrying no session cookie and no API token
FORM_MAX_BODY = 64 * KIB       # a page's form (aiohttp also caps it at 1,000 fields)
API_MAX_BODY = 1 * MIB         # a JSON API request
APP_MAX_BODY = 20 * MIB        # the most any route may declare (CSV import)
SESSION_COOKIE = "coovox_session"

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SERVER_NAME = "CooVox"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class TrustedProxies:
    """The reverse proxies whose forwarding headers are believed (none by default)."""

    def __init__(self, networks: Iterable[str] = ()):
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(
            address.version == n.version and address in n for n in self.networks)

    def client(self, peer: str | None, headers) -> tuple[str | None, str | None]:
        """The client's address and scheme (``"https"``/``"http"``, or None: unchanged).

        ``X-Forwarded-For`` is read from the right: each hop added by a trusted proxy is
        skipped, the first address not trusted is the client.
        """
        peer_addr = _address(peer or "")
        if not self.trusts(peer_addr):
            return peer, None
        client: Address | None = peer_addr
        hops = [h for value in headers.getall("X-Forwarded-For", ()) for h in value.split(",")]
        for hop in reversed(hops):
            addr = _address(hop)
            if addr is None:
                break  # garbage: stop at the last address a trusted proxy vouched for
            client = addr
            if not self.trusts(addr):
                break
        scheme = None
        proto = headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
        return (str(client) if client is not None else peer), scheme


PROXIES_KEY: web.AppKey[TrustedProxies] = web.AppKey("trusted_proxies", TrustedProxies)


def is_local_probe(request: web.Request) -> bool:
    """A request from this machine (127.0.0.1 or ::1) that no proxy forwarded."""
    if any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP")):
        return False
    addr = _address(request.remote or "")  # no forwarding header: the TCP peer itself
    return addr is not None and addr.is_loopback


def _route(request: web.Request) -> Route | None:
    name = getattr(request.match_info.route, "name", None)
    return request.app[ROUTES_KEY].get(name) if name else None


def _has_credentials(request: web.Request) -> bool:
    return (SESSION_COOKIE in request.cookies
            or request.headers.get("Authorization", "").startswith("Bearer "))


def body_limit(request: web.Request, route: Route | None) -> int:
    """The most body bytes this request may send."""
    if route is None:
        limit = ANONYMOUS_MAX_BODY
    elif route.max_body is not None:
        limit = min(route.max_body, APP_MAX_BODY)
    else:
        limit = API_MAX_BODY if route.api else FORM_MAX_BODY
    if route is None or route.public or not _has_credentials(request):
        limit = min(limit, ANONYMOUS_MAX_BODY)
    return limit


def too_large(request: web.Request, limit: int) -> web.Response:
    """413 in the api.md shape (API) or a short text in the visitor's language; the
    connection is closed after it (the rest of the body is never stored)."""
    if request.path.startswith("/api/"):
        message = f"the request body is too large: at most {_size(limit)} here"
        response: web.Response = web.json_response(error_body(413, message), status=413)
    else:
        from coovox.web import i18n

        token = i18n.set_language(i18n.pick_language(request))
        try:
            text = i18n.gettext("The request is too large: at most %(size)s here.",
                                size=_size(limit))
        finally:
            i18n.reset_language(token)
        response = web.Response(status=413, text=f"413: {text}")
    response.force_close()
    return response


def _size(n: int) -> str:
    return f"{n // MIB} MB" if n >= MIB and n % MIB == 0 else f"{n // KIB} KB"


@web.middleware
async def front_middleware(request: web.Request, handler):
    route = _route(request)
    limit = body_limit(request, route)
    length = request.content_length
    if length is not None and length > limit:
        return too_large(request, limit)
    remote, scheme = request.app[PROXIES_KEY].client(request.remote, request.headers)
    changes: dict = {"client_max_size": limit}
    if remote != request.remote:
        changes["remote"] = remote or ""
    if scheme is not None and scheme != request.scheme:
        changes["scheme"] = scheme
    return await handler(request.clone(**changes))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the same protective headers on every answer."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER_NAME
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def setup_guard(app: web.Application, trusted_proxies: Iterable[str]) -> None:
    """Install the front middleware (outermost) and the response headers."""
    app[PROXIES_KEY] = TrustedProxies(trusted_proxies)
    app.middlewares.insert(0, front_middleware)
    app.on_response_prepare.append(security_headers)

"""JSON API errors in the shape of api.md: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from coovox.web.keys import JSON_KEY

STATUS_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """Raise from an API handler to answer a JSON error."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or STATUS_CODES.get(status, "error")


def error_body(status: int, message: str, field: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code or STATUS_CODES.get(status, "error"), "message": message}
    if field:
        body["field"] = field
    return {"error": body}


def json_error(status: int, message: str, field: str | None = None,
               code: str | None = None) -> web.Response:
    return web.json_response(error_body(status, message, field, code), status=status)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or ApiError 400 naming the problem.

    A body over the route's size limit stays a 413 (``HTTPRequestEntityTooLarge``).  When
    the route's body model has checked it already, the checked copy is answered.
    """
    checked = request.get(JSON_KEY)
    if isinstance(checked, dict):
        return checked
    raw = await request.read()
    charset = request.charset or "utf-8"
    try:
        text = raw.decode(charset)
    except LookupError:
        raise ApiError(400, f"unknown character set {charset[:40]!r} in Content-Type",
                       "body") from None
    except UnicodeDecodeError:
        raise ApiError(400, f"the body is not valid {charset[:40]} text", "body") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON: nested too deeply", "body") from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"the body is not valid JSON{where}", "body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", "body")
    return data

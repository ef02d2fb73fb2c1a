"""JSON API errors in the shape of api.md: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

STATUS_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
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
    """The request's JSON object body, or ApiError 400 naming the problem."""
    try:
        data = await request.json()
    except Exception:
        raise ApiError(400, "the body must be a JSON object", "body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", "body")
    return data

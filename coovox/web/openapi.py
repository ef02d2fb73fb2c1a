"""The OpenAPI 3.1 document of every registered API route (``/api/v1/openapi.json``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from coovox import __version__
from coovox.hooktypes import Route
from coovox.web.keys import ROUTES_KEY

PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "examples": ["invalid", "not_found"]},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "the input at fault"},
        },
    }},
}

LIST_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
]


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def openapi_path(path: str) -> tuple[str, list[str]]:
    """aiohttp's ``/x/{name:regex}`` as OpenAPI ``/x/{name}``, and the parameter names."""
    names = PARAM_RE.findall(path)
    return PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", path), names


def operation(route: Route) -> dict[str, Any]:
    """The operation object of one route: defaults, then the route's ``openapi`` dict."""
    _, names = openapi_path(route.path)
    op: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.name.replace("_", " "),
        "responses": {"200": {"description": "success"}},
    }
    extra = copy.deepcopy(route.openapi or {})
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in names]
    given = {(p.get("name"), p.get("in")) for p in extra.get("parameters", [])
             if isinstance(p, dict)}
    params = [p for p in params if (p["name"], "path") not in given]
    if route.method == "GET" and route.openapi and route.openapi.get("list"):
        params += [p for p in LIST_PARAMETERS if (p["name"], "query") not in given]
    extra.pop("list", None)
    op.update(extra)
    op["parameters"] = params + list(extra.get("parameters", []))
    if not op["parameters"]:
        del op["parameters"]
    roles = ", ".join(route.roles) if route.roles else "anyone"
    op.setdefault("description", f"Roles: {roles} (admin may always).")
    responses = op["responses"]
    responses.setdefault("400", _error("bad input (the field and the reason)"))
    responses.setdefault("401", _error("not signed in / no valid token"))
    responses.setdefault("403", _error("the role may not use this"))
    if names:
        responses.setdefault("404", _error("not found"))
    if route.public:
        op["security"] = []
    return op


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.api:
            continue
        path, _ = openapi_path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "CooVox ARI API", "version": __version__,
                 "description": "Errors: {\"error\": {\"code\", \"message\", \"field\"}}. "
                                "Money as strings with 4 decimals, times ISO 8601. Money "
                                "input: ASCII digits, an optional sign, a digit before the "
                                "point, at most 4 decimals (no exponent, no underscores). "
                                "The largest balance (and credit, amount, rate) is "
                                "1000000000.0000: more is a 400 naming the field. A change "
                                "that would leave a balance below -credit is a 409."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token (coovox token create, /tokens)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "coovox_session",
                            "description": "the browser's session (needs X-CSRF-Token)"},
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app[ROUTES_KEY].values()))

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
from coovox.web.schema import XLSX, Downloadable, Error

REF = "#/components/schemas/{model}"
HTTP_WORDS = {200: "success", 201: "created", 204: "done, no body", 400: "bad input",
              401: "not signed in / no valid token", 403: "the role may not use this",
              404: "not found", 405: "no such method", 409: "conflict", 413: "too large",
              415: "not JSON", 429: "too many requests", 503: "unavailable"}
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


def _allows_null(node: dict[str, Any]) -> bool:
    kinds = node.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(isinstance(o, dict) and _allows_null(o) for o in node.get("anyOf", ()))


def _tidy(node: Any) -> Any:
    """Drop ``"default": null`` where null is not a valid value (a field that may be left
    out but not sent as null): OpenAPI wants defaults of the declared type."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node):
            del node["default"]
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)
    return node


def _model_schema(model: type, defs: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema as a ``$ref``; its definitions go to ``components``."""
    schema = _tidy(model.model_json_schema(ref_template=REF, mode="validation"))  # type: ignore[attr-defined]
    defs.update(schema.pop("$defs", {}))
    name = schema.get("title", model.__name__)
    defs[name] = schema
    return {"$ref": REF.format(model=name)}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` of a query parameter is just X (an absent parameter is the None)."""
    options = schema.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**kept[0], **rest}
    return {k: v for k, v in schema.items() if k != "default"}


def query_parameters(model: type) -> list[dict[str, Any]]:
    """The query parameters of a query model."""
    schema = model.model_json_schema(mode="validation")  # type: ignore[attr-defined]
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(prop)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if "description" in prop:
            param["description"] = prop.pop("description")
        out.append(param)
    return out


def _responses(route: Route, defs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, spec in (route.responses or {}).items():
        if isinstance(spec, dict):
            out[str(status)] = spec
        elif spec is None:
            out[str(status)] = {"description": HTTP_WORDS.get(status, "answer")}
        elif isinstance(spec, Downloadable):
            out[str(status)] = {"description": "one page as JSON, or every row as CSV/XLSX "
                                "(format=)", "content": {
                "application/json": {"schema": _model_schema(spec.model, defs)},
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}}}}
        elif spec is Error:
            out[str(status)] = _error(HTTP_WORDS.get(status, "error"))
        else:
            out[str(status)] = {"description": HTTP_WORDS.get(status, "answer"), "content": {
                "application/json": {"schema": _model_schema(spec, defs)}}}
    return out


def operation(route: Route, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The operation object of one route: from its models (``body``, ``query``,
    ``responses``) when it declares them, else from its ``openapi`` dict; then the
    statuses every API route may answer."""
    defs = {} if defs is None else defs
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
    if route.query is not None:
        params += [p for p in query_parameters(route.query)
                   if (p["name"], "query") not in given]
    elif route.method == "GET" and route.openapi and route.openapi.get("list"):
        params += [p for p in LIST_PARAMETERS if (p["name"], "query") not in given]
    extra.pop("list", None)
    if route.responses:
        op["responses"] = extra.pop("responses", {}) | _responses(route, defs)
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _model_schema(route.body, defs)}}}
        extra.pop("requestBody", None)
    op.update(extra)
    op["parameters"] = params + list(extra.get("parameters", []))
    if not op["parameters"]:
        del op["parameters"]
    roles = ", ".join(route.roles) if route.roles else "anyone"
    op.setdefault("description", f"Roles: {roles} (admin may always).")
    responses = op["responses"]
    responses.setdefault("400", _error("bad input (the field and the reason)"))
    if not route.public:
        responses.setdefault("401", _error("not signed in / no valid token"))
        responses.setdefault("403", _error("the role may not use this"))
    responses.setdefault("404", _error("not found (or its plugin is disabled)"))
    responses.setdefault("405", {**_error("the path has no such method"), "headers": {
        "Allow": {"description": "the methods the path has", "schema": {"type": "string"}}}})
    if "requestBody" in op:
        responses.setdefault("413", _error("the body is larger than the route accepts"))
        if "application/json" in op["requestBody"].get("content", {}):
            responses.setdefault("415", _error("the body is not JSON"))
    if route.public:
        op["security"] = []
    return op


def build_document(routes: Iterable[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    defs: dict[str, Any] = {}
    for route in routes:
        if not route.api:
            continue
        path, _ = openapi_path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = operation(route, defs)
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
            "schemas": {**dict(sorted(defs.items())), "Error": ERROR_SCHEMA},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app[ROUTES_KEY].values()))

"""The rate deck JSON API (``/api/v1/billing/decks...``), roles billing and admin."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from coovox.export_files import BOM
from coovox.hooktypes import Route
from coovox.messages import Msg
from coovox.plugins.billing import deck_import, deck_services
from coovox.plugins.billing import schemas as s
from coovox.plugins.billing.api import ROLES, TAGS, api_errors, now, tz_of, who
from coovox.plugins.billing.validation import BillingError, flag
from coovox.web.errors import read_json
from coovox.web.schema import XLSX, Error

# the form fields of a multipart upload, for the parameters read after it
DECK_FORM_KEY: web.RequestKey[dict[str, str]] = web.RequestKey("deck_form", dict)

MAX_FILE = 20 * 1024 * 1024  # the most a deck file may be (the app's body limit)


def meter(request: web.Request) -> Any:
    from coovox.plugins.billing import stasis

    return stasis.meter()


@contextlib.asynccontextmanager
async def uploaded(request: web.Request) -> AsyncIterator[tuple[Path, str, str]]:
    """The request's deck file saved to a temporary file, streamed (constant memory):
    a multipart ``file`` part, or the raw body (CSV unless the type says .xlsx).
    Yields (path, kind, file name) and form fields in ``request[DECK_FORM_KEY]``."""
    fd, name = tempfile.mkstemp(prefix="coovox-deck-")
    path = Path(name)
    form: dict[str, str] = {}
    filename = request.query.get("filename", "")
    content_type = request.content_type
    try:
        with os.fdopen(fd, "wb") as out:
            if content_type.startswith("multipart/"):
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if part.name == "file" and part.filename is not None:
                        filename = part.filename
                        content_type = part.headers.get("Content-Type", "")
                        while chunk := await part.read_chunk(65536):
                            out.write(chunk)
                    else:
                        form[part.name or ""] = (await part.text())[:1000]
            else:
                async for chunk in request.content.iter_chunked(65536):
                    out.write(chunk)
        if path.stat().st_size == 0:
            raise BillingError(Msg("the file is empty"), "file")
        request[DECK_FORM_KEY] = form
        yield path, deck_services.file_kind(filename, content_type), filename
    finally:
        path.unlink(missing_ok=True)


def _param(request: web.Request, name: str, default: str = "") -> str:
    form = request.get(DECK_FORM_KEY) or {}
    return str(form.get(name, request.query.get(name, default)))


@api_errors
async def list_decks(request: web.Request) -> web.Response:
    items = await deck_services.list_decks(now(request), tz_of(request))
    return web.json_response({"items": items, "total": len(items)})


@api_errors
async def post_deck(request: web.Request) -> web.Response:
    deck = await deck_services.create_deck(await read_json(request))
    return web.json_response(await deck_services.deck_detail(deck.id, now(request),
                                                             tz_of(request)), status=201)


@api_errors
async def get_deck(request: web.Request) -> web.Response:
    return web.json_response(await deck_services.deck_detail(
        request.match_info["id"], now(request), tz_of(request)))


@api_errors
async def patch_deck(request: web.Request) -> web.Response:
    deck = await deck_services.update_deck(request.match_info["id"], await read_json(request))
    return web.json_response(await deck_services.deck_detail(deck.id, now(request),
                                                             tz_of(request)))


@api_errors
async def delete_deck(request: web.Request) -> web.Response:
    await deck_services.delete_deck(request.match_info["id"])
    return web.Response(status=204)


@api_errors
async def versions(request: web.Request) -> web.Response:
    items = await deck_services.versions(request.match_info["id"], now(request), tz_of(request))
    return web.json_response({"items": items, "total": len(items)})


@api_errors
async def import_deck(request: web.Request) -> web.Response:
    await deck_services.get_deck(request.match_info["id"])  # 404 before reading the body
    async with uploaded(request) as (path, kind, filename):
        apply = flag(_param(request, "apply", "false") or "false", "apply")
        result = await deck_services.import_file(
            request.match_info["id"], path, kind, layout=_param(request, "layout", "coovox"),
            apply=apply, effective_from=_param(request, "effective_from"),
            tz=tz_of(request), now=now(request), by=who(request), source=filename)
    return web.json_response(result, status=201 if result["applied"] else 200)


@api_errors
async def export_deck(request: web.Request) -> web.StreamResponse:
    deck, version, rows = await deck_services.export_rows(
        request.match_info["id"], request.query.get("version"), now(request))
    suffix = f"-v{version.id}" if version else ""
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="deck-{deck.id}{suffix}.csv"'})
    await response.prepare(request)
    await response.write(BOM)  # every CSV download has the BOM (spreadsheets: UTF-8)
    for chunk in deck_import.export_csv(rows):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


@api_errors
async def lookup(request: web.Request) -> web.Response:
    q = request.query
    return web.json_response(await deck_services.lookup(
        meter(request), q.get("extension", ""), q.get("dialed", ""), now(request)))


IMPORT_DOC = (
    "Dry run (default) or apply (apply=true) an import. Body: the file (text/csv, or the "
    ".xlsx type) or multipart with a 'file' part. layout=coovox: columns prefix, length, "
    "initial_cost, initial_time, rate, unit, start_time, end_time, remark (rate and unit "
    "required); layout=carrier: prefix/code, destination (the remark), rate per minute. "
    "Answers rows added, changed, removed and unchanged against the deck's latest "
    "version, and every bad line (line, message); applying a file with a bad line changes "
    "nothing. effective_from: when the new prices start (PBX local time if no offset; "
    "empty = now).")


def routes() -> list[Route]:
    base = "/api/v1/billing/decks"

    def r(method: str, path: str, handler, name: str, summary: str, **models: Any) -> Route:
        return Route(method, base + path, handler, name, roles=ROLES, api=True,
                     openapi={"summary": summary, "tags": TAGS}, **models)

    deck = {200: s.Deck, 404: Error}
    csv = {"description": "the deck's rates (CSV)", "content": {
        "text/csv": {"schema": {"type": "string"}}}}
    upload = {"openapi": {"summary": IMPORT_DOC, "tags": TAGS, "requestBody": {
        "required": True, "description": "the deck file",
        "content": {"text/csv": {"schema": {"type": "string"}},
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "file": {"type": "string", "format": "binary"}}}}}}}}
    return [
        r("GET", "", list_decks, "api_billing_decks", "Rate decks",
          responses={200: s.DeckList}),
        r("POST", "", post_deck, "api_billing_deck_create", "Add a rate deck",
          body=s.DeckCreate, responses={201: s.Deck, 409: Error}),
        r("GET", "/lookup", lookup, "api_billing_deck_lookup",
          "What a number costs for an extension now: the rate a call would use (single "
          "rate or deck)", query=s.LookupQuery, responses={200: s.Lookup, 404: Error}),
        r("GET", "/{id}", get_deck, "api_billing_deck", "One rate deck", responses=deck),
        r("PATCH", "/{id}", patch_deck, "api_billing_deck_patch", "Edit a rate deck",
          body=s.DeckPatch, responses={**deck, 409: Error}),
        r("DELETE", "/{id}", delete_deck, "api_billing_deck_delete",
          "Delete a rate deck and its versions", responses={204: None, 404: Error}),
        r("GET", "/{id}/versions", versions, "api_billing_deck_versions",
          "Versions of a deck, newest first, with the one in effect now",
          responses={200: s.VersionList, 404: Error}),
        Route("POST", base + "/{id}/import", import_deck, "api_billing_deck_import",
              roles=ROLES, api=True, max_body=MAX_FILE, query=s.ImportQuery,
              responses={200: None, 201: None, 404: Error, 413: Error}, **upload),
        r("GET", "/{id}/export", export_deck, "api_billing_deck_export",
          "The deck's rates as CSV in the coovox layout (import reads it back)",
          query=s.ExportQuery, responses={200: csv, 404: Error}),
    ]

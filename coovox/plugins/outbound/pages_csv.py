"""CSV import and export of extensions on the Extensions page."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from aiohttp import web

from coovox.export_files import BOM
from coovox.plugins.outbound import csv as config_csv
from coovox.plugins.outbound.lists import LIST_SPECS
from coovox.plugins.outbound.models import Extension
from coovox.plugins.outbound.pages import SPEC_BY_SEGMENT, flash, render_list
from coovox.plugins.outbound.rules import ConfigError
from coovox.web.i18n import gettext as _
from coovox.web.i18n import translate

MAX_UPLOAD = 10 * 1024 * 1024


async def export_csv(request: web.Request) -> web.StreamResponse:
    """Stream the (filtered) extensions as CSV (UTF-8 with BOM), reading the table in batches."""
    lspec = LIST_SPECS["extension"]
    lq = lspec.parse(request.query)
    queryset = lspec.filter(Extension.all(), lq)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="extensions.csv"'})
    await response.prepare(request)
    await response.write(BOM)  # spreadsheets then read the names as UTF-8
    async for line in config_csv.export_lines(queryset):
        await response.write(line.encode("utf-8"))
    await response.write_eof()
    return response


def _read(file: BinaryIO, chunk: int = 1 << 20) -> bytes:
    """The uploaded file (at most MAX_UPLOAD + 1 bytes), read in chunks in a worker thread."""
    file.seek(0)
    out = bytearray()
    while len(out) <= MAX_UPLOAD and (block := file.read(min(chunk, MAX_UPLOAD + 1 - len(out)))):
        out += block
    return bytes(out)


async def import_csv(request: web.Request) -> web.Response:
    """Import a CSV file: all lines or none; the errors are shown with their line."""
    spec = SPEC_BY_SEGMENT["extensions"]
    form = await request.post()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not getattr(upload, "file", None):
        return await render_list(request, spec, 400,
                                 import_errors=[_("Choose a CSV file to import.")])
    data = await asyncio.to_thread(_read, upload.file)
    if len(data) > MAX_UPLOAD:
        return await render_list(request, spec, 400,
                                 import_errors=[_("The file is larger than 10 MB.")])
    try:
        result = await config_csv.import_extensions(data)
    except ConfigError as exc:
        return await render_list(request, spec, 400, import_errors=[_(exc.message)])
    if not result.ok:
        return await render_list(request, spec, 400, import_errors=[
            translate(e, config_csv.LABELS) for e in result.errors])
    await flash(request, "ok", _("Imported: %(created)s added, %(updated)s updated.",
                                 created=result.created, updated=result.updated))
    raise web.HTTPFound(request.app.router[spec.route].url_for())

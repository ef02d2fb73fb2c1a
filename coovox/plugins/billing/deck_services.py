"""Rate deck services: decks, their versions, import (dry run / apply), export, lookup."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError

from coovox.inputs import shown
from coovox.messages import Field, Msg, register_labels
from coovox.plugins.billing import deck_import, decks
from coovox.plugins.billing.models import DeckRate, DeckVersion, RateDeck
from coovox.plugins.billing.rating import choose_rate
from coovox.plugins.billing.validation import BillingError, extension_key, flag
from coovox.plugins.outbound.models import Extension

NAME_RE = re.compile(r"^[\w .+\-()]{1,64}$")
register_labels({"layout": "Column layout", "effective_from": "Effective from",
                 "file": "File", "dialed": "Number dialled", "version": "Version"})


def deck_json(d: RateDeck, versions: list[DeckVersion] | None = None,
              at: datetime | None = None, tz: ZoneInfo | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id, "name": d.name, "remark": d.remark, "active": d.active,
        "extensions": "all" if d.all_extensions else list(d.extensions or []),
    }
    if versions is not None:
        current = None
        for v in versions:
            if at is None or v.effective_from <= at:
                current = v
        out["versions"] = len(versions)
        out["current_version"] = current.id if current else None
        out["rows"] = current.rows if current else 0
        pending = [v for v in versions if at is not None and v.effective_from > at]
        out["next_change"] = _iso(pending[0].effective_from, tz) if pending else None
    return out


def _iso(at: datetime, tz: ZoneInfo | None) -> str:
    return (at.astimezone(tz) if tz else at).isoformat()


def version_json(v: DeckVersion, tz: ZoneInfo | None = None,
                 current: int | None = None) -> dict[str, Any]:
    return {"id": v.id, "deck": v.deck_id, "effective_from": _iso(v.effective_from, tz),
            "created_at": _iso(v.created_at, tz), "rows": v.rows, "by": v.by,
            "source": v.source, "current": v.id == current}


def _fields(data: dict[str, Any], known: set[str], partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        name = str(data.get("name") or "").strip()
        if not name:
            raise BillingError(Msg("%(field)s is required", field=Field("name")), "name")
        if not NAME_RE.match(name):
            raise BillingError(Msg("%(field)s may hold letters, digits, spaces and . + - ( ) _ "
                                   "(at most 64)", field=Field("name")), "name")
        out["name"] = name
    if "remark" in data:
        remark = str(data.get("remark") or "").strip()
        if len(remark) > 255:
            raise BillingError(Msg("%(field)s is longer than 255 characters",
                                   field=Field("remark")), "remark")
        out["remark"] = remark
    if "active" in data:
        out["active"] = flag(data["active"], "active")
    if "extensions" in data or not partial:
        exts = data.get("extensions")
        if exts == "all":
            out.update(all_extensions=True, extensions=[])
        else:
            if isinstance(exts, str):
                exts = [e for e in re.split(r"[\s,]+", exts) if e]
            clean = sorted({str(e).strip() for e in exts if str(e).strip()}) \
                if isinstance(exts, list) else []
            if not clean:
                raise BillingError(Msg("choose at least one extension (or \"all\")"),
                                   "extensions")
            unknown = [e for e in clean if e not in known]
            if unknown:
                raise BillingError(Msg("unknown extension %(extension)s",
                                       extension=unknown[0]), "extensions", api_status=404)
            out.update(all_extensions=False, extensions=clean)
    return out


async def _known() -> set[str]:
    return set(await Extension.all().values_list("number", flat=True))


async def list_decks(at: datetime, tz: ZoneInfo | None = None) -> list[dict[str, Any]]:
    rows = await RateDeck.all().order_by("name")
    versions: dict[int, list[DeckVersion]] = {}
    for v in await DeckVersion.all().order_by("effective_from", "id"):
        versions.setdefault(v.deck_id, []).append(v)
    return [deck_json(d, versions.get(d.id, []), at, tz) for d in rows]


async def get_deck(deck_id: Any) -> RateDeck:
    text = str(deck_id).strip()
    # anything but an id the column can hold names no deck (never a database error)
    if not re.fullmatch(r"[0-9]{1,10}", text) or not 1 <= int(text) <= 2**31 - 1:
        raise BillingError(Msg("no rate deck %(id)s", id=shown(text)), "id", status=404)
    did = int(text)
    deck = await RateDeck.get_or_none(id=did)
    if deck is None:
        raise BillingError(Msg("no rate deck %(id)s", id=did), "id", status=404)
    return deck


async def deck_detail(deck_id: Any, at: datetime, tz: ZoneInfo | None) -> dict[str, Any]:
    deck = await get_deck(deck_id)
    versions = await DeckVersion.filter(deck_id=deck.id).order_by("effective_from", "id")
    return deck_json(deck, versions, at, tz)


async def create_deck(data: dict[str, Any]) -> RateDeck:
    fields = _fields(data, await _known())
    if await RateDeck.exists(name=fields["name"]):
        raise BillingError(Msg("a rate deck named %(name)s exists", name=fields["name"]),
                           "name", status=409)
    try:
        return await RateDeck.create(**fields)
    except IntegrityError:
        raise BillingError(Msg("a rate deck named %(name)s exists", name=fields["name"]),
                           "name", status=409) from None
    finally:
        decks.deck_written()


async def update_deck(deck_id: Any, data: dict[str, Any]) -> RateDeck:
    deck = await get_deck(deck_id)
    fields = _fields(data, await _known(), partial=True)
    if "name" in fields and fields["name"] != deck.name and \
            await RateDeck.exists(name=fields["name"]):
        raise BillingError(Msg("a rate deck named %(name)s exists", name=fields["name"]),
                           "name", status=409)
    for key, value in fields.items():
        setattr(deck, key, value)
    try:
        await deck.save()
    finally:
        decks.deck_written()
    return deck


async def delete_deck(deck_id: Any) -> None:
    from tortoise.transactions import in_transaction

    deck = await get_deck(deck_id)
    async with in_transaction() as db:
        vids = await DeckVersion.filter(deck_id=deck.id).using_db(db).values_list("id",
                                                                                  flat=True)
        await DeckRate.filter(version_id__in=list(vids)).using_db(db).delete()
        await DeckVersion.filter(deck_id=deck.id).using_db(db).delete()
        await deck.delete(using_db=db)
    decks.deck_written()


async def versions(deck_id: Any, at: datetime, tz: ZoneInfo | None) -> list[dict[str, Any]]:
    deck = await get_deck(deck_id)
    rows = await DeckVersion.filter(deck_id=deck.id).order_by("effective_from", "id")
    current = None
    for v in rows:
        if v.effective_from <= at:
            current = v.id
    return [version_json(v, tz, current) for v in reversed(rows)]


async def latest_version(deck_id: int) -> DeckVersion | None:
    return await DeckVersion.filter(deck_id=deck_id).order_by("-effective_from", "-id").first()


async def version_of(deck: RateDeck, version: Any, at: datetime) -> DeckVersion | None:
    """A version of ``deck``: the given id, or the one in effect at ``at``."""
    if version not in (None, ""):
        try:
            vid = int(version)
        except (TypeError, ValueError):
            vid = -1
        row = await DeckVersion.get_or_none(id=vid, deck_id=deck.id)
        if row is None:
            raise BillingError(Msg("no version %(id)s of this deck", id=str(version)[:20]),
                               "version", status=404)
        return row
    return await DeckVersion.filter(deck_id=deck.id, effective_from__lte=at).order_by(
        "-effective_from", "-id").first()


def effective_time(value: Any, tz: ZoneInfo, now: datetime) -> datetime:
    """``effective_from`` input: empty = now; else an ISO date-time, local to the PBX when
    it has no offset."""
    text = str(value or "").strip()
    if not text:
        return now.astimezone(UTC)
    try:
        at = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise BillingError(Msg("%(field)s must be a date and time YYYY-MM-DDTHH:MM",
                               field=Field("effective_from")), "effective_from") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at.astimezone(UTC)


def file_kind(filename: str, content_type: str = "") -> str:
    name = (filename or "").lower()
    if name.endswith(".xlsx") or "spreadsheetml" in (content_type or ""):
        return "xlsx"
    if name.endswith((".csv", ".txt")) or not name:
        return "csv"
    raise BillingError(Msg("the file must be .csv or .xlsx"), "file")


async def import_file(deck_id: Any, path: Path, kind: str, *, layout: str = "coovox",
                      apply: bool = False, effective_from: Any = None, tz: ZoneInfo,
                      now: datetime, by: str = "", source: str = "") -> dict[str, Any]:
    """Dry run (default) or apply an import: the diff against the deck's latest version;
    applying with any bad line changes nothing."""
    deck = await get_deck(deck_id)
    at = effective_time(effective_from, tz, now)
    import_id = deck_import.new_import_id()
    try:
        parsed = await deck_import.stage_file(import_id, path, kind, layout)
        latest = await latest_version(deck.id)
        result = await deck_import.diff(import_id, parsed, latest.id if latest else None)
        result.update(deck=deck.id, applied=False, effective_from=_iso(at, tz), version=None)
        if not apply:
            return result
        if parsed.error_count:
            raise BillingError(Msg("the file has %(count)s bad lines: nothing was imported",
                                   count=parsed.error_count), "file")
        if not parsed.rows:
            raise BillingError(Msg("the file has no rates"), "file")
        version = await deck_import.apply_stage(deck.id, import_id, parsed.rows, at, now, by,
                                                source)
    finally:
        await deck_import.drop_stage(import_id)
    result.update(applied=True, version=version.id)
    return result


async def export_rows(deck_id: Any, version: Any, at: datetime):
    deck = await get_deck(deck_id)
    row = await version_of(deck, version, at)
    rows = await deck_import.current_rows(row.id if row else None)
    return deck, row, list(rows.values())


async def lookup(meter: Any, extension: str, number: str, at: datetime) -> dict[str, Any]:
    """What ``number`` costs for ``extension`` at ``at``: the rate a call would use."""
    extension = extension_key(str(extension or "?"))  # too long or not a number: 404
    number = str(number or "").strip()
    if not await Extension.exists(number=extension):
        raise BillingError(Msg("no extension %(extension)s", extension=extension or "?"),
                           "extension", status=404)
    if not number or not re.fullmatch(r"[0-9*#+]{1,40}", number):
        raise BillingError(Msg("%(field)s may hold only digits, *, # and +",
                               field=Field("dialed")), "dialed")
    local = meter.local(at).time()
    single = choose_rate(await meter.rules(), number, extension, local)
    found = await meter.decks.choose(number, extension, at, local)
    rule = decks.prefer(single, found[0] if found else None)
    out: dict[str, Any] = {"extension": extension, "number": number,
                           "at": meter.local(at).isoformat(), "rate": None, "source": None}
    if rule is not None:
        out["rate"] = rule.to_json()
        if found is not None and rule is found[0]:
            out["source"] = {"deck": found[1]}
        else:
            out["source"] = {"rate": rule.id}
    return out

"""The toll-fraud guard's storage: limits (global defaults and per extension), admission
counts (calls per hour, simultaneous calls), attempts to blocked destinations, trips
(lock / refuse for a while / alert: published, in the web log, on the overview) and the
administrator's unlock.  The spend limits are enforced by the charge itself
(:data:`coovox.plugins.billing.ledger.PAY_GUARDED`); the rules are in :mod:`fraud_rules`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from coovox.messages import Msg
from coovox.models import Setting, WebLog, set_setting
from coovox.plugins.billing import fraud_rules as rules
from coovox.plugins.billing import sql
from coovox.plugins.billing.models import Account, FraudTrip
from coovox.plugins.billing.validation import BillingError, extension_key, flag
from coovox.storage.work import Exec, Rows, Work, store

log = logging.getLogger(__name__)
NS = "billing"  # the global switch and defaults: billing setting "fraud"
EXT_NS = "billing_fraud"  # an extension's own limits: key = the extension
SETUP_SECONDS = 600  # an admitted call not (yet) active counts as simultaneous this long

# Admission of a call under calls-per-hour / simultaneous-calls limits, in ONE transaction:
# the account's row is updated first (a row lock on PostgreSQL, so simultaneous admissions
# of one extension queue there), then the call is inserted only while fewer are active.
ADMIT_HOUR = (
    "UPDATE billing_account SET calls_hour = CASE WHEN calls_hour_key = ? THEN calls_hour "
    "ELSE 0 END + 1, calls_hour_key = ? WHERE extension = ? AND CASE WHEN calls_hour_key = ? "
    "THEN calls_hour ELSE 0 END + 1 <= ?")
FORGET_STALE = (
    "DELETE FROM billing_fraud_active WHERE extension = ? AND at < ? AND call_id NOT IN "
    "(SELECT id FROM calls_call WHERE status = 'active')")
ADMIT_ACTIVE = (
    "INSERT INTO billing_fraud_active (call_id, extension, at) SELECT ?, ?, ? WHERE "
    "(SELECT COUNT(*) FROM billing_fraud_active WHERE extension = ?) < ? RETURNING call_id")
RELEASE = "DELETE FROM billing_fraud_active WHERE call_id = ?"


class _Full(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- settings ----------------------------------------------------------------------------


def global_view(stored: Any) -> tuple[bool, rules.Limits]:
    """(guard on, default limits) of the stored billing setting ``fraud``."""
    if not isinstance(stored, dict):
        return False, rules.DEFAULT_LIMITS
    return bool(stored.get("guard")), rules.limits_from(stored.get("defaults"))


async def update_global(data: Any) -> dict[str, Any]:
    """Change the switch (``guard``) and/or default limits (the keys given)."""
    from coovox.plugins.billing.services import get_settings

    if not isinstance(data, dict):
        raise BillingError(Msg("the body must be a JSON object"), None)
    data = dict(data)
    stored = (await get_settings()).get("fraud")
    stored = dict(stored) if isinstance(stored, dict) else {}
    guard = flag(data.pop("guard"), "guard") if "guard" in data else bool(stored.get("guard"))
    defaults = {**(stored.get("defaults") or {}),
                **rules.as_stored(rules.parse_limits(data, partial=True))}
    await set_setting(NS, "fraud", {"value": {"guard": guard, "defaults": defaults}})
    return await settings_json()


async def settings_json() -> dict[str, Any]:
    from coovox.plugins.billing.services import get_settings

    guard, defaults = global_view((await get_settings()).get("fraud"))
    return {"guard": guard, "defaults": defaults.to_json()}


async def overrides() -> dict[str, dict[str, Any]]:
    """Every extension's own limits (stored values), by extension."""
    rows = await Setting.filter(namespace=EXT_NS).values_list("key", "value")
    return {str(k): v for k, v in rows if isinstance(v, dict) and v}


async def set_extension(extension: Any, data: Any) -> dict[str, Any]:
    """An extension's own limits: the keys given replace all it had (empty: defaults)."""
    ext = extension_key(extension)
    if not await Account.exists(extension=ext):
        from coovox.plugins.outbound.models import Extension

        if not await Extension.exists(number=ext):
            raise BillingError(Msg("no extension %(extension)s", extension=ext), "extension",
                               status=404)
    parsed = rules.as_stored(rules.parse_limits(data, partial=True))
    await set_setting(EXT_NS, ext, parsed)
    return {"extension": ext, "limits": parsed}


async def remove_extension(extension: Any) -> bool:
    """The extension follows the defaults again (its own limits emptied)."""
    ext = extension_key(extension)
    had = bool((await overrides()).get(ext))
    await set_setting(EXT_NS, ext, {})
    return had


# --- admission -----------------------------------------------------------------------------


def _admit(call_id: str, extension: str, limits: rules.Limits, hour_key: int,
           now_ts: int) -> Work[None]:
    """The statements of an admission; raises :class:`_Full` (the unit rolls back)."""
    per_hour = limits.calls_per_hour or rules.NO_LIMIT
    if not (yield Exec(ADMIT_HOUR, [hour_key, hour_key, extension, hour_key, per_hour])):
        raise _Full(rules.REFUSE_CALLS_HOUR)
    if limits.concurrent_calls:
        yield Exec(FORGET_STALE, [extension, now_ts - SETUP_SECONDS])
        if not (yield Rows(ADMIT_ACTIVE, [call_id, extension, now_ts, extension,
                                         limits.concurrent_calls])):
            raise _Full(rules.REFUSE_CONCURRENT)


async def admit(call_id: str, extension: str, limits: rules.Limits, hour_key: int,
                now_ts: int) -> str | None:
    """Count the call in its hour and among the extension's simultaneous calls, or the
    reason it is refused (nothing counted then).  One unit of work (one trip on SQLite)."""
    try:
        await store().run(_admit(call_id, extension, limits, hour_key, now_ts))
    except _Full as exc:
        return exc.reason
    except IntegrityError:  # admitted already (a repeated gate of the same call)
        return None
    return None


async def release(call_id: str) -> None:
    await sql.execute(RELEASE, [call_id])


# --- attempts and trips --------------------------------------------------------------------


async def blocked_attempt(extension: str, limits: rules.Limits, now_ts: int) -> bool:
    """Record a refused attempt to a blocked destination; True when the extension has
    made ``trip_attempts`` of them within ``trip_minutes`` (a trip)."""
    if not limits.trip_attempts:
        return False
    since = now_ts - limits.trip_minutes * 60
    async with in_transaction() as db:
        await sql.execute("DELETE FROM billing_fraud_attempt WHERE extension = ? AND at < ?",
                          [extension, since], db)
        await sql.execute("INSERT INTO billing_fraud_attempt (extension, at) VALUES (?, ?)",
                          [extension, now_ts], db)
        rows = await sql.fetch("SELECT COUNT(*) AS n FROM billing_fraud_attempt "
                               "WHERE extension = ? AND at >= ?", [extension, since], db)
    return int(rows[0]["n"]) >= limits.trip_attempts


async def trip(extension: str, kind: str, limits: rules.Limits, at: datetime,
               local: datetime, publish: Callable[..., Any] | None) -> bool:
    """Record a trip (once per extension, kind and window) and act on it: lock the
    extension, or refuse its calls until the window ends, or only alert.  Published as
    ``fraud.tripped`` and written to the web log.  False when tripped already."""
    action = limits.action
    period = rules.trip_window(kind, local, limits.trip_minutes)
    try:
        await FraudTrip.create(at=at, extension=extension, kind=kind, period=period,
                               reason=kind, action=action)
    except IntegrityError:
        return False
    if action == "lock":
        await Account.filter(extension=extension).update(status="locked")
    elif action == "refuse":
        until = int(rules.window_end(kind, local, limits.trip_minutes).timestamp())
        await sql.execute("UPDATE billing_account SET guard_until = ? WHERE extension = ? "
                          "AND guard_until < ?", [until, extension, until])
    log.warning("fraud guard tripped on extension %s: %s (%s)", extension, kind, action)
    try:
        await WebLog.create(ip="", username="fraud guard", role="system",
                            action=f"fraud.tripped {extension}"[:255],
                            result=f"{kind}: {action}"[:255],
                            details=json.dumps({"extension": extension, "reason": kind,
                                                "action": action}))
    except Exception:
        log.exception("could not write the fraud guard's trip to the web log")
    if publish is not None:
        publish("fraud.tripped", "billing", extension=extension, reason=kind, action=action)
    return True


async def open_trips(limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Trips not cleared by an administrator (newest first) and how many there are."""
    query = FraudTrip.filter(cleared_at=None)
    total = await query.count()
    rows = await query.order_by("-at", "-id").limit(limit).values(
        "id", "at", "extension", "kind", "action")
    return [dict(r) for r in rows], total


def trip_json(row: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    at = row["at"]
    return {"id": row["id"], "at": (at.astimezone(tz) if tz else at).isoformat(),
            "extension": row["extension"], "reason": row["kind"], "action": row["action"]}


async def unlock(extension: Any, by: str, now: datetime) -> int:
    """Unlock an extension the guard stopped: status unlocked, no temporary refusal, its
    trips cleared and its attempts forgotten (in ONE transaction).  Within the window of
    a spend trip the limit still refuses calls, without locking again.  Returns the trips
    cleared; 404 when the extension has no billing account."""
    ext = extension_key(extension)
    async with in_transaction() as db:
        if not await Account.filter(extension=ext).using_db(db).update(
                status="unlocked", guard_until=0):
            raise BillingError(Msg("no extension %(extension)s", extension=ext), "extension",
                               status=404)
        cleared = await FraudTrip.filter(extension=ext, cleared_at=None).using_db(db).update(
            cleared_at=now, cleared_by=by[:64])
        await sql.execute("DELETE FROM billing_fraud_attempt WHERE extension = ?", [ext], db)
        # the attempts are forgiven: K new ones trip again, even within the same minutes
        # (a spend trip stays once per window: unlocked, the limit still caps but does
        # not lock again before the next window)
        await sql.execute("UPDATE billing_fraud_trip SET period = -id WHERE extension = ? "
                          "AND kind = ? AND period >= 0", [ext, rules.TRIP_ATTEMPTS], db)
    log.info("extension %s unlocked by %s (%s trips cleared)", ext, by, cleared)
    return int(cleared)

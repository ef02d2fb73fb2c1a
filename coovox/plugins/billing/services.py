"""Billing services: settings, accounts, recharges and rates (no HTTP or ARI types)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from coovox.messages import Field, Msg
from coovox.models import Setting, set_setting
from coovox.plugins.billing import sql
from coovox.plugins.billing.models import Account, Rate, Recharge
from coovox.plugins.billing.rating import RateRule
from coovox.plugins.billing.validation import (
    CURRENCIES,
    PAYMENT_TYPES,
    STATUSES,
    BillingError,
    choice,
    extension_key,
    extension_keys,
    flag,
    money,
    rate_fields,
    text_field,
    whole,
)
from coovox.plugins.billing.validation import rate_id as valid_rate_id
from coovox.plugins.outbound.models import Extension
from coovox.storage.money import MAX_BALANCE, fmt, from_units, to_units
from coovox.web.formats import MAX_DECIMALS, currency_decimals

NS = "billing"
DEFAULT_SETTINGS: dict[str, Any] = {
    "active": False, "currency": "USD", "block_unrated": False, "warning_seconds": 0,
    "debit_interval": 30,  # charging ahead: seconds of units one charge takes (0: each alone)
    "decimals": {},  # currency -> decimals money is shown with (unset: the currency's own)
    "fraud": {},  # the fraud guard: {"guard": on, "defaults": limits} (fraud.py)
}

# --- settings --------------------------------------------------------------------------------


async def get_settings() -> dict[str, Any]:
    """All billing settings, read in ONE query (defaults where unset)."""
    out = dict(DEFAULT_SETTINGS)
    rows = await Setting.filter(namespace=NS, key__in=list(DEFAULT_SETTINGS)).values_list(
        "key", "value")
    for key, value in rows:
        if isinstance(value, dict):
            value = value.get("value")
        if value is not None:
            out[key] = value
    out["currency_symbol"] = CURRENCIES.get(out["currency"], "¤")
    if not isinstance(out["decimals"], dict):
        out["decimals"] = {}
    out["money_decimals"] = currency_decimals(out["currency"], out["decimals"])
    return out


async def update_settings(data: dict[str, Any], plugins: Any = None) -> dict[str, Any]:
    """Validate and store settings; switching ``active`` asks licensing first."""
    changes: dict[str, Any] = {}
    if "currency" in data:
        cur = str(data["currency"] or "").strip().upper()
        if cur not in CURRENCIES:
            raise BillingError(Msg("%(field)s must be one of: %(choices)s", field=Field("currency"),
                                   choices=", ".join(CURRENCIES)), "currency")
        changes["currency"] = cur
    if "block_unrated" in data:
        changes["block_unrated"] = flag(data["block_unrated"], "block_unrated")
    if "warning_seconds" in data:
        changes["warning_seconds"] = whole(data["warning_seconds"], "warning_seconds", 0, 3600)
    if "debit_interval" in data:
        changes["debit_interval"] = whole(data["debit_interval"], "debit_interval", 0, 3600)
    if "decimals" in data:  # of the currency chosen now (or the one in use)
        current = await get_settings()
        currency = changes.get("currency", current["currency"])
        places = whole(data["decimals"], "decimals", 0, MAX_DECIMALS)
        changes["decimals"] = {**current["decimals"], currency: places}
    if "active" in data:
        active = flag(data["active"], "active")
        if plugins is not None:
            refusal = await plugins.afirst("coovox_feature_activate", feature="billing",
                                           active=active)
            if refusal:
                raise BillingError(refusal, "active", status=409)
        changes["active"] = active
    for key, value in changes.items():
        # Tortoise's JSONField refuses a bare str that is not JSON text: wrap strings
        await set_setting(NS, key, {"value": value} if isinstance(value, str | dict)
                          else value)
    return await get_settings()


# --- accounts --------------------------------------------------------------------------------


async def ensure_account(extension: str, db: Any = None) -> None:
    """Create the account of ``extension`` with the defaults when it does not exist."""
    await sql.execute(
        "INSERT INTO billing_account (extension, enabled, balance, credit, payment_type, "
        "status, total_recharges) VALUES (?, ?, 0, 0, 'prepaid', 'unlocked', 0) "
        "ON CONFLICT (extension) DO NOTHING", [extension, False], db)


async def extension_names(numbers: list[str]) -> dict[str, str]:
    if not numbers:
        return {}
    rows = await Extension.filter(number__in=numbers).values("number", "name")
    return {r["number"]: r["name"] for r in rows}


def account_json(row: dict[str, Any]) -> dict[str, Any]:
    """API shape of an account row (from SQL or the model)."""
    def m(v: Any) -> str:
        return fmt(v if isinstance(v, Decimal) else from_units(int(v or 0)))

    return {
        "extension": row["extension"], "name": row.get("name") or "",
        "enabled": bool(row.get("enabled") or False), "balance": m(row.get("balance")),
        "credit": m(row.get("credit")), "payment_type": row.get("payment_type") or "prepaid",
        "status": row.get("status") or "unlocked",
        "total_recharges": m(row.get("total_recharges")),
    }


def _account_where(filters: dict[str, str]) -> tuple[str, list[Any]]:
    where, values = [], []
    if filters.get("number"):
        where.append("e.number LIKE ?")
        values.append("%" + filters["number"].replace("%", "").replace("_", "") + "%")
    if filters.get("status"):
        where.append("COALESCE(a.status, 'unlocked') = ?")
        values.append(choice(filters["status"], "status", STATUSES))
    if filters.get("payment_type"):
        where.append("COALESCE(a.payment_type, 'prepaid') = ?")
        values.append(choice(filters["payment_type"], "payment_type", PAYMENT_TYPES))
    if filters.get("enabled"):
        on = flag(filters["enabled"], "enabled")
        where.append("COALESCE(a.enabled, ?) = ?")
        values += [False, on]
    return (" WHERE " + " AND ".join(where)) if where else "", values


async def list_accounts(filters: dict[str, str], offset: int,
                        limit: int) -> tuple[list[dict[str, Any]], int]:
    """Accounts of all extensions (defaults where none exists), paginated in SQL."""
    where, values = _account_where(filters)
    base = "FROM calls_extension e LEFT JOIN billing_account a ON a.extension = e.number"
    total = (await sql.fetch(f"SELECT COUNT(*) AS n {base}{where}", values))[0]["n"]
    rows = await sql.fetch(
        "SELECT e.number AS extension, e.name AS name, a.enabled AS enabled, a.balance AS "
        "balance, a.credit AS credit, a.payment_type AS payment_type, a.status AS status, "
        f"a.total_recharges AS total_recharges {base}{where} "
        "ORDER BY LENGTH(e.number), e.number LIMIT ? OFFSET ?", [*values, limit, offset])
    return [account_json(r) for r in rows], int(total)


async def get_account(extension: str) -> dict[str, Any]:
    """One account (created on demand); BillingError 404 for an unknown extension."""
    extension = extension_key(extension, "extension")
    ext = await Extension.get_or_none(number=extension)
    acc = await Account.get_or_none(extension=extension)
    if ext is None and acc is None:
        raise BillingError(Msg("no extension %(extension)s", extension=extension), "extension",
                           status=404)
    if acc is None:
        await ensure_account(extension)
        acc = await Account.get(extension=extension)
    data = {f: getattr(acc, f) for f in ("extension", "enabled", "balance", "credit",
                                         "payment_type", "status", "total_recharges")}
    data["name"] = ext.name if ext else ""
    return account_json(data)


def account_changes(data: dict[str, Any]) -> dict[str, Any]:
    """Validated account fields present in ``data`` (enabled, credit, status, payment_type)."""
    out: dict[str, Any] = {}
    if "enabled" in data:
        out["enabled"] = flag(data["enabled"], "enabled")
    if "credit" in data:
        out["credit"] = money(data["credit"], "credit", non_negative=True)
    if "status" in data:
        out["status"] = choice(data["status"], "status", STATUSES)
    if "payment_type" in data:
        out["payment_type"] = choice(data["payment_type"], "payment_type", PAYMENT_TYPES)
    unknown = set(data) - {"enabled", "credit", "status", "payment_type", "extension",
                           "extensions", "name", "csrf_token"}
    if unknown:
        field = sorted(unknown)[0]
        raise BillingError(Msg("%(field)s cannot be changed here", field=Field(field)), field)
    return out


async def update_accounts(extensions: list[str], changes: dict[str, Any]) -> int:
    """Apply validated ``changes`` to accounts (one transaction, all or none); resets total
    recharges of accounts whose payment type changes.

    A new credit is set by ONE conditional UPDATE that succeeds only while the balance stays
    at or above -credit; otherwise BillingError 409 and nothing changes."""
    extensions = extension_keys(extensions, "extensions")
    known = set(await Extension.filter(number__in=extensions).values_list("number", flat=True))
    known |= set(await Account.filter(extension__in=extensions).values_list("extension",
                                                                             flat=True))
    missing = [e for e in extensions if e not in known]
    if missing:
        raise BillingError(Msg("no extension %(extension)s", extension=missing[0]), "extensions",
                           status=404)
    sets, values = [], []
    for key, value in changes.items():
        sets.append(f"{key} = ?")
        values.append(to_units(value) if isinstance(value, Decimal) else value)
    floor, floor_values = "", []
    if "credit" in changes:
        floor, floor_values = " AND balance >= ?", [-to_units(changes["credit"])]
    async with in_transaction() as db:
        for ext in extensions:
            await ensure_account(ext, db)
            if "payment_type" in changes:
                await sql.execute("UPDATE billing_account SET total_recharges = 0 "
                                  "WHERE extension = ? AND payment_type <> ?",
                                  [ext, changes["payment_type"]], db)
            if sets and not await sql.execute(
                    f"UPDATE billing_account SET {', '.join(sets)} WHERE extension = ?{floor}",
                    [*values, ext, *floor_values], db):
                row = await _balance_of(ext, db)
                raise BillingError(Msg(
                    "extension %(extension)s: a credit of %(credit)s would leave its balance "
                    "%(balance)s below -credit; recharge first or set a credit of at least "
                    "%(least)s", extension=ext, credit=fmt(changes["credit"]),
                    balance=fmt(row[0]), least=fmt(-row[0])), "credit", status=409)
    return len(extensions)


async def _balance_of(extension: str, db: Any) -> tuple[Decimal, Decimal, Decimal]:
    """(balance, credit, total recharges) of an account, read inside ``db``."""
    row = (await sql.fetch("SELECT balance, credit, total_recharges FROM billing_account "
                           "WHERE extension = ?", [extension], db))[0]
    return (from_units(int(row["balance"])), from_units(int(row["credit"])),
            from_units(int(row["total_recharges"])))


def bulk_changes(data: dict[str, Any]) -> dict[str, Any]:
    """Bulk edit: only fields whose box is ticked (``apply`` list or ``apply_<field>``)."""
    ticked = data.get("apply")
    if isinstance(ticked, str):
        ticked = [t for t in ticked.split(",") if t]
    if ticked is None:
        ticked = [k[6:] for k, v in data.items() if k.startswith("apply_") and flag(v, k)]
        if not ticked:  # API: the fields present are the ones to set
            ticked = [k for k in ("enabled", "credit", "status", "payment_type") if k in data]
    fields = {}
    for name in ticked:
        if name not in ("enabled", "credit", "status", "payment_type"):
            raise BillingError(Msg("%(field)s cannot be bulk edited", field=Field(name)), "apply")
        fields[name] = data.get(name, False if name == "enabled" else None)
    if not fields:
        raise BillingError(Msg("tick at least one field to change"), "apply")
    return account_changes(fields)


# --- recharges -------------------------------------------------------------------------------


async def recharge(extensions: list[str], amount_in: Any, by: str,
                   now: datetime) -> list[dict[str, Any]]:
    """Recharge each extension by the same amount (> 0) in ONE transaction: all or none."""
    amount = money(amount_in, "amount", positive=True, label="amount")
    return await _apply(extensions, amount, by, now, correction=False, reason="")


async def correct(extension: str, amount_in: Any, reason: str, by: str,
                  now: datetime) -> dict[str, Any]:
    """A correction of one extension's balance (usually negative); needs a reason.  It is
    not a recharge: it does not count in total recharges.  A correction that would take the
    balance below -credit is refused (409) and changes nothing."""
    amount = money(amount_in, "amount")
    if amount == 0:
        raise BillingError(Msg("%(field)s must not be 0", field=Field("amount")), "amount")
    reason = text_field(reason, "reason", 255)
    if not reason:
        raise BillingError(Msg("a correction needs a reason"), "reason")
    return (await _apply([extension], amount, by, now, correction=True, reason=reason))[0]


# Each movement is ONE conditional UPDATE: the balance stays within [-credit, MAX_BALANCE]
# (a positive movement is never refused for the floor: it only raises the balance).
# Recharges also add to total recharges; corrections do not.
_RECHARGE = ("UPDATE billing_account SET balance = balance + ?, total_recharges = "
             "total_recharges + ? WHERE extension = ? AND balance + ? <= ? AND "
             "total_recharges + ? <= ? RETURNING balance")
_CORRECT_UP = ("UPDATE billing_account SET balance = balance + ? WHERE extension = ? AND "
               "balance + ? <= ? RETURNING balance")
_CORRECT_DOWN = ("UPDATE billing_account SET balance = balance + ? WHERE extension = ? AND "
                 "balance + ? >= -credit RETURNING balance")
MAX_TOTAL = MAX_BALANCE * 100_000  # total recharges: far below the BIGINT column's limit


async def _move(ext: str, units: int, correction: bool, db: Any) -> int | None:
    """The balance after moving ``units``, or None when the conditional UPDATE refused."""
    top = to_units(MAX_BALANCE)
    if not correction:
        rows = await sql.fetch(_RECHARGE, [units, units, ext, units, top, units,
                                           to_units(MAX_TOTAL)], db)
    elif units > 0:
        rows = await sql.fetch(_CORRECT_UP, [units, ext, units, top], db)
    else:
        rows = await sql.fetch(_CORRECT_DOWN, [units, ext, units], db)
    return int(rows[0]["balance"]) if rows else None


async def _refusal(ext: str, amount: Decimal, correction: bool, db: Any) -> BillingError:
    """Why moving ``amount`` on ``ext`` was refused (read inside the transaction)."""
    balance, credit, total = await _balance_of(ext, db)
    if amount < 0:
        return BillingError(Msg(
            "extension %(extension)s: a correction of %(amount)s would take the balance "
            "%(balance)s below -credit (%(floor)s); at most %(most)s can be taken",
            extension=ext, amount=fmt(amount), balance=fmt(balance), floor=fmt(-credit),
            most=fmt(max(balance + credit, Decimal(0)))), "amount", status=409)
    if balance + amount > MAX_BALANCE:
        return BillingError(Msg(
            "extension %(extension)s: the balance would exceed the maximum %(max)s "
            "(balance %(balance)s, amount %(amount)s)", extension=ext, max=fmt(MAX_BALANCE),
            balance=fmt(balance), amount=fmt(amount)), "amount")
    return BillingError(Msg(
        "extension %(extension)s: total recharges would exceed the maximum %(max)s; "
        "changing the payment type resets them", extension=ext, max=fmt(MAX_TOTAL)), "amount")


async def _apply(extensions: list[str], amount: Decimal, by: str, now: datetime, *,
                 correction: bool, reason: str) -> list[dict[str, Any]]:
    exts = extension_keys(extensions, "extensions") if not correction else \
        [extension_key(extensions[0], "extension")]
    if len(set(exts)) != len(exts):
        raise BillingError(Msg("an extension is listed twice"), "extensions")
    names = await extension_names(exts)
    has_account = set(await Account.filter(extension__in=exts).values_list("extension",
                                                                           flat=True))
    missing = [e for e in exts if e not in names and e not in has_account]
    if missing:
        raise BillingError(Msg("no extension %(extension)s", extension=missing[0]),
                           "extension" if correction else "extensions", status=404)
    units = to_units(amount)
    out = []
    async with in_transaction() as db:
        for ext in exts:
            await ensure_account(ext, db)
            post = await _move(ext, units, correction, db)
            if post is None:  # refused: the transaction rolls back, nothing changes
                raise await _refusal(ext, amount, correction, db)
            row = await Recharge.create(
                at=now, extension=ext, name=names.get(ext, ""),
                pre_balance=from_units(post - units), amount=amount,
                post_balance=from_units(post), by=by, correction=correction,
                reason=reason, using_db=db)
            out.append(recharge_json(row))
    return out


def recharge_json(r: Recharge) -> dict[str, Any]:
    return {
        "id": r.id, "at": r.at.isoformat(), "extension": r.extension, "name": r.name,
        "pre_balance": fmt(r.pre_balance), "amount": fmt(r.amount),
        "post_balance": fmt(r.post_balance), "by": r.by, "correction": r.correction,
        "type": "correction" if r.correction else "recharge", "reason": r.reason,
    }


# --- rates -----------------------------------------------------------------------------------

_rate_writes = 0  # bumped by every rate write of this process (see rate_writes)


def rate_writes() -> int:
    """How many times this process wrote a rate: a reader caching the rates in the process
    refreshes its copy when this number changes."""
    return _rate_writes


def _rate_written() -> None:
    global _rate_writes
    _rate_writes += 1


def rate_json(r: Rate) -> dict[str, Any]:
    return {
        "id": r.id, "active": r.active, "remark": r.remark, "prefix": r.prefix,
        "length": r.length, "initial_cost": fmt(r.initial_cost),
        "initial_time": r.initial_time, "rate": fmt(r.rate), "unit": r.unit,
        "start_time": r.start_time, "end_time": r.end_time,
        "extensions": "all" if r.all_extensions else list(r.extensions or []),
    }


def rule_of(r: Rate) -> RateRule:
    return RateRule(
        id=r.id, prefix=r.prefix, length=r.length, initial_cost=r.initial_cost,
        initial_time=r.initial_time, rate=r.rate, unit=r.unit,
        start=time.fromisoformat(r.start_time), end=time.fromisoformat(r.end_time),
        extensions=None if r.all_extensions else frozenset(r.extensions or []),
        active=r.active, remark=r.remark)


async def _known_extensions() -> set[str]:
    return set(await Extension.all().values_list("number", flat=True))


async def create_rate(data: dict[str, Any]) -> Rate:
    fields = rate_fields(data, known_extensions=await _known_extensions())
    try:
        return await Rate.create(**fields)
    finally:
        _rate_written()


async def get_rate(rate_id: Any) -> Rate:
    rid = valid_rate_id(rate_id)
    rate = await Rate.get_or_none(id=rid)
    if rate is None:
        raise BillingError(Msg("no rate %(id)s", id=rid), "id", status=404)
    return rate


async def update_rate(rate_id: Any, data: dict[str, Any]) -> Rate:
    rate = await get_rate(rate_id)
    fields = rate_fields(data, partial=True, known_extensions=await _known_extensions())
    for key, value in fields.items():
        setattr(rate, key, value)
    try:
        await rate.save()
    finally:
        _rate_written()
    return rate


async def delete_rate(rate_id: Any) -> None:
    rate = await get_rate(rate_id)
    try:
        await rate.delete()
    finally:
        _rate_written()


async def active_rules() -> list[RateRule]:
    return [rule_of(r) for r in await Rate.filter(active=True)]

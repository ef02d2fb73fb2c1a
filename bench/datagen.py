"""Fill a CooVox database with N call records (default 1M) over 400 extensions and a year.

Rows go straight into the product's tables (``calls_call`` from ``coovox.plugins.calls.models.Call``,
``billing_call`` from the billing plugin, plus extensions and billing accounts) with bulk
INSERTs in ``executemany`` batches: ``sqlite3`` for SQLite, ``asyncpg`` for PostgreSQL.
The schema comes from the product's own migrations (``Coovox.open``), so indexes are the
product's. Columns the generator does not know get the model field's default, so the
generator keeps working when engineers add nullable/defaulted fields.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise import fields as tfields
from tortoise.models import Model

from coovox.storage.money import to_units
from coovox.storage.money_field import MoneyField

BATCH = 10_000
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈杰", "Alice", "Bob", "Carol", "Dave", "Eve"]
STATUSES = (["answered"] * 60 + ["no answer"] * 15 + ["busy"] * 10 + ["failed"] * 5
            + ["refused"] * 10)
RATE = {"id": 1, "prefix": "9", "length": 0, "initial_cost": "0.1000", "initial_time": 60,
        "rate": "0.0200", "unit": 55}


def extensions(count: int = 400) -> list[tuple[str, str]]:
    """(number, name) of the generated extensions: 1000, 1001, ..."""
    return [(str(1000 + i), f"{NAMES[i % len(NAMES)]} {i}") for i in range(count)]


def cost(talk: float) -> Decimal:
    if talk <= 0:
        return Decimal(0)
    units = max(0, -(-(talk - 60) // 55)) if talk > 60 else 0
    return Decimal("0.1") + Decimal("0.02") * int(units)


def columns(model: type[Model]) -> list[tuple[str, str, Any]]:
    """(attribute, column, field) of every plain column of ``model`` in table order."""
    out = []
    for name, field in model._meta.fields_map.items():
        if isinstance(field, (tfields.relational.RelationalField,)):
            continue
        out.append((name, field.source_field or name, field))
    return out


def _default(field: Any) -> Any:
    default = field.default
    return default() if callable(default) else default


def _converter(field: Any, dialect: str) -> Any:
    """A function turning a Python value into what the driver stores for ``field``."""
    if isinstance(field, MoneyField):
        return lambda v: None if v is None else to_units(Decimal(v))
    if isinstance(field, tfields.JSONField):
        return lambda v: None if v is None else json.dumps(v, separators=(",", ":"),
                                                           ensure_ascii=False)
    if isinstance(field, tfields.BooleanField):
        if dialect == "postgres":
            return lambda v: None if v is None else bool(v)
        return lambda v: None if v is None else int(bool(v))
    if isinstance(field, tfields.DatetimeField) and dialect == "sqlite":
        return lambda v: None if v is None else str(v)
    return None


def rows_for(model: type[Model], dicts: list[dict[str, Any]], dialect: str
             ) -> tuple[list[str], list[tuple]]:
    """Column names and value tuples for ``dicts`` (missing fields get their default)."""
    cols = columns(model)
    plan = [(name, _default(f), _converter(f, dialect)) for name, _c, f in cols]
    out = []
    for d in dicts:
        row = []
        for name, default, conv in plan:
            v = d.get(name, default)
            row.append(conv(v) if conv is not None else v)
        out.append(tuple(row))
    return [c for _n, c, _f in cols], out


def call_batches(total: int, *, n_ext: int = 400, seed: int = 7,
                 end: datetime | None = None) -> Iterator[tuple[list[dict], list[dict]]]:
    """Batches of (call dicts, billing call dicts), deterministic for a seed."""
    rnd = random.Random(seed)
    exts = extensions(n_ext)
    end = end or datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=365)
    span = (end - start).total_seconds()
    for first in range(0, total, BATCH):
        calls, bills = [], []
        for i in range(first, min(total, first + BATCH)):
            number, name = exts[rnd.randrange(n_ext)]
            started = start + timedelta(seconds=span * i / total + rnd.random())
            status = rnd.choice(STATUSES)
            talk = round(rnd.uniform(1, 600), 3) if status == "answered" else 0.0
            ring = round(rnd.uniform(0.5, 20), 3)
            answered = started + timedelta(seconds=ring) if talk else None
            ended = started + timedelta(seconds=ring + talk)
            dialed = f"9{rnd.randrange(10**8):08d}"
            cid = f"bench-{i:08d}"
            reason = ""
            if status == "refused":
                reason = rnd.choice(["insufficient funds", "locked", "no route"])
            c = cost(talk)
            calls.append({
                "id": cid, "node": "node1", "started_at": started, "answered_at": answered,
                "ended_at": ended, "extension": number, "extension_name": name,
                "dialed": dialed, "sent": dialed[1:], "rule": "bench", "trunk": "carrier",
                "status": status, "reason": reason, "cause": 16,
                "duration": round(ring + talk, 3), "talk_time": talk,
                "billed_talk_time": talk})
            bills.append({
                "call_id": cid, "extension": number, "name": name, "rate": RATE,
                "charged": c, "next_seq": 1, "cost": c, "settled": True,
                "answered": bool(talk), "talk_time": talk,
                "local_date": started.strftime("%Y-%m-%d")})
        yield calls, bills


def _insert_sql(table: str, cols: list[str], dialect: str) -> str:
    marks = ", ".join(f"${i + 1}" for i in range(len(cols))) if dialect == "postgres" \
        else ", ".join("?" * len(cols))
    names = ", ".join('"' + c + '"' for c in cols)
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'


def _config_rows(n_ext: int) -> list[tuple[type[Model], list[dict]]]:
    from coovox.plugins.billing.models import Account
    from coovox.plugins.calls.models import Extension

    exts = extensions(n_ext)
    return [
        (Extension, [{"id": i + 1, "number": n, "name": name} for i, (n, name) in enumerate(exts)]),
        (Account, [{"extension": n, "enabled": True, "balance": Decimal("1000")} for n, _ in exts]),
    ]


def fill_sqlite(path: str, total: int, n_ext: int = 400,
                config: bool = True) -> dict[str, float]:
    """Insert into an SQLite file already migrated by the product; returns timings.
    ``config=False``: call records only (the extensions exist already)."""
    from coovox.plugins.billing.models import BillingCall
    from coovox.plugins.calls.models import Call

    t0 = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    for model, dicts in _config_rows(n_ext) if config else []:
        cols, rows = rows_for(model, dicts, "sqlite")
        db.executemany(_insert_sql(model._meta.db_table, cols, "sqlite"), rows)
    for calls, bills in call_batches(total, n_ext=n_ext):
        for model, dicts in ((Call, calls), (BillingCall, bills)):
            cols, rows = rows_for(model, dicts, "sqlite")
            db.executemany(_insert_sql(model._meta.db_table, cols, "sqlite"), rows)
        db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()
    return {"rows": total, "seconds": round(time.perf_counter() - t0, 1)}


async def fill_postgres(url: str, total: int, n_ext: int = 400) -> dict[str, float]:
    """Insert into a PostgreSQL database already migrated by the product; returns timings."""
    import asyncpg

    from coovox.plugins.billing.models import BillingCall
    from coovox.plugins.calls.models import Call

    t0 = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for model, dicts in _config_rows(n_ext):
            cols, rows = rows_for(model, dicts, "postgres")
            await conn.executemany(_insert_sql(model._meta.db_table, cols, "postgres"), rows)
        for calls, bills in call_batches(total, n_ext=n_ext):
            async with conn.transaction():
                for model, dicts in ((Call, calls), (BillingCall, bills)):
                    cols, rows = rows_for(model, dicts, "postgres")
                    await conn.executemany(
                        _insert_sql(model._meta.db_table, cols, "postgres"), rows)
        # what autovacuum does to a long-lived database: statistics and the visibility map
        # (index-only scans of the statistics index need it)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {"rows": total, "seconds": round(time.perf_counter() - t0, 1)}

"""What billing adds to a call-log row (``cost``, ``rate``: :func:`reports.call_fields`)
in SQL, for the call-log exports formatted by the database (PostgreSQL's ``COPY``,
``calllog.copy_csv``) or read by the export worker (SQLite, ``calllog.export``)."""

from __future__ import annotations

from coovox.plugins.billing import sql

COST = "(CASE WHEN b.settled AND b.cost IS NOT NULL THEN b.cost ELSE b.charged END)"
BILLED = "CASE WHEN b.call_id IS NULL THEN NULL ELSE {} END"


def call_fields_sql() -> tuple[str, dict[str, str]] | None:
    """A join on the export's calls ``c`` and an expression per field (cost in units of
    1/10000; the rate's remark, else ``#id``), in the database's dialect."""
    if not sql.is_postgres():
        return ("LEFT JOIN billing_call AS b ON b.call_id = c.id AND b.rate IS NOT NULL",
                {"cost": BILLED.format(COST),
                 "rate": BILLED.format("coalesce(nullif(json_extract(b.rate, '$.remark'), ''),"
                                       " '#' || coalesce(json_extract(b.rate, '$.id'), 'None'))")})
    return ("LEFT JOIN LATERAL (SELECT * FROM billing_call WHERE call_id = c.id "
            "AND rate IS NOT NULL) AS b ON true",
            {"cost": BILLED.format(COST),
             "rate": BILLED.format("coalesce(nullif(b.rate->>'remark', ''), "
                                   "'#' || coalesce(b.rate->>'id', 'None'))")})

"""Server-side pagination, filtering and sorting of list pages and list API routes.

A :class:`ListSpec` names what a list may be sorted and filtered by; ``spec.parse(query)``
reads ``page``, ``per_page``, ``sort`` (``name`` or ``-name``) and the filters from a
request's query string; ``await spec.fetch(queryset, lq)`` counts and fetches ONE page in
SQL (``COUNT`` + ``ORDER BY .. LIMIT .. OFFSET``), never the whole table.  The result,
a :class:`Page`, knows how to build links that keep the filters, and the macros of
``_list.html`` render its sortable headers and the pager
("Total N items  < 1 2 3 >  20/page  Go to").

Example (a page handler and a JSON API handler)::

    from coovox.web.pagination import ListSpec

    EXTENSIONS = ListSpec(
        sortable={"number": "number", "name": "name"},   # public key -> ORM field
        default_sort="number",
        filters={
            "keyword": lambda qs, v: qs.filter(Q(number__icontains=v) | Q(name__icontains=v)),
            "enabled": ListSpec.bool_filter("enabled"),
        },
    )

    async def extensions_page(request):
        lq = EXTENSIONS.parse(request.query)             # lenient: bad values -> defaults
        page = await EXTENSIONS.fetch(Extension.all(), lq, path=request.path)
        return render_template("calls/extensions.html", request, {"page": page})

    async def api_extensions(request):
        lq = EXTENSIONS.parse(request.query, strict=True)  # bad values -> ApiError 400
        page = await EXTENSIONS.fetch(Extension.all(), lq, strict=True)
        return web.json_response(page.as_json(serialize))   # {"items": [...], "total": N}

and in the template::

    {% import "_list.html" as lst %}
    <form method="get">{{ lst.hidden(page, skip=("keyword",)) }} <input name="keyword"
        value="{{ page.filters.keyword }}"> ...</form>
    <table class="grid"><thead><tr>{{ lst.sort_th(page, "number", _("Extension")) }}
        ...</tr></thead><tbody>{% for e in page.items %}...{% endfor %}</tbody></table>
    {{ lst.pager(page) }}

Filters with an empty value are ignored.  A filter function may raise ``ValueError`` with
a message; strict parsing turns it into a 400 naming the filter, lenient parsing drops it
and records the message in ``page.errors`` (for display next to the filter field).  Query
parameters filtered outside the spec (a date range, say) go in
``fetch(..., keep={"from": ...})`` so that the links keep them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from coovox.inputs import truth
from coovox.messages import Msg
from coovox.storage import prepared, schema
from coovox.web.errors import ApiError

PER_PAGE_CHOICES: tuple[int, ...] = (10, 20, 50, 100)
DEFAULT_PER_PAGE = 20
MAX_API_PER_PAGE = 1000
MAX_PAGE = 10**9  # beyond any table; keeps OFFSET within a 64-bit integer

FilterFn = Callable[[Any, str], Any]


@dataclass
class ListQuery:
    """What one request asks of a list: page, page size, sort and filter values."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = ""
    desc: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def sort_param(self) -> str:
        return ("-" if self.desc else "") + self.sort if self.sort else ""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class Page:
    """One page of a list, with what templates need to link to other pages."""

    items: list[Any]
    total: int
    query: ListQuery
    per_page_choices: tuple[int, ...] = PER_PAGE_CHOICES
    path: str = ""
    keep: dict[str, str] = field(default_factory=dict)
    estimated: bool = False  # ``total`` is an estimate ("about N")

    @property
    def page(self) -> int:
        return self.query.page

    @property
    def per_page(self) -> int:
        return self.query.per_page

    @property
    def filters(self) -> dict[str, str]:
        return self.query.filters

    @property
    def errors(self) -> dict[str, str]:
        return self.query.errors

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and ``around`` the current; None = a gap."""
        shown = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        out: list[int | None] = []
        last = 0
        for n in sorted(x for x in shown if 1 <= x <= self.pages):
            if n - last > 1:
                out.append(None)
            out.append(n)
            last = n
        return out

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters of this page (filters, sort, size) with ``changes``."""
        params: dict[str, Any] = {k: v for k, v in self.keep.items() if v != ""}
        params.update((k, v) for k, v in self.filters.items() if v != "")
        if self.query.sort_param:
            params["sort"] = self.query.sort_param
        params["per_page"] = self.per_page
        params["page"] = self.page
        params.update(changes)
        return {k: str(v) for k, v in params.items() if v is not None and v != ""}

    def url(self, **changes: Any) -> str:
        """A link to this list with ``changes`` (e.g. ``page=3``), keeping the filters."""
        return f"{self.path}?{urlencode(self.params(**changes))}"

    def sort_url(self, key: str) -> str:
        """Link sorting by ``key``: ascending first, then toggling; back to page 1."""
        desc = self.query.sort == key and not self.query.desc
        return self.url(sort=("-" if desc else "") + key, page=1)

    def sort_state(self, key: str) -> str:
        """``"asc"``, ``"desc"`` or ``""`` for a column header."""
        if self.query.sort != key:
            return ""
        return "desc" if self.query.desc else "asc"

    def as_json(self, serialize: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        """The API shape of api.md: ``{"items": [...], "total": N}`` (+ page, per_page)."""
        out = {"items": [serialize(i) for i in self.items], "total": self.total,
               "page": self.page, "per_page": self.per_page}
        if self.estimated:
            out["total_estimated"] = True
        return out


@dataclass
class ListSpec:
    """What a list may be sorted and filtered by (see the module docstring)."""

    sortable: Mapping[str, str | Sequence[str]]
    default_sort: str
    filters: Mapping[str, FilterFn] = field(default_factory=dict)
    per_page_choices: tuple[int, ...] = PER_PAGE_CHOICES
    default_per_page: int = DEFAULT_PER_PAGE

    # --- parsing ---------------------------------------------------------------------------

    def parse(self, query: Mapping[str, str], *, strict: bool = False) -> ListQuery:
        """Read a query string. ``strict`` (API): ApiError 400 naming the bad parameter;
        otherwise bad values fall back to defaults so a page always renders."""
        lq = ListQuery(per_page=self.default_per_page)
        lq.page = self._int(query.get("page"), "page", 1, MAX_PAGE, 1, strict)
        high = MAX_API_PER_PAGE if strict else max(self.per_page_choices)
        lq.per_page = self._int(query.get("per_page"), "per_page", 1, high,
                                self.default_per_page, strict)
        if not strict and lq.per_page not in self.per_page_choices:
            lq.per_page = min(self.per_page_choices, key=lambda c: abs(c - lq.per_page))
        sort = (query.get("sort") or "").strip() or self.default_sort
        key = sort.lstrip("-")
        if key not in self.sortable:
            if strict:
                raise ApiError(400, "unknown sort key; use one of: "
                               + ", ".join(sorted(self.sortable)), "sort")
            sort, key = self.default_sort, self.default_sort.lstrip("-")
        lq.sort, lq.desc = key, sort.startswith("-")
        for name in self.filters:
            value = query.get(name)
            if value is not None and value.strip() != "":
                lq.filters[name] = value.strip()
        return lq

    @staticmethod
    def _int(raw: str | None, name: str, low: int, high: int | None, default: int,
             strict: bool) -> int:
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            if strict:
                raise ApiError(400, "must be a whole number", name) from None
            return default
        if value < low or (high is not None and value > high):
            if strict:
                limit = f"between {low} and {high}" if high else f"at least {low}"
                raise ApiError(400, f"must be {limit}", name)
            return max(low, min(value, high)) if high else max(low, value)
        return value

    # --- querying --------------------------------------------------------------------------

    def filter(self, queryset: Any, lq: ListQuery, *, strict: bool = False) -> Any:
        """Apply the filters of ``lq`` to a Tortoise queryset."""
        for name, value in list(lq.filters.items()):
            try:
                queryset = self.filters[name](queryset, value)
            except ValueError as exc:
                if strict:
                    raise ApiError(400, str(exc), name) from None
                lq.errors[name] = exc.args[0] if exc.args else str(exc)  # a Msg stays one
        return queryset

    def order(self, queryset: Any, lq: ListQuery) -> Any:
        """Order a queryset by ``lq``'s sort (then by primary key, for stable pages)."""
        fields_ = self.sortable[lq.sort]
        names = [fields_] if isinstance(fields_, str) else list(fields_)
        sign = "-" if lq.desc else ""
        pk = schema.pk_name(queryset.model)
        if pk not in names:
            names.append(pk)
        return queryset.order_by(*[sign + n for n in names])

    async def fetch(self, queryset: Any, lq: ListQuery, *, strict: bool = False,
                    path: str = "", keep: Mapping[str, str] | None = None) -> Page:
        """Filter, count and fetch the requested page in SQL; a page past the end
        is clamped to the last page.  ``path`` is the list's URL for links; ``keep``
        are other query parameters the links must keep (e.g. a date range filtered
        outside the spec)."""
        base = queryset
        with prepared.collecting() as found:
            queryset = self.filter(base, lq, strict=strict)
        # the keyword alone (one filter on an unfiltered base) counts its own matches
        alone = len(found) == 1 and len(lq.filters) == 1 and \
            base.sql() == base.model.all().sql()
        total = await prepare_and_count(found, alone)
        estimated = False
        if total is None and alone and len(found) == 1 and \
                hasattr(found[0], "count_or_estimate"):  # many matches: counting is slow
            total, estimated = await found[0].count_or_estimate() or (None, False)
        if total is None:
            total = await queryset.count()
        pages = max(1, -(-total // lq.per_page))
        if lq.page > pages and not strict:
            lq.page = pages
        items = await self.order(queryset, lq).offset(lq.offset).limit(lq.per_page)
        return Page(list(items), total, lq, self.per_page_choices, path, dict(keep or {}),
                    estimated)

    # --- ready-made filters ----------------------------------------------------------------

    @staticmethod
    def bool_filter(field_name: str) -> FilterFn:
        """A filter accepting true/false, 1/0, yes/no, on/off."""
        def apply(qs: Any, value: str) -> Any:
            return qs.filter(**{field_name: truth(value)})
        return apply

    @staticmethod
    def contains_filter(*field_names: str) -> FilterFn:
        """A case-insensitive "contains" filter over one or more text fields (OR)."""
        from tortoise.expressions import Q

        def apply(qs: Any, value: str) -> Any:
            parts = [Q(**{f"{name}__icontains": value}) for name in field_names]
            return qs.filter(Q(*parts, join_type="OR"))
        return apply

    @staticmethod
    def equals_filter(field_name: str) -> FilterFn:
        """An "equals" filter; a value longer than the column is refused (ValueError), not
        handed to the database."""
        def apply(qs: Any, value: str) -> Any:
            limit = _max_length(qs.model, field_name)
            if limit is not None and len(value) > limit:
                raise ValueError(Msg("must be at most %(n)s characters", n=limit))
            return qs.filter(**{field_name: value})
        return apply


def _max_length(model: Any, path: str) -> int | None:
    """``max_length`` of the text column ``path`` (``name`` or ``user__username``)."""
    *relations, name = path.split("__")
    for rel in relations:
        model = schema.related_model(model, rel)
        if model is None:
            return None
    return schema.max_length(model, name)


async def prepare_and_count(found: list[Any], alone: bool = False) -> int | None:
    """Run ``await q.prepare()`` for the filters ``found`` by :func:`prepared.collecting`
    (e.g. the call log's keyword, which consults its index); returns the exact row count
    when one such filter is the query's only filter (``alone``) and knows it
    (``q.count``), else None."""
    await prepared.prepare(found)
    if alone and len(found) == 1:
        return getattr(found[0], "count", None)
    return None


def page_of(request_path: str, page: Page) -> Page:
    """Attach the path used by ``Page.url`` (when ``fetch`` had none)."""
    page.path = request_path
    return page

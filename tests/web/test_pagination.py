"""The reusable list helper: SQL pagination, filters, sort, links and the pager macro."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from coovox.plugins.calls.models import Extension
from coovox.web.errors import ApiError
from coovox.web.i18n import gettext
from coovox.web.pagination import ListSpec

SPEC = ListSpec(
    sortable={"number": "number", "name": "name"},
    default_sort="number",
    filters={"keyword": ListSpec.contains_filter("number", "name"),
             "enabled": ListSpec.bool_filter("enabled")},
)


async def _seed(n: int) -> None:
    await Extension.bulk_create([Extension(number=str(100 + i), name=f"user{i % 7}",
                                           enabled=i % 3 != 0) for i in range(n)])


async def test_fetches_requested_page_with_total(coovox):
    await _seed(45)
    page = await SPEC.fetch(Extension.all(), SPEC.parse({"page": "3", "per_page": "20"}))
    assert page.total == 45 and page.pages == 3
    assert [e.number for e in page.items] == [str(n) for n in range(140, 145)]


async def test_filters_and_sort_descending(coovox):
    await _seed(30)
    lq = SPEC.parse({"keyword": "USER3", "enabled": "yes", "sort": "-number"})
    page = await SPEC.fetch(Extension.all(), lq)
    expected = sorted((str(100 + i) for i in range(30) if i % 7 == 3 and i % 3 != 0),
                      reverse=True)
    assert [e.number for e in page.items] == expected
    assert page.total == len(expected)


async def test_lenient_parse_falls_back_and_clamps_past_end(coovox):
    await _seed(5)
    lq = SPEC.parse({"page": "99", "per_page": "abc", "sort": "secret"})
    page = await SPEC.fetch(Extension.all(), lq)
    assert page.page == 1 and page.per_page == 20 and page.query.sort == "number"
    assert len(page.items) == 5


async def test_lenient_bad_filter_is_reported_not_raised(coovox):
    await _seed(3)
    lq = SPEC.parse({"enabled": "maybe"})
    page = await SPEC.fetch(Extension.all(), lq)
    assert page.total == 3 and "enabled" in page.errors


@pytest.mark.parametrize("query,field", [({"page": "0"}, "page"), ({"per_page": "x"}, "per_page"),
                                         ({"sort": "pin"}, "sort")])
def test_strict_parse_names_the_bad_parameter(query, field):
    with pytest.raises(ApiError) as err:
        SPEC.parse(query, strict=True)
    assert err.value.status == 400 and err.value.field == field


def test_links_keep_filters_and_toggle_sort():
    from coovox.web.pagination import Page

    lq = SPEC.parse({"keyword": "a b", "sort": "name", "per_page": "50", "page": "2"})
    page = Page([], 500, lq, path="/x")
    assert page.url(page=3) == "/x?keyword=a+b&sort=name&per_page=50&page=3"
    assert "sort=-name" in page.sort_url("name") and "page=1" in page.sort_url("name")
    assert page.sort_url("number").count("sort=number") == 1
    assert page.page_numbers() == [1, 2, 3, 4, None, 10]


def test_pager_macro_renders_total_pages_and_size_choices():
    from coovox.web.pagination import Page

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(
        str(Path(__file__).parents[2] / "coovox/web/templates")), autoescape=True)
    env.globals["_"] = gettext
    tmpl = env.from_string('{% import "_list.html" as lst %}{{ lst.sort_th(page, "number", "N") }}'
                           '{{ lst.pager(page) }}')
    page = Page([], 64, SPEC.parse({"sort": "-number"}), path="/ext")
    html = tmpl.render(page=page)
    assert "Total 64 items" in html
    assert 'href="/ext?sort=-number&amp;per_page=20&amp;page=2"' in html
    assert 'aria-sort="descending"' in html
    for n in (10, 20, 50, 100):
        assert f'<option value="{n}"' in html

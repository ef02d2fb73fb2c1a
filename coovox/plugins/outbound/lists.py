"""How the outbound configuration lists sort and filter (shared by the API and the pages)."""

from __future__ import annotations

from coovox.web.pagination import ListSpec

KEYWORD = "keyword"

LIST_SPECS: dict[str, ListSpec] = {
    "extension": ListSpec(
        sortable={"number": "number", "name": "name", "enabled": "enabled",
                  "dial_permission": "dial_permission"},
        default_sort="number",
        filters={"number": ListSpec.contains_filter("number"),
                 KEYWORD: ListSpec.contains_filter("number", "name"),
                 "enabled": ListSpec.bool_filter("enabled"),
                 "dial_permission": ListSpec.equals_filter("dial_permission")}),
    "trunk": ListSpec(sortable={"name": "name", "enabled": "enabled"}, default_sort="name",
                      filters={KEYWORD: ListSpec.contains_filter("name", "dial_string"),
                               "enabled": ListSpec.bool_filter("enabled")}),
    "dial rule": ListSpec(sortable={"name": "name", "prefix": "prefix"}, default_sort="name",
                          filters={KEYWORD: ListSpec.contains_filter("name", "pattern")}),
    "dial permission": ListSpec(sortable={"name": "name"}, default_sort="name",
                                filters={KEYWORD: ListSpec.contains_filter("name")}),
    "PIN set": ListSpec(sortable={"name": "name"}, default_sort="name",
                        filters={KEYWORD: ListSpec.contains_filter("name")}),
}

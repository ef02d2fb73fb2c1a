"""Messages for users: English in code, the JSON API and the logs; translated on pages.

``Msg("%(field)s must be greater than 0", field=Field("amount"))`` IS the string
``"amount must be greater than 0"`` (what the API answers and the log shows), and it keeps
its template and parameters, so that a page shows it in the reader's language, naming the
field by its label: "Recharge Amount must be greater than 0" / "充值金额必须大于 0"
(:func:`coovox.web.i18n.translate`).

Templates are msgids of the ``.po`` catalogs; a test collects every message that
validation code can raise and checks that each has a zh_CN translation.  Field labels
are msgids too: a plugin registers the labels of its fields with :func:`register_labels`
(a page may pass its own labels, which win).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABELS: dict[str, str] = {}


class Msg(str):
    """A message (``str``) that remembers its msgid ``template`` and its ``params``."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Msg:
        self = super().__new__(cls, template % params if params else template)
        self.template = template
        self.params = params
        return self

    def __reduce__(self):  # pickling (multiprocessing, copies) keeps the template
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, Any]) -> Msg:
    return Msg(template, **params)


class Joined(str):
    """Several messages as one (``"; "``-separated); each is translated on a page."""

    items: tuple[str, ...]
    sep: str

    def __new__(cls, items: list[str] | tuple[str, ...], sep: str = "; ") -> Joined:
        self = super().__new__(cls, sep.join(items))
        self.items, self.sep = tuple(items), sep
        return self

    def __reduce__(self):
        return (Joined, (self.items, self.sep))


class Field(str):
    """The name of an input inside a message: the name itself in English text (the API
    names fields by their names), the field's label on a page."""


def register_labels(labels: Mapping[str, str]) -> None:
    """Labels (English msgids) of input names, e.g. ``{"amount": "Recharge Amount"}``."""
    LABELS.update(labels)


def label_of(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The English label of input ``name``: the page's, a registered one, or the name
    made readable (``initial_cost`` -> ``Initial cost``)."""
    if labels and name in labels:
        return labels[name]
    if name in LABELS:
        return LABELS[name]
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]

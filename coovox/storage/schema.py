"""What the code needs to know of a Tortoise model's schema, from its public
``Model.describe()`` (never the private ``Model._meta``)."""

from __future__ import annotations

import functools
from typing import Any

_KINDS = ("data_fields", "fk_fields", "o2o_fields", "m2m_fields")


@functools.lru_cache(maxsize=256)
def described(model: Any) -> dict[str, Any]:
    """``model.describe(serializable=False)``, once per model (models never change)."""
    return model.describe(serializable=False)


def field(model: Any, name: str) -> dict[str, Any] | None:
    """The description of field ``name`` (None: no such field)."""
    d = described(model)
    if d["pk_field"] and d["pk_field"]["name"] == name:
        return d["pk_field"]
    for kind in _KINDS:
        for f in d[kind]:
            if f["name"] == name:
                return f
    return None


def max_length(model: Any, name: str) -> int | None:
    f = field(model, name)
    return None if f is None else f["constraints"].get("max_length")


def pk_name(model: Any) -> str:
    return described(model)["pk_field"]["name"]


def table(model: Any) -> str:
    return described(model)["table"]


def related_model(model: Any, name: str) -> Any:
    """The model a foreign key (or one-to-one) ``name`` points to (None: not a relation)."""
    d = described(model)
    for f in d["fk_fields"] + d["o2o_fields"]:
        if f["name"] == name:
            return f["python_type"]
    return None


def through_tables(model: Any) -> list[str]:
    """The tables of the model's many-to-many relations."""
    return [f["through"] for f in described(model)["m2m_fields"] if f.get("through")]

"""``coovox-license``: the vendor's tool to make key pairs and sign licences."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    print("coovox-license: not implemented yet")
    return 2

"""Developer helper behind ``coovox db makemigrations``: Tortoise's own autodetector."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.migrations.autodetector import MigrationAutodetector

from coovox.hooktypes import ModelSpec
from coovox.storage.db import tortoise_config


async def _detect(url: str, specs: Iterable[ModelSpec], *, ensure_packages: bool) -> tuple[
        dict[str, Any], list[Any]]:
    from tortoise.cli.cli import _ensure_migrations_package, tortoise_cli_context

    config = tortoise_config(url, specs)
    apps = config["apps"]
    if ensure_packages:
        for label, app_config in apps.items():
            _ensure_migrations_package(label, app_config)
    async with tortoise_cli_context(config) as ctx:
        detector = MigrationAutodetector(ctx.apps, apps)
        writers = await detector.changes()
    return apps, writers


async def pending_model_changes(url: str, specs: Iterable[ModelSpec]) -> list[str]:
    """App labels whose models differ from their committed migrations (nothing is written).

    Returns ``["<label>.<migration name>", ...]``; empty when every migration is up to date.
    """
    _, writers = await _detect(url, specs, ensure_packages=False)
    return [f"{w.app_label}.{w.name}" for w in writers]


async def make_migrations(url: str, specs: Iterable[ModelSpec],
                          app_labels: list[str] | None = None) -> list[str]:
    """Write migration files for model changes; returns one line per file written."""
    specs = list(specs)
    known = [s.app_label for s in specs]
    if app_labels:
        unknown = [a for a in app_labels if a not in known]
        if unknown:
            raise ValueError(f"unknown app label {unknown[0]!r}; known: {', '.join(known)}")
    _, writers = await _detect(url, specs, ensure_packages=True)
    lines = []
    for writer in writers:
        if app_labels and writer.app_label not in app_labels:
            continue
        path = writer.write()
        lines.append(f"created {writer.app_label}.{writer.name} ({path})")
    return lines or ["no changes"]

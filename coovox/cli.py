"""The ``coovox`` command line. Plugins add sub-commands through ``coovox_cli_commands``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import inspect
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from coovox import __version__
from coovox.config import KEYS, ConfigError, load_config
from coovox.context import Coovox
from coovox.hooktypes import Subparsers
from coovox.plugin_host import PluginError, PluginHost
from coovox.storage.db import DatabaseError

log = logging.getLogger("coovox")


class CommandError(Exception):
    """A command failed for a reason the user can fix; printed as one line, exit 1."""


def build_parser(host: PluginHost) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coovox", description="CooVox ARI call billing")
    parser.add_argument("--version", action="version", version=f"coovox {__version__}")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the Stasis application and the web UI")
    p.set_defaults(handler=cmd_run, needs_db=False)

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("show", help="print the effective configuration, secrets masked")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_config_show, needs_db=False)

    p = sub.add_parser("plugins", help="installed plugins")
    psub = p.add_subparsers(dest="plugins_command", required=True)
    c = psub.add_parser("list", help="name, version, built-in or third-party, enabled")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_plugins_list)
    for verb in ("enable", "disable"):
        c = psub.add_parser(verb, help=f"{verb} a plugin (persists)")
        c.add_argument("name")
        c.set_defaults(handler=cmd_plugin_toggle, enable=verb == "enable")

    p = sub.add_parser("db", help="database")
    dsub = p.add_subparsers(dest="db_command", required=True)
    c = dsub.add_parser("migrate", help="apply pending schema migrations")
    c.set_defaults(handler=cmd_db_migrate, needs_db=False)
    c = dsub.add_parser("makemigrations", help="(developers) write migrations for model changes")
    c.add_argument("app_labels", nargs="*")
    c.set_defaults(handler=cmd_db_makemigrations, needs_db=False)

    p = sub.add_parser("admin", help="administrator accounts")
    asub = p.add_subparsers(dest="admin_command", required=True)
    c = asub.add_parser("create", help="create an administrator")
    c.add_argument("name")
    c.add_argument("--password", help="the password (prompted when omitted)")
    c.set_defaults(handler=cmd_admin_create)
    c = asub.add_parser("passwd", help="change a user's password")
    c.add_argument("name")
    c.add_argument("--password", help="the new password (prompted when omitted)")
    c.set_defaults(handler=cmd_admin_passwd)

    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="print a new API token for a user")
    c.add_argument("--user", required=True)
    c.add_argument("--name", default="")
    c.set_defaults(handler=cmd_token_create)

    _plugin_commands(host, sub)
    return parser


def _plugin_commands(host: PluginHost, sub: Subparsers) -> None:
    """Let each enabled plugin add sub-commands; a failing plugin is logged and skipped."""
    host.call_all("coovox_cli_commands", subparsers=sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        host = PluginHost()
    except PluginError as exc:
        print(f"coovox: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser(host)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"coovox: configuration error: {exc}", file=sys.stderr)
        return 2
    if handler_is_run(args):
        # a fresh database's migration memory stays in the child (coovox.storage.db)
        from coovox.storage.db import migrate_apart

        private_dir_of(config)
        migrate_apart(config.database_url, host.call_all_plugins("coovox_models"))
    try:
        return asyncio.run(_dispatch(args, config, host))
    except KeyboardInterrupt:
        return 130
    except (CommandError, DatabaseError, PluginError) as exc:
        print(f"coovox: error: {exc}", file=sys.stderr)
        return 1


def handler_is_run(args: argparse.Namespace) -> bool:
    return getattr(args, "handler", None) is cmd_run


def private_dir_of(config: Any) -> None:
    from coovox.storage.files import private_dir

    private_dir(config.data_path)


async def _dispatch(args: argparse.Namespace, config, host: PluginHost) -> int:
    handler: Callable[..., Any] = args.handler
    coovox = Coovox(config=config, plugins=host)
    if not getattr(args, "needs_db", True):
        result = handler(coovox, args)
    else:
        await coovox.open(startup=False)
        try:
            result = handler(coovox, args)
            if inspect.isawaitable(result):
                result = await result
        finally:
            await coovox.close()
        return int(result or 0)
    if inspect.isawaitable(result):
        result = await result
    return int(result or 0)


# --- commands ---------------------------------------------------------------------------


async def cmd_run(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.runner import serve

    await serve(coovox)
    return 0


def cmd_config_show(coovox: Coovox, args: argparse.Namespace) -> int:
    values = coovox.config.masked()
    if args.json:
        print(json.dumps(values, indent=2))
        return 0
    print(f"# source: {coovox.config.source}")
    for key in KEYS:
        print(f"{key.name:<22} = {json.dumps(values[key.name])}    # {key.env}")
    return 0


def cmd_plugins_list(coovox: Coovox, args: argparse.Namespace) -> int:
    rows = [p.as_dict() for p in coovox.plugins.infos()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'NAME':<20} {'VERSION':<10} {'KIND':<12} {'ENABLED':<8} DESCRIPTION")
    for r in rows:
        kind = "built-in" if r["builtin"] else "third-party"
        enabled = "yes" if r["enabled"] else "no"
        print(f"{r['name']:<20} {r['version']:<10} {kind:<12} {enabled:<8} {r['description']}")
    return 0


async def cmd_plugin_toggle(coovox: Coovox, args: argparse.Namespace) -> int:
    if args.name not in coovox.plugins.plugins:
        raise CommandError(f"no plugin named {args.name!r} (see 'coovox plugins list')")
    await coovox.set_plugin_enabled(args.name, args.enable)
    print(f"plugin {args.name} {'enabled' if args.enable else 'disabled'}")
    return 0


async def cmd_db_migrate(coovox: Coovox, args: argparse.Namespace) -> int:
    await coovox.open(migrate=True, startup=False)
    await coovox.close()
    print("database is up to date")
    return 0


async def cmd_db_makemigrations(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.storage.migrations import make_migrations

    specs = coovox.plugins.call_all_plugins("coovox_models")
    try:
        lines = await make_migrations(coovox.config.database_url, specs, args.app_labels)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    for line in lines:
        print(line)
    return 0


def _password(args: argparse.Namespace, prompt: str) -> str:
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password given (use --password or type it)")
        return line.rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ")
    return first


async def cmd_admin_create(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.users import UserError, create_user

    try:
        await create_user(args.name, _password(args, "Password: "))
    except UserError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    print(f"administrator {args.name} created")
    return 0


async def cmd_admin_passwd(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.users import UserError, set_password

    try:
        await set_password(args.name, _password(args, "New password: "))
    except UserError as exc:
        raise CommandError(f"{exc.field}: {exc}") from None
    print(f"password of {args.name} changed")
    return 0


async def cmd_token_create(coovox: Coovox, args: argparse.Namespace) -> int:
    from coovox.users import UserError, create_token

    try:
        _, token = await create_token(args.user, args.name)
    except UserError as exc:
        raise CommandError(str(exc)) from None
    print(token)
    return 0

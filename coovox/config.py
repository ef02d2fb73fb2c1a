"""Configuration: defaults < TOML file < ``COOVOX_*`` environment variables.

Every key is declared once in :data:`KEYS` with its type, default, environment variable
and check.  :func:`load_config` returns a frozen :class:`Config` or raises
:class:`ConfigError` with one line naming the key and the problem.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from coovox.inputs import truth

PROMPT_LANGUAGES = ("en", "zh")


class ConfigError(Exception):
    """A configuration value is wrong; the message names the key and the problem."""


def _url(value: Any, schemes: tuple[str, ...]) -> str:
    value = _text(value)
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    return value


def _http_url(value: str) -> str:
    _url(value, ("http", "https"))
    if not urlsplit(value).hostname:
        raise ValueError("must name a host, e.g. http://127.0.0.1:8088")
    return value.rstrip("/")


def _db_url(value: str) -> str:
    return _url(value, ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg"))


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a whole number, not {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"must be between 1 and 65535, not {port}")
    return port


def _timezone(value: Any) -> str:
    value = _text(value)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use a name like Asia/Shanghai)") from None
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value!r}")
    return value


def _name(value: Any) -> str:
    value = _text(value)
    if not value or not value.replace("-", "").replace("_", "").isalnum():
        raise ValueError("must be letters, digits, '-' or '_'")
    return value


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number of seconds, not {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g} seconds, not {number:g}")
        return number
    return check


def _prompt_language(value: Any) -> str:
    value = _text(value).strip().lower().replace("_", "-")
    value = {"zh-cn": "zh", "cn": "zh", "en-us": "en"}.get(value, value)
    if value not in PROMPT_LANGUAGES:
        raise ValueError(f"must be one of {', '.join(PROMPT_LANGUAGES)}, not {value!r}")
    return value


def _keys(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of base64 public keys")
    return tuple(value)


def _networks(value: Any) -> tuple[str, ...]:
    """Addresses or CIDR blocks (a list, or one string separated by commas/spaces)."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of addresses or networks, e.g. [\"127.0.0.1\", "
                         "\"10.0.0.0/8\"]")
    out = []
    for item in value:
        try:
            out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (CIDR)") from None
    return tuple(out)


def _bool(value: Any) -> bool:
    try:
        return truth(value)
    except ValueError:
        raise ValueError(f"must be true or false, not {value!r}") from None


@dataclass(frozen=True)
class Key:
    """One configuration key: its TOML name, environment variable and check."""

    name: str
    check: Callable[[Any], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "COOVOX_" + self.name.upper()


KEYS: tuple[Key, ...] = (
    Key("data_dir", _text, "folder for the SQLite database, logs and the licence store"),
    Key("database_url", _db_url, "sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB", secret=True),
    Key("ari_url", _http_url, "Asterisk HTTP server, e.g. http://127.0.0.1:8088"),
    Key("ari_user", _text, "ARI user from ari.conf"),
    Key("ari_password", _text, "ARI password from ari.conf", secret=True),
    Key("ari_app", _name, "Stasis application name used in the dialplan"),
    Key("web_host", _text, "address the web UI listens on"),
    Key("web_port", _port, "port the web UI listens on"),
    Key("timezone", _timezone, "time zone of the PBX (statistics, rate windows)"),
    Key("licence_dir", _text, "licence store folder, kept apart from the database"),
    Key("licence_public_keys", _keys, "trusted vendor Ed25519 public keys (base64)"),
    Key("secret_key", _text, "key for session cookies (generated in the data dir if empty)", secret=True),
    Key("node_name", _name, "name of this node when several share one database"),
    Key("trusted_proxies", _networks, "reverse proxies (addresses/CIDRs) whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed"),
    Key("simulation", _bool, "true when running against the built-in ARI double"),
    Key("dial_timeout", _seconds(1, 600), "how long a trunk may ring before the call ends as "
        "no answer (seconds)"),
    Key("pin_timeout", _seconds(1, 120), "how long a caller has to type a PIN, per try (seconds)"),
    Key("refuse_tone_seconds", _seconds(0, 30), "how long a refused caller hears the busy or "
        "congestion tone before the hang-up (seconds)"),
    Key("prompt_language", _prompt_language, "language of the voice prompts callers hear: en or zh"),
    Key("sounds_dir", _text, "folder of the voice prompts (<language>/<name>.wav); empty: the "
        "prompts shipped with CooVox. Asterisk must be able to read it"),
)
KEY_BY_NAME = {k.name: k for k in KEYS}


@dataclass(frozen=True)
class Config:
    """The effective configuration; build it with :func:`load_config`."""

    data_dir: str = "./coovox-data"
    database_url: str = ""
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "coovox"
    ari_password: str = ""
    ari_app: str = "coovox"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    timezone: str = "UTC"
    licence_dir: str = ""
    licence_public_keys: tuple[str, ...] = ()
    secret_key: str = ""
    node_name: str = "node1"
    trusted_proxies: tuple[str, ...] = ()
    simulation: bool = False
    dial_timeout: float = 60.0
    pin_timeout: float = 10.0
    refuse_tone_seconds: float = 1.5
    prompt_language: str = "en"
    sounds_dir: str = ""
    source: str = field(default="defaults", compare=False)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def licence_path(self) -> Path:
        return Path(self.licence_dir)

    def masked(self) -> dict[str, Any]:
        """The configuration as a dict, secrets replaced by ``***``."""
        out: dict[str, Any] = {}
        for key in KEYS:
            value = getattr(self, key.name)
            if key.secret and value:
                value = _mask(key.name, value)
            out[key.name] = list(value) if isinstance(value, tuple) else value
        return out

    def replace(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _mask(name: str, value: str) -> str:
    if name == "database_url":
        parts = urlsplit(value)
        if parts.password:
            return value.replace(":" + parts.password + "@", ":***@", 1)
        return value
    return "***"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except PermissionError:
        raise ConfigError(f"config file {path}: not readable (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path}: is a folder, not a file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    # Allow an optional [coovox] table for readability.
    if set(data) == {"coovox"} and isinstance(data["coovox"], dict):
        data = data["coovox"]
    return data


def load_config(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Layer defaults, the TOML file and the environment into a checked :class:`Config`.

    ``config_file`` is the ``--config`` option; without it ``coovox.toml`` in the data dir
    is read when present.  ``overrides`` win over everything (used by tests and commands).
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}
    source = "defaults"

    data_dir = overrides.get("data_dir") or env.get("COOVOX_DATA_DIR") or Config.data_dir
    path = Path(config_file) if config_file else Path(data_dir) / "coovox.toml"
    if config_file or path.is_file():
        file_values = _read_toml(path)
        for name, value in file_values.items():
            if name not in KEY_BY_NAME:
                raise ConfigError(f"config file {path}: unknown key {name!r}")
            raw[name] = value
            origin[name] = f"in {path}"
        source = str(path)

    for key in KEYS:
        if key.env in env:
            raw[key.name] = env[key.env]
            origin[key.name] = key.env
    unknown_env = sorted(
        k for k in env if k.startswith("COOVOX_") and k[7:].lower() not in KEY_BY_NAME
        and k not in _OTHER_ENV
    )
    if unknown_env:
        raise ConfigError(f"{unknown_env[0]}: unknown setting")
    raw.update({k: v for k, v in overrides.items() if v is not None})

    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = KEY_BY_NAME[name]
        try:
            values[name] = key.check(value)
        except ValueError as exc:
            where = origin.get(name, key.env)
            raise ConfigError(f"{name} ({where}): {exc}") from None

    cfg = Config(**values, source=source)
    if not cfg.database_url:
        cfg = cfg.replace(database_url=f"sqlite://{Path(cfg.data_dir) / 'coovox.sqlite3'}")
    if not cfg.licence_dir:
        cfg = cfg.replace(licence_dir=str(Path(cfg.data_dir) / "licence"))
    return cfg


# Environment variables read elsewhere (tests, benchmarks), not configuration keys.
_OTHER_ENV = frozenset({"COOVOX_HEAVY", "COOVOX_TEST_ARTIFACTS", "COOVOX_CHROMIUM",
                        "COOVOX_SKIP_REAL_ASTERISK", "COOVOX_ASTERISK_PREFIX"})


def config_fields() -> list[str]:
    return [f.name for f in fields(Config) if f.name != "source"]

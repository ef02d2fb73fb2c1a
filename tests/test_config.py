"""Configuration: defaults < TOML file < COOVOX_* environment; clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coovox import cli
from coovox.config import KEYS, ConfigError, load_config

# The ten names operators script (issue 2): each with a valid value different from the default.
ENV_VALUES = {
    "COOVOX_DATA_DIR": ("data_dir", "/srv/coovox"),
    "COOVOX_DATABASE_URL": ("database_url", "postgres://bill:s3cret@db.example:5432/coovox"),
    "COOVOX_ARI_URL": ("ari_url", "http://pbx.example:8088"),
    "COOVOX_ARI_USER": ("ari_user", "stasis"),
    "COOVOX_ARI_PASSWORD": ("ari_password", "ari-pass"),
    "COOVOX_ARI_APP": ("ari_app", "billing-app"),
    "COOVOX_WEB_HOST": ("web_host", "0.0.0.0"),
    "COOVOX_WEB_PORT": ("web_port", "9090"),
    "COOVOX_TIMEZONE": ("timezone", "Asia/Shanghai"),
    "COOVOX_LICENCE_DIR": ("licence_dir", "/srv/licence"),
}


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """The real ``coovox`` command in a subprocess, with only ``env`` as COOVOX_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COOVOX_")}
    return subprocess.run([sys.executable, "-m", "coovox", *args], env={**clean, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_defaults_follow_the_issue(tmp_path):
    cfg = load_config(environ={"COOVOX_DATA_DIR": str(tmp_path)})
    assert cfg.ari_url == "http://127.0.0.1:8088"
    assert cfg.ari_app == "coovox"
    assert (cfg.web_host, cfg.web_port) == ("127.0.0.1", 8080)
    assert cfg.database_url == f"sqlite://{tmp_path / 'coovox.sqlite3'}"
    assert cfg.licence_dir == str(tmp_path / "licence")
    assert cfg.source == "defaults"


def test_default_data_dir_is_coovox_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert Path(cfg.data_dir) == Path("./coovox-data")
    assert cfg.database_url.endswith("coovox-data/coovox.sqlite3")


def test_file_in_data_dir_overrides_defaults_and_env_overrides_file(tmp_path):
    (tmp_path / "coovox.toml").write_text(
        'web_port = 8181\nari_app = "from-file"\ntimezone = "Europe/Paris"\n')
    env = {"COOVOX_DATA_DIR": str(tmp_path), "COOVOX_WEB_PORT": "8282"}
    cfg = load_config(environ=env)
    assert cfg.web_port == 8282  # env beats file
    assert cfg.ari_app == "from-file"  # file beats default
    assert cfg.timezone == "Europe/Paris"
    assert cfg.ari_user == "coovox"  # default kept
    assert cfg.source == str(tmp_path / "coovox.toml")


def test_config_option_names_the_file(tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[coovox]\nari_url = "https://pbx.example:8089/"\n')
    cfg = load_config(path, environ={"COOVOX_DATA_DIR": str(tmp_path / "data")})
    assert cfg.ari_url == "https://pbx.example:8089"
    assert cfg.source == str(path)


@pytest.mark.parametrize("env_name", sorted(ENV_VALUES))
def test_each_environment_variable_is_read(env_name, tmp_path):
    key, value = ENV_VALUES[env_name]
    (tmp_path / "coovox.toml").write_text("")  # file present, empty: env still applies
    environ = {"COOVOX_DATA_DIR": str(tmp_path), env_name: value}
    cfg = load_config(environ=environ)
    expected = int(value) if key == "web_port" else value
    assert getattr(cfg, key) == expected
    assert any(k.env == env_name for k in KEYS)


SECRETS_ENV = {
    "COOVOX_DATABASE_URL": "postgres://bill:db-pass-42@db.example:5432/coovox",
    "COOVOX_ARI_PASSWORD": "ari-pass-42",
    "COOVOX_SECRET_KEY": "cookie-key-42",
    "COOVOX_WEB_PORT": "8123",
}


def test_config_show_masks_secrets(tmp_path):
    proc = run_cli("config", "show", env={"COOVOX_DATA_DIR": str(tmp_path), **SECRETS_ENV},
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for secret in ("db-pass-42", "ari-pass-42", "cookie-key-42"):
        assert secret not in proc.stdout
    assert "postgres://bill:***@db.example:5432/coovox" in proc.stdout
    assert "8123" in proc.stdout


def test_config_show_json_masks_secrets(tmp_path, monkeypatch, capsys):
    for k in list(os.environ):
        if k.startswith("COOVOX_"):
            monkeypatch.delenv(k)
    for k, v in {"COOVOX_DATA_DIR": str(tmp_path), **SECRETS_ENV}.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ari_password"] == "***" and shown["secret_key"] == "***"
    assert shown["database_url"] == "postgres://bill:***@db.example:5432/coovox"
    assert shown["web_port"] == 8123 and shown["data_dir"] == str(tmp_path)


BAD_ENV = [
    ({"COOVOX_ARI_URL": "ftp://pbx"}, "ari_url"),
    ({"COOVOX_ARI_URL": "not a url"}, "ari_url"),
    ({"COOVOX_DATABASE_URL": "mysql://x@y/z"}, "database_url"),
    ({"COOVOX_WEB_PORT": "70000"}, "web_port"),
    ({"COOVOX_WEB_PORT": "eighty"}, "web_port"),
    ({"COOVOX_TIMEZONE": "Mars/Olympus"}, "timezone"),
    ({"COOVOX_ARI_APP": "bad app;"}, "ari_app"),
    ({"COOVOX_WEB_PROT": "8080"}, "COOVOX_WEB_PROT"),
    ({"COOVOX_PROMPT_LANGUAGE": "klingon"}, "prompt_language"),
]


def test_prompt_language_accepts_common_spellings():
    assert load_config(environ={"COOVOX_PROMPT_LANGUAGE": "zh_CN"}).prompt_language == "zh"
    assert load_config(environ={}).prompt_language == "en"


@pytest.mark.parametrize(("env", "named"), BAD_ENV, ids=[e[1] + ":" + list(e[0].values())[0]
                                                         for e in BAD_ENV])
def test_wrong_environment_value_is_one_line_exit_2(env, named, tmp_path, monkeypatch, capsys):
    for k in list(os.environ):
        if k.startswith("COOVOX_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("COOVOX_DATA_DIR", str(tmp_path))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert_one_line_naming(err, named)


def assert_one_line_naming(err: str, named: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("plugin ")]
    assert len(lines) == 1, err  # (a plugin that failed to load is logged on its own line)
    assert named in lines[0]
    assert "Traceback" not in err


def _file_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('web_port = 8080\nweb_prot = 8081\n')
    invalid = tmp_path / "invalid.toml"
    invalid.write_text('web_port = = 8080\n')
    bad_port = tmp_path / "port.toml"
    bad_port.write_text("web_port = 0\n")
    bad_tz = tmp_path / "tz.toml"
    bad_tz.write_text('timezone = "Nowhere/Land"\n')
    unreadable = tmp_path / "unreadable.toml"
    unreadable.write_text("web_port = 8080\n")
    unreadable.chmod(0)
    return {
        "unknown key": (unknown, "web_prot"),
        "invalid toml": (invalid, "not valid TOML"),
        "port out of range": (bad_port, "web_port"),
        "bad time zone": (bad_tz, "timezone"),
        "unreadable": (unreadable, "not readable"),
        "a folder": (tmp_path, "is a folder"),
        "missing": (tmp_path / "missing.toml", "not found"),
    }


@pytest.mark.parametrize("case", ["unknown key", "invalid toml", "port out of range",
                                  "bad time zone", "unreadable", "a folder", "missing"])
def test_wrong_file_is_one_line_exit_2(case, tmp_path, monkeypatch, capsys):
    path, named = _file_cases(tmp_path)[case]
    if case == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    monkeypatch.setenv("COOVOX_DATA_DIR", str(tmp_path))
    assert cli.main(["--config", str(path), "config", "show"]) == 2
    err = capsys.readouterr().err
    assert_one_line_naming(err, named)
    assert str(path) in err


def test_wrong_values_stop_the_real_command(tmp_path):
    """Through a real process: ``coovox run`` refuses to start, one line, exit 2."""
    (tmp_path / "coovox.toml").write_text('ari_url = "http://pbx:8088"\nsip_port = 5060\n')
    proc = run_cli("run", env={"COOVOX_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_naming(proc.stderr, "sip_port")
    assert not (tmp_path / "coovox.sqlite3").exists()  # stopped before touching anything


def test_error_message_names_key_and_problem():
    with pytest.raises(ConfigError) as exc:
        load_config(environ={"COOVOX_WEB_PORT": "0"})
    assert "web_port" in str(exc.value) and "between 1 and 65535" in str(exc.value)

"""A real Asterisk 22 for tests: the kit build, the project's own configuration, the process.

* :func:`asterisk_prefix` builds (or finds, cached) the kit with ``../shared/asterisk/build.sh``.
* :func:`render_config` turns the shipped ``ari-dialplan/*.conf`` into a test instance's
  files: only ports, addresses, passwords are filled in, and test phones are appended as
  extra endpoints made from the shipped ``(phone)`` templates.  Every rewrite must hit the
  shipped file, so a change of its shape fails loudly instead of silently testing something
  else.
* :class:`Asterisk` runs ``asterisk -f`` as a child in its own temporary directories, on
  127.0.0.1 and free ports, and stops it with ``core stop now`` (then SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from coovox.ari import basic_auth
from tests.real.kit.ports import HOST, free_port, free_udp_port, free_udp_range
from tests.real.kit.procs import die_with_parent

ROOT = Path(__file__).resolve().parents[3]
DIALPLAN = ROOT / "ari-dialplan"
BUILD_SCRIPT = ROOT / ".." / "shared" / "asterisk" / "build.sh"
SHIPPED = ("ari.conf", "http.conf", "extensions.conf", "pjsip.conf")
SKIP_ENV = "COOVOX_SKIP_REAL_ASTERISK"
PREFIX_ENV = "COOVOX_ASTERISK_PREFIX"


class KitError(RuntimeError):
    """The Asterisk kit could not be built or started."""


def skip_requested() -> bool:
    """True only when ``COOVOX_SKIP_REAL_ASTERISK=1`` is set explicitly."""
    return os.environ.get(SKIP_ENV) == "1"


def asterisk_prefix() -> Path:
    """Where the kit is installed: ``$COOVOX_ASTERISK_PREFIX`` (used as is) or the last stdout
    line of ``bash ../shared/asterisk/build.sh`` (builds once, then cached; its progress goes
    to stderr).  Raises :class:`KitError` when there is no usable Asterisk."""
    given = os.environ.get(PREFIX_ENV)
    if given:
        prefix = Path(given)
    else:
        script = BUILD_SCRIPT.resolve()
        if not script.is_file():
            raise KitError(f"{script} not found (the Asterisk kit lives next to the checkout)")
        done = subprocess.run(["bash", str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=None, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise KitError(f"bash {script} failed (exit {done.returncode}); see its output "
                           "above and PREFIX/.kit-build.log")
        prefix = Path(lines[-1].strip())
    if not (prefix / "sbin" / "asterisk").is_file():
        raise KitError(f"no sbin/asterisk under {prefix}")
    return prefix


# --- configuration ---------------------------------------------------------------------------


@dataclass
class Rewrite:
    """Set ``key`` to ``value`` in every section named ``section`` (None: any section)."""

    section: str | None
    key: str
    value: str


def rewrite(text: str, rules: list[Rewrite], *, where: str) -> str:
    """Apply ``rules`` to an Asterisk .conf text, keeping comments; each rule must match."""
    hits = [0] * len(rules)
    out: list[str] = []
    section = None
    for line in text.splitlines():
        head = re.match(r"\s*\[([^\]]+)\]", line)
        if head:
            section = head.group(1)
        for i, rule in enumerate(rules):
            if rule.section is not None and rule.section != section:
                continue
            m = re.match(rf"(\s*{re.escape(rule.key)}\s*=>?\s*)([^;]*?)(\s*;.*)?$", line)
            if m:
                line = m.group(1) + rule.value + (m.group(3) or "")
                hits[i] += 1
        out.append(line)
    missing = [r for r, n in zip(rules, hits, strict=True) if n == 0]
    if missing:
        raise KitError(f"{where}: the shipped file no longer has "
                       + ", ".join(f"[{r.section or '*'}] {r.key}" for r in missing))
    return "\n".join(out) + "\n"


def section_names(text: str) -> set[str]:
    return set(re.findall(r"^\s*\[([^\]]+)\]", text, re.M))


@dataclass
class AsteriskConfig:
    """Ports, passwords and phones of one test Asterisk (all on 127.0.0.1)."""

    phones: tuple[str, ...] = ("100", "101", "199")
    http_port: int = field(default_factory=free_port)
    sip_port: int = field(default_factory=free_udp_port)
    carrier_port: int = field(default_factory=free_udp_port)
    rtp_ports: int = 400
    rtp_start: int = 0
    ari_user: str = "coovox"
    ari_password: str = field(default_factory=lambda: "ari-" + secrets.token_hex(12))
    passwords: dict[str, str] = field(default_factory=dict)
    # more trunk endpoints made exactly like the shipped [carrier], each on its own port
    carriers: tuple[str, ...] = ()
    carrier_ports: dict[str, int] = field(default_factory=dict)
    # phones identified by their address and port (no authentication), from (phone)
    ip_phones: tuple[str, ...] = ()
    ip_phone_ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for phone in self.phones:
            self.passwords.setdefault(phone, f"pw-{phone}-" + secrets.token_hex(6))
        for name in self.carriers:
            self.carrier_ports.setdefault(name, free_udp_port())
        for name in self.ip_phones:
            self.ip_phone_ports.setdefault(name, free_udp_port())
        if not self.rtp_start:
            self.rtp_start = free_udp_range(self.rtp_ports)

    @property
    def ari_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"


def render_config(cfg: AsteriskConfig, etc: Path, *, dirs: dict[str, Path],
                  dialplan: Path = DIALPLAN) -> None:
    """Write the instance's configuration into ``etc``: the shipped files with ports,
    addresses and passwords filled in, plus the test-only files."""
    shipped = {name: (dialplan / name).read_text() for name in SHIPPED}
    etc.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    files["http.conf"] = rewrite(shipped["http.conf"], [
        Rewrite("general", "bindaddr", HOST), Rewrite("general", "bindport", str(cfg.http_port))],
        where="http.conf")
    files["ari.conf"] = rewrite(shipped["ari.conf"], [
        Rewrite(cfg.ari_user, "password", cfg.ari_password)], where="ari.conf")
    files["extensions.conf"] = shipped["extensions.conf"]
    pjsip = shipped["pjsip.conf"]
    names = section_names(pjsip)
    for template in ("phone", "phone-auth", "phone-aor"):
        if template not in names:
            raise KitError(f"pjsip.conf: the template [{template}](!) is gone")
    shipped_phones = [p for p in cfg.phones if p in names]
    rules = [Rewrite("transport-udp", "bind", f"{HOST}:{cfg.sip_port}"),
             Rewrite("carrier", "contact", f"sip:{HOST}:{cfg.carrier_port}"),
             Rewrite("carrier", "match", f"{HOST}:{cfg.carrier_port}"),
             Rewrite("carrier", "password", "carrier-" + secrets.token_hex(6))]
    rules += [Rewrite(p, "password", cfg.passwords[p]) for p in shipped_phones]
    pjsip = rewrite(pjsip, rules, where="pjsip.conf")
    extra = [p for p in cfg.phones if p not in names]
    pjsip += "".join(phone_endpoint(p, cfg.passwords[p]) for p in extra)
    pjsip += "".join(carrier_endpoint(shipped["pjsip.conf"], name, cfg.carrier_ports[name])
                     for name in cfg.carriers)
    pjsip += "".join(ip_phone_endpoint(name, cfg.ip_phone_ports[name])
                     for name in cfg.ip_phones)
    files["pjsip.conf"] = pjsip
    files.update(harness_files(cfg, dirs))
    for name, text in files.items():
        (etc / name).write_text(text)


def phone_endpoint(name: str, password: str) -> str:
    """One more phone, defined exactly like the shipped ones (same templates)."""
    return (f"\n; --- test phone {name} (added by tests/real) ---\n"
            f"[{name}](phone)\nauth = {name}\naors = {name}\n"
            f'callerid = "Test {name}" <{name}>\n\n'
            f"[{name}](phone-auth)\nusername = {name}\npassword = {password}\n\n"
            f"[{name}](phone-aor)\n")


def sections_named(text: str, name: str) -> str:
    """Every section ``[name]`` of a .conf text (with its lines, comments included)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        head = re.match(r"\s*\[([^\]]+)\]", line)
        if head:
            inside = head.group(1) == name
        if inside:
            out.append(line)
    return "\n".join(out) + "\n"


def carrier_endpoint(shipped_pjsip: str, name: str, port: int) -> str:
    """One more trunk endpoint ``name``: the shipped ``[carrier]`` sections (endpoint, auth,
    aor, identify) under another name, reached at and identified by 127.0.0.1:``port``."""
    clone = sections_named(shipped_pjsip, "carrier")
    clone = re.sub(r"^\s*\[carrier\]", f"[{name}]", clone, flags=re.M)
    clone = re.sub(r"^(\s*(?:endpoint|outbound_auth|aors)\s*=\s*)carrier\b", rf"\g<1>{name}",
                   clone, flags=re.M)
    clone = rewrite(clone, [Rewrite(name, "contact", f"sip:{HOST}:{port}"),
                            Rewrite(name, "match", f"{HOST}:{port}"),
                            Rewrite(name, "password", f"{name}-" + secrets.token_hex(6))],
                    where=f"pjsip.conf [carrier] copied as [{name}]")
    return f"\n; --- test trunk {name} (a copy of [carrier], added by tests/real) ---\n{clone}"


def ip_phone_endpoint(name: str, port: int) -> str:
    """A phone built from the shipped ``(phone)`` template, without ``callerid`` and without
    authentication, recognised by its source address and port only (``identify``)."""
    return (f"\n; --- test phone {name} identified by address (added by tests/real) ---\n"
            f"[{name}](phone)\n\n"
            f"[{name}]\ntype = identify\nendpoint = {name}\nmatch = {HOST}:{port}\n")


def harness_files(cfg: AsteriskConfig, dirs: dict[str, Path]) -> dict[str, str]:
    """The test-only files (not shipped): directories, modules, RTP ports, tones, logs."""
    directories = "".join(f"ast{key}dir => {path}\n" for key, path in dirs.items())
    return {
        "asterisk.conf": ("[directories]\n" + directories + "\n[options]\n"
                          "verbose = 0\ndebug = 0\nnocolor = yes\n"),
        "modules.conf": ("[modules]\nautoload = yes\n"
                         "; no CDR files in a test run\nnoload => cdr_csv.so\n"),
        "rtp.conf": (f"[general]\nrtpstart = {cfg.rtp_start}\n"
                     f"rtpend = {cfg.rtp_start + cfg.rtp_ports - 1}\n"),
        "indications.conf": ("[general]\ncountry = us\n\n[us]\ndescription = United States\n"
                             "ringcadence = 2000,4000\ndial = 350+440\n"
                             "busy = 480+620/500,0/500\nring = 440+480/2000,0/4000\n"
                             "congestion = 480+620/250,0/250\n"
                             "callwaiting = 440/300,0/10000\n"
                             "record = 1400/500,0/15000\ninfo = !950/330,!1400/330,!1800/330,0\n"
                             "stutter = !350+440/100,!0/100,!350+440/100,!0/100,350+440\n"),
        "logger.conf": ("[general]\ndateformat = %F %T.%3q\n\n[logfiles]\n"
                        "console => notice,warning,error\n"
                        "messages.log => notice,warning,error,verbose(3)\n"),
    }


# --- the process -----------------------------------------------------------------------------


class Asterisk:
    """One Asterisk process with the project's configuration (see :func:`render_config`).

    ``async with Asterisk(prefix) as ast:`` starts it and always stops it.  ``ast.cfg``
    holds ports and passwords, ``ast.ari_url`` the HTTP base URL, ``ast.cli(...)`` runs a
    CLI command, ``ast.log_text()`` returns what it logged.
    """

    def __init__(self, prefix: Path, cfg: AsteriskConfig | None = None, *,
                 workdir: Path | None = None, keep: bool = False,
                 logs_to: Path | None = None) -> None:
        self.prefix = Path(prefix)
        self.logs_to = logs_to
        self.cfg = cfg or AsteriskConfig()
        # short path: the control socket's path must stay below 108 bytes
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="coovox-ast-"))
        self.keep = keep
        self.etc = self.dir / "etc"
        self.dirs = {"etc": self.etc, "run": self.dir / "run", "log": self.dir / "log",
                     "spool": self.dir / "spool", "varlib": self.dir / "lib",
                     "db": self.dir / "lib", "key": self.dir / "lib",
                     "cache": self.dir / "cache"}
        self.console = self.dir / "console.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def ari_url(self) -> str:
        return self.cfg.ari_url

    @property
    def binary(self) -> Path:
        return self.prefix / "sbin" / "asterisk"

    @property
    def conf(self) -> Path:
        return self.etc / "asterisk.conf"

    async def __aenter__(self) -> Asterisk:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self, timeout: float = 60) -> None:
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        render_config(self.cfg, self.etc, dirs=self.dirs)
        args = [str(self.binary), "-C", str(self.conf), "-f", "-n"]
        if os.geteuid() == 0:
            args += ["-U", "root"]
        with self.console.open("ab") as console:
            self.proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.DEVNULL, stdout=console,
                stderr=asyncio.subprocess.STDOUT, preexec_fn=die_with_parent,
                start_new_session=True)
        try:
            async with asyncio.timeout(timeout):
                await self._wait_ready()
        except TimeoutError:
            raise KitError(f"Asterisk did not start within {timeout}s:\n"
                           + self.log_text()[-3000:]) from None

    async def _wait_ready(self) -> None:
        ctl = self.dirs["run"] / "asterisk.ctl"
        while not ctl.exists():
            self._check_alive()
            await asyncio.sleep(0.1)
        while (await self.cli("core waitfullybooted", check=False))[0] != 0:
            self._check_alive()
            await asyncio.sleep(0.2)
        auth = {"Authorization": basic_auth(self.cfg.ari_user, self.cfg.ari_password)}
        async with aiohttp.ClientSession(headers=auth) as s:
            while True:
                self._check_alive()
                try:
                    async with s.get(self.ari_url + "/ari/asterisk/info") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            raise KitError(f"Asterisk exited with {self.proc.returncode}:\n"
                           + self.log_text()[-3000:])

    async def cli(self, command: str, *, check: bool = True,
                  timeout: float = 20) -> tuple[int, str]:
        """``asterisk -C ... -rx COMMAND``: (exit code, output)."""
        proc = await asyncio.create_subprocess_exec(
            str(self.binary), "-C", str(self.conf), "-rx", command,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, preexec_fn=die_with_parent)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        text = out.decode(errors="replace")
        if check and proc.returncode != 0:
            raise KitError(f"asterisk -rx {command!r} failed ({proc.returncode}): {text}")
        return proc.returncode, text

    async def kill(self) -> None:
        """SIGKILL, as a crash: no BYE to anyone, no event, every channel gone.  ``start()``
        runs it again with the same configuration (ports, passwords)."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log_text(self) -> str:
        parts = []
        for path in (self.console, self.dirs["log"] / "messages.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    async def stop(self, timeout: float = 10) -> None:
        """``core stop now``, then SIGKILL if it is still there after ``timeout``."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            try:
                await self.cli("core stop now", check=False, timeout=timeout)
            except (TimeoutError, OSError):
                pass
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
        if self.logs_to is not None and self.dir.exists():
            self.logs_to.mkdir(parents=True, exist_ok=True)
            for path in (self.console, self.dirs["log"] / "messages.log"):
                if path.exists():
                    shutil.copy(path, self.logs_to / f"asterisk-{path.name}")
        if not self.keep and proc is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Asterisk {self.ari_url} sip={self.cfg.sip_port} dir={self.dir}>"


def main() -> int:  # pragma: no cover - manual use: python -m tests.real.kit.asterisk
    """Start one instance and keep it until Ctrl-C (prints ports and passwords)."""
    async def run() -> None:
        async with Asterisk(asterisk_prefix(), keep=True) as ast:
            print(ast, ast.cfg, flush=True)
            await asyncio.Event().wait()
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

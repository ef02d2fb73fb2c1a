"""CooVox as ``coovox run`` in a subprocess, pointed at a test Asterisk, and its JSON API.

:class:`CoovoxApp` is the reliability tests' :class:`~tests.reliability.proc.App` (a
``coovox run`` process with ``COOVOX_*`` in its environment) plus: an administrator and an
API token made with the product's own commands (``coovox admin create``, ``coovox token
create``), the settings ``dial_timeout`` and ``refuse_tone_seconds`` for short tests, and
:class:`Api` to configure and read it through ``/api/v1``.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.real.kit.procs import die_with_parent
from tests.reliability.proc import App, until

ROOT = Path(__file__).resolve().parents[3]
ADMIN = "admin"
TERMINAL = ("answered", "no answer", "busy", "failed", "refused")


class ApiError(AssertionError):
    """An API request did not get the expected status."""


class Api:
    """The JSON API of one CooVox, with a Bearer token."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 204),
                      **kwargs: Any) -> Any:
        async with self.session.request(method, self.url + path, **kwargs) as r:
            text = await r.text()
            if r.status not in expect:
                raise ApiError(f"{method} {path} -> {r.status}: {text[:500]}")
            if r.content_type == "application/json" and text:
                return await r.json()
            return text

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params={k: str(v) for k, v in params.items()})

    async def post(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.request("POST", path, json=body, **kw)

    async def patch(self, path: str, body: Any, **kw: Any) -> Any:
        return await self.request("PATCH", path, json=body, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)

    # --- outbound configuration ---------------------------------------------------------------

    async def setup_outbound(self, extensions: dict[str, str], *, trunk: str = "carrier",
                             dial_string: str = "PJSIP/{number}@carrier", prefix: str = "9",
                             pattern: str = "X.", rule: str = "Out",
                             permission: str = "DialPlan1") -> None:
        """Extensions (number -> name), one trunk, one dial rule in ``permission``."""
        for number, name in extensions.items():
            await self.post("/api/v1/extensions", {"number": number, "name": name,
                                                   "dial_permission": permission})
        await self.post("/api/v1/trunks", {"name": trunk, "dial_string": dial_string})
        await self.post("/api/v1/dial-rules", {"name": rule, "prefix": prefix,
                                               "pattern": pattern, "trunks": [trunk]})
        await self.patch(f"/api/v1/dial-permissions/{permission}", {"dial_rules": [rule]})

    # --- billing -----------------------------------------------------------------------------

    async def enable_billing(self, *, rates: list[dict[str, Any]],
                             accounts: dict[str, str]) -> None:
        """Activate billing (the fresh install's trial licence allows it), add ``rates``,
        enable the ``accounts`` (extension -> amount recharged)."""
        await self.patch("/api/v1/billing/settings", {"active": True})
        for rate in rates:
            await self.post("/api/v1/billing/rates", rate)
        for ext, amount in accounts.items():
            await self.patch(f"/api/v1/billing/accounts/{ext}", {"enabled": True})
            await self.post("/api/v1/billing/recharges", {"extension": ext, "amount": amount})

    async def account(self, ext: str) -> dict[str, Any]:
        return await self.get(f"/api/v1/billing/accounts/{ext}")

    # --- call log ----------------------------------------------------------------------------

    async def calls(self, *, per_page: int = 500, max_pages: int = 1000,
                    **filters: Any) -> list[dict[str, Any]]:
        """Every call-log record matching the API's ``filters`` (newest first), all pages."""
        out: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            body = await self.get("/api/v1/calls", page=page, per_page=per_page, **filters)
            out += body["items"]
            if len(out) >= body["total"] or not body["items"]:
                break
        return out

    async def finished_calls(self, n: int = 1, *, timeout: float = 30, interval: float = 0.1,
                             **match: Any) -> list[dict[str, Any]]:
        """Wait until ``n`` records whose fields equal ``match`` (e.g. ``dialed="9123"``) are
        finished (not ``active``) and settled by billing (the same rows in two reads), asking
        every ``interval`` s; returns them oldest first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settled: list[dict[str, Any]] | None = None
        while True:
            rows = [r for r in await self.calls()
                    if all(r.get(k) == v for k, v in match.items())]
            ended = [r for r in rows if r["status"] in TERMINAL]
            if len(ended) >= n and ended == settled:
                return sorted(ended, key=lambda r: r["started_at"])
            # billing settles a call just after its record is finished; until then its
            # ``cost`` is what was charged (ahead): wait for two equal reads 0.5 s apart
            settled = ended if len(ended) >= n else None
            if loop.time() > deadline:
                raise AssertionError(f"not {n} finished call(s) {match} after {timeout}s: "
                                     f"{rows}")
            await asyncio.sleep(interval if settled is None else max(interval, 0.5))

    async def finished_call(self, *, timeout: float = 30, **match: Any) -> dict[str, Any]:
        (row,) = await self.finished_calls(1, timeout=timeout, **match)
        return row

    async def health(self) -> dict[str, Any]:
        async with self.session.get(self.url + "/healthz") as r:
            return await r.json()


class CoovoxApp(App):
    """``coovox run`` against a test Asterisk, with a data dir of its own.

    ``dial_timeout``, ``refuse_tone_seconds`` (seconds): the settings of the same names
    (``COOVOX_DIAL_TIMEOUT``...); None keeps the product's default.
    """

    def __init__(self, ari_url: str, ari_user: str, ari_password: str, *,
                 workdir: Path | None = None, dial_timeout: int | None = None,
                 refuse_tone_seconds: float | None = None, verbose: bool = False,
                 **env: str) -> None:
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="coovox-app-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {"COOVOX_ARI_USER": ari_user, "COOVOX_ARI_PASSWORD": ari_password,
               "COOVOX_SECRET_KEY": "real-" + secrets.token_hex(16), **env}
        if dial_timeout is not None:
            env["COOVOX_DIAL_TIMEOUT"] = str(dial_timeout)
        if refuse_tone_seconds is not None:
            env["COOVOX_REFUSE_TONE_SECONDS"] = str(refuse_tone_seconds)
        super().__init__(str(self.dir / "data"), ari_url, self.dir / "coovox.log",
                         verbose=verbose, **env)
        self.admin_password = "Adm-" + secrets.token_hex(8)
        self.api: Api | None = None

    async def command(self, *args: str) -> str:
        """Run ``python -m coovox ARGS`` with this app's environment; its stdout."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "coovox", *args, cwd=str(ROOT), env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"coovox {' '.join(args)} failed ({proc.returncode}): "
                               f"{err.decode(errors='replace')[-2000:]}")
        return out.decode()

    async def start(self) -> CoovoxApp:
        """The process only (as :class:`App`): ``python -m coovox run``."""
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "coovox", *self.args, "run",
                cwd=str(ROOT), env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT, preexec_fn=die_with_parent)
        return self

    async def launch(self, timeout: float = 60) -> Api:
        """First start: administrator and API token (``coovox admin create``, ``coovox token
        create``), then ``run``, the web UI up and the ARI websocket connected."""
        if self.api is None:
            await self.command("admin", "create", ADMIN, "--password", self.admin_password)
            token = (await self.command("token", "create", "--user", ADMIN)).strip()
            self.api = Api(self.url, token.splitlines()[-1].strip())
        await self.start()
        await self.wait_web(timeout)
        await self.wait_ari(timeout)
        return self.api

    async def wait_ari(self, timeout: float = 30) -> None:
        async def connected() -> bool:
            if self.proc.returncode is not None:
                raise AssertionError(f"app exited: {self.log_text()[-2000:]}")
            return bool((await self.api.health())["ari"].get("connected"))
        await until(connected, timeout, "ARI connected")

    async def local_health(self) -> dict[str, Any]:
        """``/healthz`` as a probe on this machine sees it (no sign-in: 127.0.0.1 gets the
        details, among them ``ari.connected``)."""
        async with aiohttp.ClientSession() as s, s.get(self.url + "/healthz") as r:
            return await r.json()

    async def check(self) -> tuple[int, str]:
        """``coovox check`` (the money invariants): its exit code and output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "coovox", "check", cwd=str(ROOT), env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, preexec_fn=die_with_parent)
        out, _ = await proc.communicate()
        return proc.returncode, out.decode(errors="replace")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def stop(self) -> None:
        await super().stop()
        if self.api is not None:
            await self.api.close()

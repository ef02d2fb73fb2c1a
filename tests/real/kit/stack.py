"""Everything of a real-Asterisk run in one object: Asterisk, an ARI observer, CooVox, the
carrier and phones.  For tests (one stack per module, :meth:`RealStack.after_test` between
tests) and for benchmarks::

    from tests.real.kit import RealStack, asterisk_prefix, sipp
    # 4 RTP ports per call (2 legs x RTP/RTCP); no observer, no SIP message traces
    async with RealStack(asterisk_prefix(), rtp_ports=4400, observe=False) as stack:
        await stack.api.setup_outbound({"100": "Alice"})
        await stack.carrier.start(sipp.answer(hangup_after=30), calls=None, trace=False)
        run = await stack.phone("100").call("9123", calls=1000, rate=20, limit=1000,
                                            timeout=300, trace=False)
        result = await run.wait()
        result.stat("Successful call"), result.scenario_counts()  # ("503", "<-", n), ...
        rows = await stack.api.finished_calls(1000, dialed="9123", timeout=120, interval=1)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.real.kit.ari import AriClient, Observer
from tests.real.kit.asterisk import Asterisk, AsteriskConfig
from tests.real.kit.coovox import Api, CoovoxApp
from tests.real.kit.proxy import TcpProxy
from tests.real.kit.sipp import Carrier, Phone, SippRun


class RealStack:
    """Asterisk with the project's configuration, ``coovox run`` connected to it, an
    observer of every ARI event, the carrier UAS and the phones (SIPp).

    ``workdir`` receives CooVox's data and log, SIPp's scenarios and traces and, at the
    end, Asterisk's logs; it is deleted at the end unless ``keep``.  ``dial_timeout`` and
    ``refuse_tone_seconds`` shorten CooVox's waits (None: the product's defaults).
    ``rtp_ports``: size of Asterisk's RTP port range (2 per call leg).
    ``with_coovox=False``: Asterisk alone (the dialplan without the Stasis app).
    ``observe=False``: no observer websocket (it doubles Asterisk's ARI event work; a
    benchmark may not want it).
    ``ari_proxy=True``: CooVox reaches Asterisk's HTTP port through ``self.proxy``, a
    :class:`~tests.real.kit.proxy.TcpProxy` the test can cut (a network outage).
    ``carriers``: more trunk endpoints, copies of the shipped ``[carrier]`` on ports of
    their own (dial string ``PJSIP/{number}@<name>``; far ends in ``self.carriers``).
    ``ip_phones``: phones recognised by address and port, without authentication.
    """

    def __init__(self, prefix: Path, *, workdir: Path | None = None,
                 phones: tuple[str, ...] = ("100", "101", "199"), rtp_ports: int = 400,
                 dial_timeout: int | None = 4, refuse_tone_seconds: float | None = 0.5,
                 coovox_env: dict[str, str] | None = None, with_coovox: bool = True,
                 observe: bool = True, keep: bool = False, ari_proxy: bool = False,
                 carriers: tuple[str, ...] = (), ip_phones: tuple[str, ...] = ()) -> None:
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="coovox-real-"))
        self.keep = keep
        self.with_coovox = with_coovox
        self.observe = observe
        self.cfg = AsteriskConfig(phones=phones, rtp_ports=rtp_ports, carriers=carriers,
                                  ip_phones=ip_phones)
        self.asterisk = Asterisk(prefix, self.cfg, logs_to=self.dir)
        self.proxy = TcpProxy(self.cfg.http_port) if ari_proxy else None
        ari_url = self.proxy.url if self.proxy else self.cfg.ari_url
        self.app = CoovoxApp(ari_url, self.cfg.ari_user, self.cfg.ari_password,
                             workdir=self.dir / "coovox", dial_timeout=dial_timeout,
                             refuse_tone_seconds=refuse_tone_seconds, **(coovox_env or {}))
        self.ari = AriClient(self.cfg.ari_url, self.cfg.ari_user, self.cfg.ari_password)
        self.observer = Observer(self.cfg.ari_url, self.cfg.ari_user, self.cfg.ari_password)
        self.carrier = Carrier(self.cfg.carrier_port, workdir=self.dir / "sipp")
        # more trunks (``carriers``): endpoint name -> its far end
        self.carriers = {name: Carrier(port, workdir=self.dir / "sipp")
                         for name, port in self.cfg.carrier_ports.items()}
        self.runs: list[SippRun] = []
        self.api: Api | None = None
        self.since = 0  # the observer's position at the start of the current test

    async def __aenter__(self) -> RealStack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def start(self) -> None:
        await self.asterisk.start()
        if self.observe:
            await self.observer.start()
        if self.proxy is not None:
            await self.proxy.start()
        if self.with_coovox:
            self.api = await self.app.launch()

    def phone(self, user: str, *, password: str | None = None,
              local_port: int | None = None) -> Phone:
        """The phone (PJSIP endpoint) ``user`` (``password`` default: its own); its calls are
        stopped by :meth:`after_test`.  A phone of ``ip_phones`` sends from its own port
        and has no password."""
        ip_phone = user in self.cfg.ip_phone_ports
        if ip_phone:
            local_port = local_port or self.cfg.ip_phone_ports[user]
        if password is None:
            password = "" if ip_phone else self.cfg.passwords[user]
        return Phone(user, password, self.cfg.sip_port, workdir=self.dir / "sipp",
                     local_port=local_port, runs=self.runs)

    async def stop_sipp(self) -> None:
        """Stop every phone run and the carrier (those still running)."""
        runs, self.runs = self.runs, []
        for run in runs:
            await run.stop()
        await self.carrier.stop()
        for carrier in self.carriers.values():
            await carrier.stop()

    async def after_test(self, idle_timeout: float = 10) -> tuple[list[dict], list[dict]]:
        """Between tests: SIPp stopped; then what Asterisk still has (channels, bridges)
        after up to ``idle_timeout`` s; leftovers are hung up / destroyed so that the next
        test starts clean.  The caller asserts that both lists are empty."""
        await self.stop_sipp()
        channels, bridges = await self.ari.wait_idle(idle_timeout)
        for ch in channels:
            await self.ari.delete(f"/channels/{ch['id']}")
        for b in bridges:
            await self.ari.delete(f"/bridges/{b['id']}")
        return channels, bridges

    async def stop(self) -> None:
        """Stop everything that was started, even after a failure, in reverse order."""
        errors: list[BaseException] = []
        steps = [self.stop_sipp, self.app.stop, self.observer.stop, self.asterisk.stop]
        if self.proxy is not None:
            steps.insert(2, self.proxy.stop)
        for step in steps:
            try:
                await step()
            except Exception as exc:  # keep stopping the rest
                errors.append(exc)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise errors[0]

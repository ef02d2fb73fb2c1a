"""SIPp user agents: phones (UAC with digest auth, INFO DTMF) and a carrier (UAS).

Scenarios are generated as XML into a working directory for each run, so that every test
chooses the behaviour it needs.  No RTP is sent (SIPp without ``-rtp_echo``): the SDP
offers/answers PCMU on a port SIPp owns, Asterisk's RTP goes there and is dropped; the
shipped endpoints set no ``rtp_timeout``, so calls are not dropped for lack of media.

* :class:`Phone` ``.call(number, ...)`` -> :class:`SippRun`: one phone endpoint dialling
  (``calls``/``rate``/``limit`` let one SIPp process place many calls, for a benchmark).
* :class:`Carrier` ``.start(behaviour, calls=...)`` -> :class:`SippRun`: the UAS on the
  carrier's address; behaviours :func:`answer`, :func:`busy`, :func:`congestion`,
  :func:`ring_forever`, :func:`reject`.
* :class:`SippResult`: exit code, every SIP message sent/received with its time
  (``-trace_msg``), ``final_status`` of the INVITE, SIPp's error log.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from textwrap import dedent

from tests.real.kit.ports import HOST, free_udp_port, free_udp_range
from tests.real.kit.procs import die_with_parent

SIPP = "sipp"
# final responses a phone accepts as "the call was refused" (it ACKs them and ends normally)
REFUSALS = (403, 404, 408, 480, 484, 486, 487, 488, 500, 502, 503, 603)

SDP = """\
v=0
o=- 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv"""


def sipp_available() -> bool:
    return shutil.which(SIPP) is not None


# --- results ---------------------------------------------------------------------------------


@dataclass
class SipMessage:
    at: datetime
    sent: bool
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def status(self) -> int | None:
        m = re.match(r"SIP/2\.0 (\d{3})", self.first_line)
        return int(m.group(1)) if m else None

    @property
    def method(self) -> str | None:
        return None if self.status else self.first_line.split(" ", 1)[0]

    @property
    def cseq(self) -> tuple[int, str]:
        m = re.search(r"^CSeq:\s*(\d+)\s+(\S+)", self.text, re.M | re.I)
        return (int(m.group(1)), m.group(2).upper()) if m else (0, "")

    @property
    def call_id(self) -> str:
        m = re.search(r"^(?:Call-ID|i):\s*(\S+)", self.text, re.M | re.I)
        return m.group(1) if m else ""

    def __repr__(self) -> str:
        return f"<{'>>' if self.sent else '<<'} {self.at:%T.%f} {self.first_line}>"


def parse_messages(text: str) -> list[SipMessage]:
    """Messages of a SIPp ``-trace_msg`` file."""
    out: list[SipMessage] = []
    blocks = re.split(r"^-{10,} (\S+)\s+(\S+)\s*$", text, flags=re.M)
    # blocks: [head, date, time, body, date, time, body, ...]
    for i in range(1, len(blocks) - 2, 3):
        stamp = f"{blocks[i]} {blocks[i + 1]}"
        body = blocks[i + 2].lstrip("\n")
        head, _, msg = body.partition("\n")
        if "message sent" not in head and "message received" not in head:
            continue
        try:
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            at = datetime.min
        msg = msg.strip("\n").replace("\r", "")
        if msg:
            out.append(SipMessage(at, "message sent" in head, msg))
    return out


@dataclass
class SippResult:
    returncode: int
    messages: list[SipMessage]
    errors: str
    screen: str

    @property
    def ok(self) -> bool:
        """Every call of the run followed its scenario to the end."""
        return self.returncode == 0

    def received(self, what: str | int) -> list[SipMessage]:
        """Messages received: a request by method or responses by status."""
        return [m for m in self.messages if not m.sent and (
            m.status == what if isinstance(what, int) else m.method == what)]

    def sent(self, what: str | int) -> list[SipMessage]:
        return [m for m in self.messages if m.sent and (
            m.status == what if isinstance(what, int) else m.method == what)]

    def final_statuses(self) -> list[int]:
        """Final responses to INVITEs (received by a phone, sent by a carrier), in order:
        a phone that authenticated shows ``[401, <the call's answer>]``."""
        return [m.status for m in self.messages if m.status and m.status >= 200
                and m.cseq[1] == "INVITE"]

    @property
    def final_status(self) -> int | None:
        finals = self.final_statuses()
        return finals[-1] if finals else None

    def __repr__(self) -> str:
        return f"<SippResult exit {self.returncode}, {len(self.messages)} messages>"

    def stat(self, name: str) -> int | None:
        """A cumulative counter of SIPp's last statistics screen (works without ``trace``):
        ``"Successful call"``, ``"Failed call"``, ``"Total Calls created"``, ..."""
        found = re.findall(rf"^\s*{re.escape(name)}\s*\|[^|\n]*\|\s*(\d+)", self.screen,
                           re.M)
        return int(found[-1]) if found else None

    def scenario_counts(self) -> list[tuple[str, str, int]]:
        """Rows of SIPp's last scenario screen: (message, ``"<-"`` received / ``"->"`` sent,
        count), e.g. ``("503", "<-", 35)``; works without ``trace``."""
        text = self.screen.rsplit("Statistics Screen", 1)[0].rsplit("Scenario Screen", 1)[-1]
        return [(m.group(1), "<-" if "<" in m.group(2) else "->", int(m.group(3)))
                for m in re.finditer(r"^\s+(\S+) (<-+|-+>)\s+(\d+)", text, re.M)]

    def explain(self) -> str:
        lines = [f"sipp exit {self.returncode}"]
        lines += [repr(m) for m in self.messages[-30:]]
        if self.errors.strip():
            lines.append("errors:\n" + self.errors[-3000:])
        return "\n".join(lines)


class SippRun:
    """One running SIPp process; ``await run.wait()`` gives its :class:`SippResult`.

    ``trace=False`` leaves out the message trace (a long load run), ``extra_args`` are
    added to SIPp's command line (e.g. ``["-trace_stat", "-fd", "1"]``)."""

    def __init__(self, args: list[str], workdir: Path, name: str, *, trace: bool = True,
                 extra_args: list[str] | tuple[str, ...] = ()) -> None:
        self.dir = workdir
        self.name = name
        self.trace = workdir / f"{name}.msg.log"
        self.errors = workdir / f"{name}.err.log"
        self.screen = workdir / f"{name}.screen.log"
        self.args = [*args, "-trace_err", "-error_file", str(self.errors), *extra_args]
        if trace:
            self.args += ["-trace_msg", "-message_file", str(self.trace)]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> SippRun:
        with self.screen.open("wb") as screen:
            self.proc = await asyncio.create_subprocess_exec(
                SIPP, *self.args, cwd=str(self.dir), stdin=asyncio.subprocess.DEVNULL,
                stdout=screen, stderr=asyncio.subprocess.STDOUT,
                preexec_fn=die_with_parent, start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for the end of the run (stopped after ``timeout`` s)."""
        assert self.proc is not None
        if timeout is None:
            await self.proc.wait()
        else:
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                await self.stop()
        return self.result()

    async def stop(self, grace: float = 3) -> SippResult:
        """End the run: SIGUSR1 (SIPp's soft quit: no new calls, exit when the calls in
        progress end), SIGKILL after ``grace`` s."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            for sig, wait in ((signal.SIGUSR1, grace), (signal.SIGKILL, 10)):
                try:
                    proc.send_signal(sig)
                except ProcessLookupError:
                    break
                try:
                    await asyncio.wait_for(proc.wait(), wait)
                    break
                except TimeoutError:
                    continue
        return self.result()

    def result(self) -> SippResult:
        def read(p: Path) -> str:
            return p.read_text(errors="replace") if p.exists() else ""
        rc = self.proc.returncode if self.proc and self.proc.returncode is not None else -1
        return SippResult(rc, parse_messages(read(self.trace)), read(self.errors),
                          read(self.screen))


def _workdir(base: Path | None, prefix: str) -> Path:
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    return Path(tempfile.mkdtemp(prefix=prefix))


def _scenario(name: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
            '<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'
            f'<scenario name="{name}">\n{body}\n</scenario>\n')


def _send(message: str, *, retrans: bool = False) -> str:
    attrs = ' retrans="500"' if retrans else ""
    return f"<send{attrs}><![CDATA[\n{dedent(message).strip()}\n\n]]></send>\n"


def _ms(seconds: float) -> int:
    return max(1, int(round(seconds * 1000)))


OK_TO_REQUEST = _send("SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n"
                      "[last_Call-ID:]\n[last_CSeq:]\nContent-Length: 0")


def _talk(hangup_after: float | None, bye_timeout: float, send_bye: str) -> str:
    """The answered part: the far end's BYE is answered whenever it comes; after
    ``hangup_after`` s without one, we send ``send_bye`` (None: wait ``bye_timeout`` s)."""
    wait = hangup_after if hangup_after is not None else bye_timeout
    timeout = ' ontimeout="hangup"' if hangup_after is not None else ""
    x = f'<recv request="BYE" timeout="{_ms(wait)}"{timeout}/>\n' + OK_TO_REQUEST
    if hangup_after is not None:
        x += '<nop next="done"/>\n<label id="hangup"/>\n' + send_bye
        x += '<recv response="200"/>\n'
    return x


# --- phones ----------------------------------------------------------------------------------


def phone_scenario(user: str, *, hangup_after: float | None, dtmf: str = "",
                   dtmf_after: float = 0.5, dtmf_gap: float = 0.25,
                   cancel_after: float | None = None, bye_timeout: float = 120,
                   challenge: bool = True, from_user: str | None = None,
                   from_display: str | None = None, headers: tuple[str, ...] = ()) -> str:
    """A phone that authenticates (401, INVITE again with credentials; ``challenge=False``:
    one INVITE without credentials) and then either cancels ``cancel_after`` s after 180
    Ringing, or accepts any refusal (:data:`REFUSALS`, 401/407), or on 200 OK sends ``dtmf`` as SIP
    INFO (application/dtmf-relay) and hangs up after ``hangup_after`` s of talk (None:
    waits up to ``bye_timeout`` s for the far end's BYE; a BYE from the far end is always
    accepted).

    What the phone claims to be: ``from_user``/``from_display`` (default ``user`` and
    "Phone <user>") in the From header, ``headers`` added to the INVITEs as they are (e.g.
    ``"P-Asserted-Identity: <sip:100@127.0.0.1>"``); it authenticates as ``user``."""
    from_user = user if from_user is None else from_user
    display = f"Phone {user}" if from_display is None else from_display
    frm = (f'"{display}" <sip:{from_user}@[local_ip]:[local_port]>'
           ';tag=[pid]SIPpTag00[call_number]')
    extra = "".join(f"{h.strip()}\n        " for h in headers)
    to = "<sip:[service]@[remote_ip]:[remote_port]>"
    invite = f"""
        INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
        Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
        From: {frm}
        To: {to}
        Call-ID: [call_id]
        CSeq: {{cseq}} INVITE
        Contact: <sip:{user}@[local_ip]:[local_port]>
        Max-Forwards: 70
        User-Agent: coovox-tests phone {user}
        Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE
        {extra}{{auth}}Content-Type: application/sdp
        Content-Length: [len]

        {SDP}"""

    def non2xx_ack(cseq: int) -> str:
        return _send(f"""
            ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
            [last_Via:]
            From: {frm}
            [last_To:]
            Call-ID: [call_id]
            CSeq: {cseq} ACK
            Max-Forwards: 70
            Content-Length: 0""")

    def in_dialog(method: str, cseq: int, headers: str = "", body: str = "") -> str:
        length = "[len]" if body else "0"
        msg = (f"{method} [$peer] SIP/2.0\n"
               "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
               f"From: {frm}\nTo:[$to]\nCall-ID: [call_id]\nCSeq: {cseq} {method}\n"
               f"Contact: <sip:{user}@[local_ip]:[local_port]>\nMax-Forwards: 70\n"
               f"{headers}Content-Length: {length}\n\n{body}")
        return _send(msg, retrans=method != "ACK")

    x = []
    if challenge:
        x.append(_send(invite.replace("{cseq}", "1").replace("{auth}", ""), retrans=True))
        x.append('<recv response="100" optional="true"/>\n')
        x.append('<recv response="401" auth="true"/>\n')
        x.append(non2xx_ack(1))
        invite = invite.replace("{auth}", "[authentication]\n        ")
    cseq = 2 if challenge else 1
    x.append(_send(invite.replace("{cseq}", str(cseq)).replace("{auth}", ""), retrans=True))
    x.append('<recv response="100" optional="true"/>\n')
    if cancel_after is not None:
        # hang up ``cancel_after`` s after it started ringing (180)
        x.append(f'<recv response="180"/>\n<pause milliseconds="{_ms(cancel_after)}"/>\n')
        x.append(_send(f"""
            CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
            [last_Via:]
            From: {frm}
            To: {to}
            Call-ID: [call_id]
            CSeq: {cseq} CANCEL
            Max-Forwards: 70
            Content-Length: 0""", retrans=True))
        x.append('<recv response="200"/>\n<recv response="487"/>\n')
        x.append(non2xx_ack(cseq))
        x.append('<nop next="done"/>\n')
    else:
        x.append('<recv response="180" optional="true"/>\n'
                 '<recv response="183" optional="true"/>\n')
        for code in (401, 407, *REFUSALS):  # 401 again: wrong credentials
            x.append(f'<recv response="{code}" optional="true" next="refused"/>\n')
        x.append(
            '<recv response="200" rrs="true"><action>\n'
            '  <ereg regexp="sips?:[^&gt;]*" search_in="hdr" header="Contact:" '
            'check_it="true" assign_to="peer"/>\n'
            '  <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" '
            'assign_to="to"/>\n'
            '</action></recv>\n')
        x.append(in_dialog("ACK", cseq))
        cseq += 1
        if dtmf:
            x.append(f'<pause milliseconds="{_ms(dtmf_after)}"/>\n')
            for digit in dtmf:
                body = f"Signal={digit}\nDuration=160\n"
                x.append(in_dialog("INFO", cseq, "Content-Type: application/dtmf-relay\n",
                                   body))
                x.append('<recv response="200"/>\n')
                x.append(f'<pause milliseconds="{_ms(dtmf_gap)}"/>\n')
                cseq += 1
        x.append(_talk(hangup_after, bye_timeout, in_dialog("BYE", cseq)))
        x.append('<nop next="done"/>\n<label id="refused"/>\n')
        x.append(non2xx_ack(2 if challenge else 1))
    x.append('<label id="done"/>\n')
    return _scenario(f"coovox phone {user}", "".join(x))


class Phone:
    """A PJSIP endpoint played by SIPp: ``user``/``password`` as in the test pjsip.conf,
    sending to Asterisk's SIP port on 127.0.0.1 from ``local_port`` (default: a free one)."""

    def __init__(self, user: str, password: str, sip_port: int, *,
                 workdir: Path | None = None, local_port: int | None = None,
                 runs: list[SippRun] | None = None) -> None:
        self.runs = runs  # every run started is appended here (to stop them all later)
        self.user = user
        self.password = password
        self.sip_port = sip_port
        self.workdir = workdir
        self.local_port = local_port

    async def call(self, number: str, *, hangup_after: float | None = None, dtmf: str = "",
                   dtmf_after: float = 0.5, cancel_after: float | None = None,
                   challenge: bool = True, calls: int = 1, rate: float | None = None,
                   limit: int | None = None, timeout: float = 60, bye_timeout: float = 120,
                   trace: bool = True, extra_args: tuple[str, ...] = (),
                   dtmf_gap: float = 0.25, from_user: str | None = None,
                   from_display: str | None = None, headers: tuple[str, ...] = ()) -> SippRun:
        """Start dialling ``number`` (``calls`` times; ``rate`` calls/s and at most ``limit``
        at once); returns the running :class:`SippRun`. ``timeout`` ends the whole run.
        Scenario options: see :func:`phone_scenario`."""
        wd = _workdir(self.workdir, f"phone-{self.user}-")
        xml = wd / "phone.xml"
        xml.write_text(phone_scenario(self.user, hangup_after=hangup_after, dtmf=dtmf,
                                      dtmf_after=dtmf_after, cancel_after=cancel_after,
                                      bye_timeout=bye_timeout, challenge=challenge,
                                      dtmf_gap=dtmf_gap, from_user=from_user,
                                      from_display=from_display, headers=headers))
        args = [f"{HOST}:{self.sip_port}", "-sf", str(xml), "-s", number,
                "-au", self.user, "-ap", self.password,
                "-i", HOST, "-p", str(self.local_port or free_udp_port()),
                "-mp", str(free_udp_range(4)), "-m", str(calls), "-nostdin",
                "-timeout", f"{int(timeout)}s", "-timeout_error", "-max_recv_loops", "10000"]
        if rate is not None:
            args += ["-r", str(rate), "-rp", "1000"]
        if limit is not None:
            args += ["-l", str(limit)]
        run = SippRun(args, wd, "phone", trace=trace, extra_args=extra_args)
        if self.runs is not None:
            self.runs.append(run)
        return await run.start()


# --- the carrier -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """What the carrier does with each INVITE."""

    kind: str                      # "answer", "reject", "ring"
    ring: float = 0.0              # seconds of 180 Ringing before answering / rejecting
    hangup_after: float | None = None  # answered: BYE after this many seconds; None: wait
    status: int = 0                # reject: the final response


def answer(*, ring: float = 0.0, hangup_after: float | None = None) -> Behaviour:
    """Answer (after ``ring`` s of 180 Ringing), then hang up after ``hangup_after`` s or
    wait for the BYE (a BYE from Asterisk is accepted at any time)."""
    return Behaviour("answer", ring=ring, hangup_after=hangup_after)


def reject(status: int, *, ring: float = 0.0) -> Behaviour:
    """Refuse with ``status`` (after ``ring`` s of ringing)."""
    return Behaviour("reject", ring=ring, status=status)


def busy() -> Behaviour:
    return reject(486)


def congestion() -> Behaviour:
    return reject(503)


def ring_forever() -> Behaviour:
    """180 Ringing and nothing more, until Asterisk cancels."""
    return Behaviour("ring")


REASONS = {486: "Busy Here", 503: "Service Unavailable", 404: "Not Found", 480:
           "Temporarily Unavailable", 403: "Forbidden", 603: "Decline", 408: "Request Timeout"}


def carrier_scenario(b: Behaviour, bye_timeout: float = 600) -> str:
    to_tag = "[last_To:];tag=[pid]SIPpTag01[call_number]"

    def reply(status: int, reason: str, *, sdp: bool = False, retrans: bool = False) -> str:
        contact = "Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>\n"
        body = (f"Content-Type: application/sdp\nContent-Length: [len]\n\n{SDP}" if sdp
                else "Content-Length: 0")
        return _send(f"SIP/2.0 {status} {reason}\n[last_Via:]\n[last_From:]\n{to_tag}\n"
                     f"[last_Call-ID:]\n[last_CSeq:]\n{contact}{body}", retrans=retrans)

    hangs_up = b.kind == "answer" and b.hangup_after is not None
    # SIPp refuses variables that are set but never used: capture only what is needed
    capture = ('  <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true" '
               'assign_to="invite_cseq"/>\n' if b.kind == "ring" else
               '  <ereg regexp="sips?:[^&gt;]*" search_in="hdr" header="Contact:" '
               'check_it="true" assign_to="peer"/>\n' if hangs_up else "")
    x = [f'<recv request="INVITE" crlf="true"><action>\n{capture}</action></recv>\n'
         if capture else '<recv request="INVITE" crlf="true"/>\n']
    x.append(_send("SIP/2.0 100 Trying\n[last_Via:]\n[last_From:]\n[last_To:]\n"
                   "[last_Call-ID:]\n[last_CSeq:]\nContent-Length: 0"))
    if b.kind == "ring" or b.ring > 0:
        x.append(reply(180, "Ringing"))
    if b.kind == "ring":
        x.append('<recv request="CANCEL"/>\n')
        x.append(OK_TO_REQUEST)
        x.append(_send("SIP/2.0 487 Request Terminated\n[last_Via:]\n[last_From:]\n"
                       f"{to_tag}\n[last_Call-ID:]\n"
                       "CSeq: [$invite_cseq] INVITE\nContent-Length: 0"))
        x.append('<recv request="ACK"/>\n')
        return _scenario("coovox carrier ring", "".join(x))
    if b.ring > 0:
        x.append(f'<pause milliseconds="{_ms(b.ring)}"/>\n')
    if b.kind == "reject":
        x.append(reply(b.status, REASONS.get(b.status, "Rejected")))
        x.append('<recv request="ACK"/>\n')
        return _scenario(f"coovox carrier {b.status}", "".join(x))
    x.append(reply(200, "OK", sdp=True, retrans=True))
    if hangs_up:
        x.append('<recv request="ACK" crlf="true"><action>\n'
                 '  <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" '
                 'assign_to="from"/>\n'
                 '  <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" '
                 'assign_to="to"/>\n'
                 '</action></recv>\n')
    else:
        x.append('<recv request="ACK" crlf="true"/>\n')
    bye = _send("BYE [$peer] SIP/2.0\n"
                "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
                "From:[$to]\nTo:[$from]\nCall-ID: [call_id]\nCSeq: 1 BYE\n"
                "Max-Forwards: 70\nContent-Length: 0", retrans=True)
    x.append(_talk(b.hangup_after, bye_timeout, bye))
    x.append('<label id="done"/>\n')
    return _scenario("coovox carrier answer", "".join(x))


class Carrier:
    """The SIP trunk's far end: a SIPp UAS on 127.0.0.1:``port`` (the address the test
    pjsip.conf gives the endpoint ``carrier`` in ``contact`` and ``match``)."""

    def __init__(self, port: int, *, workdir: Path | None = None) -> None:
        self.port = port
        self.workdir = workdir
        self.run: SippRun | None = None

    async def start(self, behaviour: Behaviour, *, calls: int | None = 1,
                    timeout: float = 120, trace: bool = True,
                    extra_args: tuple[str, ...] = ()) -> SippRun:
        """Serve ``calls`` calls (None: until stopped) with ``behaviour``; ``timeout`` ends
        the run (unless ``calls`` is None)."""
        await self.stop()
        wd = _workdir(self.workdir, "carrier-")
        xml = wd / "carrier.xml"
        xml.write_text(carrier_scenario(behaviour))
        args = ["-sf", str(xml), "-i", HOST, "-p", str(self.port),
                "-mp", str(free_udp_range(4)), "-nostdin", "-max_recv_loops", "10000"]
        if calls is not None:
            args += ["-m", str(calls), "-timeout", f"{int(timeout)}s"]
        self.run = await SippRun(args, wd, "carrier", trace=trace,
                                 extra_args=extra_args).start()
        await asyncio.sleep(0.2)  # let it bind its port
        if not self.run.running:
            raise RuntimeError("carrier SIPp exited at once:\n" + self.run.result().explain())
        return self.run

    async def stop(self) -> SippResult | None:
        if self.run is None:
            return None
        run, self.run = self.run, None
        return await run.stop()

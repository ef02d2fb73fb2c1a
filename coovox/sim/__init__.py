"""The ARI double: an aiohttp server on 127.0.0.1 that speaks ARI like Asterisk 22.10.

It serves its own swagger 1.1 (``/ari/api-docs/resources.json``, loadable by aioari), the
``/ari/events`` websocket (``api_key=user:pass`` or Basic auth) and the channels, bridges,
playbacks and applications REST subset with the event sequences of the captured transcripts
(``../shared/ari``). Control API (in-process)::

    double = AriDouble(app="coovox", user="coovox", password="coovox-secret",
                       time_scale=1.0,   # scales default far-end timings, dial timeouts, sounds
                       record_events=True)  # False: keep no event log (long benchmarks)
    await double.start(host="127.0.0.1", port=0); double.url  # "http://127.0.0.1:PORT"
    cid = await double.place_call("100", "9123450", caller_name="")  # caller channel id
    double.far_end("123450", FarEnd(answer_after=0.2, hangup_after=1, cause=16))
    await double.phone_hangup(cid); await double.far_hangup(out_id, cause=16)
    await double.send_dtmf(cid, "1234#")
    await double.drop_websocket(down_for=1.0); await double.restart()  # a crash
    await double.shutdown()  # "core stop now": every channel hung up, then a restart
    double.requests      # [SimRequest(method, path, query, at)]
    await double.wait_request("POST", r"/dial$", timeout=2)
    double.sent_events   # [SentEvent(at, event)]; await double.wait_event("Dial", dialstatus="ANSWER")
    double.channels, double.bridges                      # current state
    await double.stop()

Far ends without a script behave by the LAST digit of the dialled number like the
reference ``pstn`` context: 0 answer, 1 busy, 2 congestion, 3 ring forever, 4 answer then
hang up (16) after 5 s, 5 answer and wait, 6 ring 2 s / answer / hang up after 3 s; other
digits answer. ``place_call`` raises ``AppNotRegistered`` while the Stasis app does not
exist (no websocket ever, or it closed while the app had no channels).

HTTP control (no auth, for other processes): POST ``/_sim/call`` {extension, number,
caller_name}, ``/_sim/hangup`` {channel_id, cause}, ``/_sim/far_hangup``, ``/_sim/dtmf``
{channel_id, digits}, ``/_sim/far_end`` {number, FarEnd fields}, ``/_sim/drop``
{down_for}, ``/_sim/restart``; GET ``/_sim/requests``, ``/_sim/events``, ``/_sim/state``.
Standalone: ``python -m coovox.sim --port 8088``.
"""

from coovox.sim.double import AriDouble, SentEvent, SimRequest
from coovox.sim.errors import AppNotRegistered, SimError
from coovox.sim.state import FarEnd

__all__ = ["AppNotRegistered", "AriDouble", "FarEnd", "SentEvent", "SimError", "SimRequest"]

"""Behaviours of the ARI double beyond the transcripts: control API, app lifetime, DTMF."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest

from coovox.ari import basic_auth
from coovox.plugins.calls.prompts import BEEP, PIN_WRONG, prompt_media
from coovox.sim import AppNotRegistered, AriDouble, FarEnd
from tests.support.ari import PASSWORD, USER

AUTH = {"Authorization": basic_auth(USER, PASSWORD)}


class App:
    """A minimal app: one websocket collecting events, and a REST session."""

    def __init__(self, double: AriDouble) -> None:
        self.double = double
        self.events: list[dict] = []

    async def __aenter__(self) -> App:
        self.session = aiohttp.ClientSession(headers=AUTH)
        await self.connect()
        return self

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(self.double.url + "/ari/events",
                                                params={"app": "coovox"})
        self.reader = asyncio.create_task(self._read(self.ws))
        await self.double.wait_connected(2)

    async def _read(self, ws) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))

    async def close_ws(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self.reader, 2)

    async def __aexit__(self, *exc) -> None:
        await self.close_ws()
        await self.session.close()

    async def rest(self, method: str, path: str, **query) -> tuple[int, object]:
        async with self.session.request(method, self.double.url + "/ari" + path,
                                        params={k: str(v) for k, v in query.items()}) as resp:
            body = await resp.json() if resp.status != 204 else None
            return resp.status, body

    async def wait(self, kind: str, timeout: float = 2.0, **match) -> dict:
        """The first event received of type ``kind`` whose fields equal ``match``."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                        return event
                await asyncio.sleep(0.005)

    async def wait_stasis(self, channel_id: str, timeout: float = 2.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if (event["type"] == "StasisStart"
                            and event["channel"]["id"] == channel_id):
                        return event
                await asyncio.sleep(0.002)

    def types(self, channel_id: str | None = None) -> list[str]:
        return [e["type"] for e in self.events
                if channel_id is None or (e.get("channel") or e.get("peer") or {}).get("id")
                == channel_id]


async def outbound(app: App, caller: str, number: str) -> str:
    status, out = await app.rest("POST", "/channels/create", endpoint=number, app="coovox",
                                 appArgs="outbound", originator=caller)
    assert status == 200, out
    await app.wait_stasis(out["id"])  # a dial before its StasisStart gets 409
    status, _ = await app.rest("POST", f"/channels/{out['id']}/dial", caller=caller, timeout=30)
    assert status == 204
    return out["id"]


async def test_place_call_is_refused_while_the_app_does_not_exist(double):
    with pytest.raises(AppNotRegistered):
        await double.place_call("100", "9123450")
    async with App(double) as app:
        caller = await double.place_call("100", "9123450", caller_name="Ext 100")
        start = await app.wait("StasisStart")
        assert start["args"] == ["dialout", "100", "9123450"]
        assert start["channel"]["caller"] == {"name": "Ext 100", "number": "100"}
        assert start["channel"]["state"] == "Ring"
        assert start["channel"]["name"].startswith("Local/9123450@from-internal-")
        assert start["channel"]["name"].endswith(";2")
        await app.rest("DELETE", f"/channels/{caller}")
        await double.wait_event("StasisEnd", channel_id=caller)
    # the socket closed while the app had no channels: the app is gone
    with pytest.raises(AppNotRegistered):
        await double.place_call("100", "9123450")


async def test_event_filter_of_the_app_works_as_in_asterisk(double):
    """PUT /applications/{app}/eventFilter: disallowed types are not sent, only allowed
    ones when that list is not empty; {} clears both; a bad body is refused (400), another
    app is not found (404); a destroyed app forgets its filter."""
    async with App(double) as app:
        url = double.url + "/ari/applications/coovox/eventFilter"

        async def put(body: object, name: str = "coovox") -> tuple[int, dict]:
            async with app.session.put(url.replace("/coovox/", f"/{name}/"), json=body) as r:
                return r.status, await r.json()

        status, info = await put({"disallowed": [{"type": "ChannelVarset"}]})
        assert status == 200 and info["events_disallowed"] == [{"type": "ChannelVarset"}]
        caller = await double.place_call("100", "9123450")
        await app.wait_stasis(caller)
        await app.rest("POST", f"/channels/{caller}/variable", variable="X", value="1")
        await app.rest("POST", f"/channels/{caller}/answer")
        await app.wait("ChannelStateChange")
        assert "ChannelVarset" not in app.types(caller)
        assert (await put({"allowed": [{"type": "StasisEnd"}]}))[1]["events_disallowed"] == [
            {"type": "ChannelVarset"}]  # the list not given is kept
        await app.rest("POST", f"/channels/{caller}/ring")
        await app.rest("DELETE", f"/channels/{caller}")
        await app.wait("StasisEnd")
        assert app.types(caller)[-2:] == ["ChannelStateChange", "StasisEnd"]
        assert [(await put(body))[0] for body in (
            {"allowed": "StasisEnd"}, {"disallowed": [{"name": "x"}]}, [1])] == [400] * 3
        assert (await put({}, name="other"))[0] == 404
        status, info = await put({})
        assert (info["events_allowed"], info["events_disallowed"]) == ([], [])
        await put({"disallowed": [{"type": "StasisStart"}]})
    async with App(double) as app:  # the app had no channel left: destroyed, then new
        status, info = await app.rest("GET", "/applications/coovox")
        assert info["events_disallowed"] == []


async def test_app_with_channels_survives_a_websocket_loss_and_misses_events(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        await double.wait_event("StasisStart", channel_id=caller)
        await app.close_ws()
        status, _ = await app.rest("POST", f"/channels/{caller}/answer")
        assert status == 204
        assert double.dropped_events and double.dropped_events[-1].event["type"] == \
            "ChannelStateChange"
        status, info = await app.rest("GET", "/applications/coovox")
        assert status == 200 and info["channel_ids"] == [caller]
        await app.connect()
        await asyncio.sleep(0.05)
        assert app.types() == ["StasisStart"]  # nothing replayed
        await app.rest("DELETE", f"/channels/{caller}")
        await double.wait_event("StasisEnd", channel_id=caller)


async def test_scripted_far_end_rings_answers_and_hangs_up_with_its_cause(double):
    double.far_end("555", FarEnd(answer_after=0.05, hangup_after=0.05, cause=17))
    async with App(double) as app:
        caller = await double.place_call("100", "9555")
        out = await outbound(app, caller, "Local/555@pstn")
        destroyed = await app.wait("ChannelDestroyed")
        assert destroyed["channel"]["id"] == out
        assert destroyed["cause"] == 17 and destroyed["cause_txt"] == "User busy"
        assert [e.get("dialstatus") for e in app.events if e["type"] == "Dial"] == \
            ["", "RINGING", "ANSWER"]
        hangup = next(e for e in app.events if e["type"] == "ChannelHangupRequest")
        assert hangup["cause"] == 17 and "soft" not in hangup


@pytest.mark.parametrize(("endpoint", "status"), [
    ("PJSIP/123450@carrier", "ANSWER"), ("Local/7771@pstn", "BUSY"),
    ("Local/7772@pstn", "CONGESTION"), ("Local/7773@pstn", "RINGING"),
])
async def test_default_far_end_by_last_digit_of_the_dialled_number(double, endpoint, status):
    async with App(double) as app:
        caller = await double.place_call("100", "9000")
        out = await outbound(app, caller, endpoint)
        dial = await double.wait_event("Dial", dialstatus=status)
        assert dial["peer"]["id"] == out
        await asyncio.sleep(0.05)
        assert double.channels[out].state == {"ANSWER": "Up", "RINGING": "Ringing"}.get(
            status, "Down")  # busy/congestion leave it parked, Down


async def test_dtmf_from_the_phone(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        await double.send_dtmf(caller, "12#")
        await app.wait("ChannelDtmfReceived", digit="#")
        dtmf = [e for e in app.events if e["type"] == "ChannelDtmfReceived"]
        assert [e["digit"] for e in dtmf] == ["1", "2", "#"]
        assert all(e["duration_ms"] > 0 and e["channel"]["id"] == caller for e in dtmf)
        with pytest.raises(Exception, match="Invalid DTMF"):
            await double.send_dtmf(caller, "9x")


async def test_phone_hangup_of_a_call_never_dialled_ends_with_stasis_end(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        await double.phone_hangup(caller)
        await app.wait("StasisEnd")
        await asyncio.sleep(0.05)
        assert app.types(caller) == ["StasisStart", "ChannelHangupRequest", "StasisEnd"]
        assert app.events[1]["cause"] == 16 and "soft" not in app.events[1]
        assert double.channels == {}


async def test_playbacks_sound_finishes_and_tone_on_answered_channel_is_done(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        prompt = prompt_media(PIN_WRONG, "en")
        status, playback = await app.rest("POST", f"/channels/{caller}/play", media=prompt)
        assert status == 201 and playback["state"] == "queued"
        finished = await double.wait_event("PlaybackFinished")
        assert finished["playback"]["state"] == "done"
        # as on the kit's Asterisk: no core sounds, no tone named "beep"
        for media in ("sound:hello-world", "tone:beep", "sound:/no/such/file"):
            start = len(double.sent_events)
            await app.rest("POST", f"/channels/{caller}/play", media=media)
            failed = await double.wait_event("PlaybackFinished", start=start)
            assert failed["playback"]["media_uri"] == media
            assert failed["playback"]["state"] == "failed"
        # a list: the beep file, then the prompt
        start = len(double.sent_events)
        await app.rest("POST", f"/channels/{caller}/play", media=f"{BEEP},{prompt}")
        continuing = await double.wait_event("PlaybackContinuing", start=start)
        assert continuing["playback"]["next_media_uri"] == prompt
        done = await double.wait_event("PlaybackFinished", start=start)
        assert (done["playback"]["media_uri"], done["playback"]["state"]) == (prompt, "done")
        # a tone, even a one-shot one, plays until stopped (Asterisk's ast_control_tone):
        # what is listed after it never plays
        start = len(double.sent_events)
        status, once = await app.rest("POST", f"/channels/{caller}/play",
                                      media=f"tone:!1400/100,{prompt}")
        await double.wait_event("PlaybackStarted", start=start)
        await asyncio.sleep(0.3)
        assert [s.event["type"] for s in double.sent_events[start:]] == ["PlaybackStarted"]
        await app.rest("DELETE", f"/playbacks/{once['id']}")
        await double.wait_event("PlaybackFinished", start=start)
        await app.rest("POST", f"/channels/{caller}/answer")
        status, tone = await app.rest("POST", f"/channels/{caller}/play", media="tone:ring",
                                      playbackId="pb-1")
        assert tone["id"] == "pb-1"
        await double.wait_event("PlaybackStarted", playback={**tone, "state": "playing"})
        await app.rest("DELETE", f"/channels/{caller}")
        last = await double.wait_event("PlaybackFinished", start=len(double.sent_events) - 3)
        assert last["playback"] == {**tone, "state": "done"}
        status, _ = await app.rest("DELETE", "/playbacks/pb-1")
        assert status == 404


async def test_error_shapes(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        assert await app.rest("DELETE", f"/channels/{caller}", reason="normal",
                              reason_code=16) == (
            400, {"message": "The reason and reason_code can't both be specified"})
        assert (await app.rest("DELETE", f"/channels/{caller}", reason="bogus"))[0] == 400
        assert await app.rest("GET", "/bridges/nope") == (404, {"message": "Bridge not found"})
        status, body = await app.rest("POST", "/channels/create", endpoint="Local/1@pstn",
                                      app="coovox", originator=caller, formats="ulaw")
        assert status == 400 and "formats" in body["message"]
        assert await app.rest("DELETE", "/channels/1.999") == (
            404, {"message": "Channel not found"})
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(double.url + "/ari/channels") as resp:
            assert resp.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await anonymous.ws_connect(double.url + "/ari/events?app=coovox&api_key=coovox:no")
        assert info.value.status == 401


async def test_drop_websocket_refuses_reconnects_for_a_while(double):
    async with App(double) as app:
        await double.drop_websocket(down_for=0.3)
        await asyncio.wait_for(app.reader, 2)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await app.connect()
        await asyncio.sleep(0.35)
        await app.connect()
        assert double.connected


async def test_shutdown_hangs_up_every_channel_tells_the_app_then_closes(double):
    """``core stop now`` on Asterisk 22.10: soft hangup requests with flag 4 for every
    channel at once, then the usual teardown, then the websocket closes."""
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        await double.shutdown(linger=0.05)
        await asyncio.wait_for(app.reader, 2)
        request = await app.wait("ChannelHangupRequest", cause=4, soft=True)
        assert request["channel"]["id"] == caller
        assert app.types(caller)[-2:] == ["ChannelHangupRequest", "StasisEnd"]
        assert not double.channels and not double.bridges


async def test_restart_forgets_everything_and_tells_nobody(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        status, bridge = await app.rest("POST", "/bridges", type="mixing")
        count = len(app.events)
        await double.restart()
        await asyncio.wait_for(app.reader, 2)
        assert len(app.events) == count
        assert await app.rest("GET", f"/channels/{caller}") == (
            404, {"message": "Channel not found"})
        assert await app.rest("GET", "/bridges") == (200, [])
        assert await app.rest("GET", "/applications") == (200, [])
        with pytest.raises(AppNotRegistered):
            await double.place_call("100", "9123450")
        await app.connect()
        assert await double.place_call("100", "9123450") != caller


async def test_request_log_and_wait_request(double):
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        start = len(double.requests)
        waiter = asyncio.create_task(double.wait_request("POST", r"/ring$", 2, start=start))
        await app.rest("POST", f"/channels/{caller}/ring")
        found = await waiter
        assert (found.method, found.path, found.query) == (
            "POST", f"/ari/channels/{caller}/ring", {})
        assert found.at >= double.requests[start - 1].at
        with pytest.raises(TimeoutError):
            await double.wait_request("DELETE", r"/ring$", 0.05)


async def test_http_control_endpoints(double):
    async with App(double) as app, aiohttp.ClientSession() as ctl:
        async def post(path, **body):
            async with ctl.post(double.url + "/_sim/" + path, json=body) as resp:
                return resp.status, await resp.json()

        assert (await post("far_end", number="4242", busy=True)) == (200, {"ok": True})
        status, call = await post("call", extension="100", number="94242")
        assert status == 200
        caller = call["channel_id"]
        out = await outbound(app, caller, "Local/4242@pstn")
        await double.wait_event("Dial", dialstatus="BUSY")
        assert (await post("dtmf", channel_id=caller, digits="5"))[0] == 200
        assert (await post("far_hangup", channel_id=out, cause=34))[0] == 200
        assert (await post("hangup", channel_id=caller))[0] == 200
        async with ctl.get(double.url + "/_sim/state") as resp:
            state = await resp.json()
        assert state["channels"] == [] and state["connected"]
        async with ctl.get(double.url + "/_sim/requests") as resp:
            paths = [r["path"] for r in await resp.json()]
        assert f"/ari/channels/{out}/dial" in paths
        status, body = await post("call", extension="100")
        assert status == 400 and "number" in body["message"]
        status, body = await post("far_end", number="1", ring=True)
        assert status == 400 and "ring" in body["message"]
        status, body = await post("far_end", number="1", answer_after="soon")
        assert status == 400 and "answer_after" in body["message"]
        status, body = await post("far_end", number="1", cause=999)
        assert status == 400 and "cause" in body["message"]
        assert (await post("drop", down_for=0))[0] == 200
        await asyncio.wait_for(app.reader, 2)
        assert (await post("restart"))[0] == 200
        status, body = await post("call", extension="100", number="9123450")
        assert status == 409 and "doesn't exist" in body["message"]
        await app.connect()


async def test_standalone_module_serves_on_the_given_port():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "coovox.sim", "--port", "0", "--password", "x",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession(
                headers={"Authorization": basic_auth("coovox", "x")}) as session:
            async with session.get(url + "/ari/api-docs/resources.json") as resp:
                assert (await resp.json())["basePath"] == url + "/ari"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_without_event_log_the_app_still_gets_every_event():
    quiet = AriDouble(time_scale=0.05, record_events=False)
    await quiet.start()
    try:
        async with App(quiet) as app:
            caller = await quiet.place_call("100", "9123450")
            await quiet.send_dtmf(caller, "1")
            await app.wait("ChannelDtmfReceived")
            assert app.types() == ["StasisStart", "ChannelDtmfReceived"]
            assert quiet.sent_events == [] and quiet.dropped_events == []
    finally:
        await quiet.stop()


async def test_created_channel_enters_stasis_after_the_answer_and_refuses_an_early_dial(double):
    """As Asterisk: POST /channels/create answers, the channel enters Stasis a moment later
    on another thread, and a dial before its StasisStart gets 409."""
    double.stasis_entry_delay = 0.2
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        status, out = await app.rest("POST", "/channels/create", endpoint="Local/123450@pstn",
                                     app="coovox", appArgs="outbound", originator=caller)
        assert status == 200
        assert "StasisStart" not in app.types(out["id"])
        status, body = await app.rest("POST", f"/channels/{out['id']}/dial", caller=caller)
        assert (status, body) == (409, {"message": "Channel not in Stasis application"})
        start = await app.wait_stasis(out["id"], timeout=1.0)
        assert start["args"] == ["outbound"]
        assert app.types(out["id"])[-3:] == ["ChannelDialplan", "ChannelVarset", "StasisStart"]
        status, _ = await app.rest("POST", f"/channels/{out['id']}/dial", caller=caller)
        assert status == 204
        status, body = await app.rest("POST", f"/channels/{out['id']}/dial", caller=caller)
        assert status == 409
        await app.rest("DELETE", f"/channels/{out['id']}")
        await app.rest("DELETE", f"/channels/{caller}")


async def test_entry_delay_is_random_within_its_bound(double):
    double.stasis_entry_delay = 0.05
    loop = asyncio.get_running_loop()
    async with App(double) as app:
        waits = []
        for _ in range(12):
            caller = await double.place_call("100", "9123450")
            await app.wait_stasis(caller)
            t0 = loop.time()
            status, out = await app.rest("POST", "/channels/create",
                                         endpoint="Local/123450@pstn", app="coovox",
                                         appArgs="outbound", originator=caller)
            await app.wait_stasis(out["id"])
            waits.append(loop.time() - t0)
            await app.rest("DELETE", f"/channels/{out['id']}")
            await app.rest("DELETE", f"/channels/{caller}")
        assert max(waits) < 1.0
        assert max(waits) - min(waits) > 0.005  # not a fixed delay


async def test_caller_id_functions_are_written_as_in_asterisk(double):
    """POST /channels/{id}/variable with CALLERID(num): the caller ID changes and
    ChannelCallerId is sent (no ChannelVarset: Asterisk writes a function); /dial then copies
    it into the new leg's connected line (what a carrier is sent). An unknown function is
    400 "Failed to execute function"."""
    async with App(double) as app:
        caller = await double.place_call("100", "9123450")
        await app.wait_stasis(caller)
        status, _ = await app.rest("POST", f"/channels/{caller}/variable",
                                   variable="CALLERID(num)", value="67293500")
        assert status == 204
        event = await app.wait("ChannelCallerId")
        assert event["channel"]["caller"]["number"] == "67293500"
        assert event["caller_presentation_txt"] == "Presentation Allowed, Not Screened"
        assert "ChannelVarset" not in app.types(caller)
        assert (await app.rest("POST", f"/channels/{caller}/variable",
                               variable="NOSUCHFUNC(x)", value="1"))[0] == 400
        out = await outbound(app, caller, "Local/123450@pstn")
        dial = await app.wait("Dial", dialstatus="")
        assert dial["peer"]["connected"]["number"] == "67293500"
        await app.rest("DELETE", f"/channels/{out}")
        await app.rest("DELETE", f"/channels/{caller}")

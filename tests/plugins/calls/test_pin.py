"""PIN entry (right, wrong three times, right on the third try) and the rule's time limit."""

import asyncio
from pathlib import Path

import pytest

from coovox.plugins.calls.models import DialRule
from coovox.sim import FarEnd
from tests.support.call_app import finished


async def _wait_play(double, caller, count):
    async with asyncio.timeout(5):
        while len([r for r in double.requests if r.path == f"/ari/channels/{caller}/play"]) < count:
            await asyncio.sleep(0.02)


async def test_right_pin_lets_the_call_out_and_is_recorded(app, double):
    double.far_end("777", FarEnd(hangup_after=0.2))
    caller = await double.place_call("100", "8777")
    await _wait_play(double, caller, 1)  # the prompt
    await double.send_dtmf(caller, "5678#")
    (row,) = await finished()
    assert (row.status, row.pin, row.sent) == ("answered", "5678", "777")
    answer = await double.wait_request("POST", rf"/channels/{caller}/answer$")
    assert answer is not None


async def test_wrong_pin_three_times_is_refused(app, double):
    caller = await double.place_call("100", "8777")
    for attempt in range(3):
        await _wait_play(double, caller, 1 + 2 * attempt)
        await double.send_dtmf(caller, "0000#")
    (row,) = await finished()
    assert (row.status, row.reason, row.pin) == ("refused", "wrong PIN", None)
    assert not [r for r in double.requests if r.path.endswith("/channels/create")]


async def test_pin_right_on_third_try(app, double):
    double.far_end("777", FarEnd(hangup_after=0.1))
    caller = await double.place_call("100", "8777")
    await _wait_play(double, caller, 1)
    await double.send_dtmf(caller, "1#")
    await _wait_play(double, caller, 3)
    # second try: no digits, the per-try timeout (0.5 s) passes
    await _wait_play(double, caller, 5)
    await double.send_dtmf(caller, "1234#")
    (row,) = await finished()
    assert (row.status, row.pin) == ("answered", "1234")


async def test_time_limit_cuts_the_call(app, double):
    await DialRule.filter(name="Limited").update(time_limit=1)  # below 60 only in tests
    await double.place_call("100", "6123455")  # answers and waits
    (row,) = await finished(timeout=10)
    assert (row.status, row.reason) == ("answered", "time limit")
    assert row.cap == 1 and row.billed_talk_time == pytest.approx(1.0, abs=0.05)
    assert row.talk_time >= 1.0
    await asyncio.sleep(0.1)
    assert not double.channels and not double.bridges


async def test_caller_answered_for_pin_hears_ringback_tone(app, double):
    double.far_end("779", FarEnd(answer_after=0.3, hangup_after=0.1))
    caller = await double.place_call("100", "8779")
    await _wait_play(double, caller, 1)
    await double.send_dtmf(caller, "1234#")
    (row,) = await finished()
    assert row.status == "answered"
    plays = [r.query["media"] for r in double.requests if r.path.endswith(f"{caller}/play")]
    assert plays[-1] == "tone:ring"
    assert [r for r in double.requests if r.method == "DELETE" and "/playbacks/" in r.path]


async def test_prompts_are_the_shipped_files_in_the_configured_language(app, double):
    """The kit's Asterisk has no core sounds: the PIN prompts are CooVox's own files, in
    the language of ``prompt_language``; wrong PINs hear the "not valid" prompt."""
    app.services["calls"].prompt_language = "zh"
    caller = await double.place_call("100", "8777")
    await _wait_play(double, caller, 1)
    await double.send_dtmf(caller, "0000#")
    await _wait_play(double, caller, 2)
    media = [r.query["media"] for r in double.requests
             if r.path == f"/ari/channels/{caller}/play"][:2]
    assert [m.rsplit("/", 2)[-2:] for m in media] == [["zh", "pin-enter"], ["zh", "pin-wrong"]]
    for uri in media:
        assert Path(uri.removeprefix("sound:") + ".wav").is_file()
    finished_play = await double.wait_event("PlaybackFinished")
    assert finished_play["playback"]["state"] == "done"  # the double fails missing files


def _events(double, *kinds):
    return [s.event for s in double.sent_events if s.event["type"] in kinds]


async def test_the_last_wrong_pin_prompt_and_the_busy_tone_are_heard(app, double):
    """Asterisk plays a channel's playbacks one after the other: refusing at once after
    the third wrong PIN hung up in the middle of "not valid", before the busy tone (seen
    on a real Asterisk)."""
    double.engine.sound_duration = 0.3
    caller = await double.place_call("100", "8777")
    for attempt in range(3):
        await _wait_play(double, caller, 1 + 2 * attempt)
        await double.send_dtmf(caller, "0000#")
    (row,) = await finished()
    assert (row.status, row.reason) == ("refused", "wrong PIN")
    events = _events(double, "PlaybackStarted", "PlaybackFinished", "ChannelHangupRequest")
    hangup = next(i for i, e in enumerate(events) if e["type"] == "ChannelHangupRequest")
    before = [(e["type"], e["playback"]["media_uri"].rsplit("/", 1)[-1], e["playback"]["state"])
              for e in events[:hangup]]
    assert before[-2:] == [("PlaybackFinished", "pin-wrong", "done"),
                           ("PlaybackStarted", "tone:busy", "playing")], before


async def test_prompts_typed_ahead_are_dropped_after_the_last_wrong_pin(app, double):
    """A caller typing all three PINs at once has "enter"/"not valid" prompts queued: after
    the last wrong PIN they are stopped, the last "not valid" and the busy tone follow."""
    double.engine.sound_duration = 1.0
    caller = await double.place_call("100", "8777")
    await _wait_play(double, caller, 1)
    await double.send_dtmf(caller, "0000#1111#2222#")
    (row,) = await finished()
    assert (row.status, row.reason) == ("refused", "wrong PIN")
    stops = [r.path for r in double.requests if r.method == "DELETE" and "/playbacks/" in r.path]
    assert len(stops) >= 2, "the stale prompts were stopped"
    events = _events(double, "PlaybackStarted", "PlaybackFinished", "ChannelHangupRequest")
    hangup = next(i for i, e in enumerate(events) if e["type"] == "ChannelHangupRequest")
    before = [(e["type"], e["playback"]["media_uri"].rsplit("/", 1)[-1], e["playback"]["state"])
              for e in events[:hangup]]
    assert before[-3:] == [("PlaybackStarted", "pin-wrong", "playing"),
                           ("PlaybackFinished", "pin-wrong", "done"),
                           ("PlaybackStarted", "tone:busy", "playing")], before

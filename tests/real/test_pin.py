"""PIN-protected dial rules on a real Asterisk: CooVox answers the phone, plays its shipped
prompt (``coovox/sounds/<language>/pin-enter.wav`` by absolute path) and reads the PIN the
phone sends as SIP INFO DTMF, ending with ``#``.

* the right PIN: the call goes out, the PIN is in the record, it is billed;
* three wrong PINs: refused "wrong PIN", nothing reaches the carrier, nothing is charged;
  the last "not valid" and the busy tone are heard before the hangup, even when the
  caller typed ahead (Asterisk queues playbacks and DTMF does not stop them);
* the caller hangs up while asked for the PIN: no call out, not charged;
* the prompts really play on Asterisk: ``PlaybackFinished`` ``done`` after the file's
  whole length (a file Asterisk cannot read ends ``failed``), in English and, with
  ``COOVOX_PROMPT_LANGUAGE=zh``, in Chinese.
"""

from __future__ import annotations

import wave
from decimal import Decimal

import pytest

from coovox.plugins.calls import prompts
from tests.real.kit import Playback, RealStack, sipp
from tests.real.kit.ari import ari_time
from tests.real.money import CLOCK_SLACK, balance, expected_costs, settled_call

pytestmark = [pytest.mark.real_asterisk, pytest.mark.asyncio(loop_scope="module")]

PIN_TIMEOUT = 8  # seconds per try: longer than the Chinese prompt (5.8 s) and the typing
STACK = {"coovox_env": {"COOVOX_PIN_TIMEOUT": str(PIN_TIMEOUT)}, "refuse_tone_seconds": 0.5}
PIN = "2468"
RATE = {"prefix": "8", "initial_cost": "0.05", "initial_time": 0, "rate": "0.01", "unit": 1,
        "extensions": "all", "remark": "PIN rate"}
# seconds between two digits sent by the phone: more than a digit lasts (Duration=160 ms)
# plus Asterisk's minimum gap (45 ms), as a keypad sends them
TYPING = 0.25


def seconds(language: str, name: str) -> float:
    with wave.open(str(prompts.SHIPPED / language / f"{name}.wav")) as w:
        return w.getnframes() / w.getframerate()


def media(language: str, name: str) -> str:
    """The media URI CooVox asks Asterisk to play: the shipped file by absolute path."""
    return f"sound:{(prompts.SHIPPED / language / name).resolve()}"


def played_whole(p: Playback, language: str, name: str) -> bool:
    """Played to its end: ``done`` ("stopped" is reported as ``done`` too) and as long as
    the file."""
    return (p.media == [media(language, name)] and p.state == "done"
            and (p.finished - p.started).total_seconds() >= seconds(language, name) - 0.3)


async def setup_stack(stack: RealStack) -> None:
    api = stack.api
    await api.setup_outbound({"100": "Alice"})
    await api.post("/api/v1/pin-sets", {"name": "Staff", "pins": [PIN, "1357"]})
    await api.post("/api/v1/dial-rules", {"name": "Pin", "prefix": "8", "pattern": "X.",
                                          "trunks": ["carrier"], "pin_set": "Staff"})
    await api.patch("/api/v1/dial-permissions/DialPlan1", {"dial_rules": ["Out", "Pin"]})
    await api.enable_billing(rates=[RATE], accounts={"100": "10"})


def sounds_on(stack: RealStack, channel: str) -> list[Playback]:
    return [p for p in stack.observer.playbacks(stack.since, channel)
            if p.media and p.media[0].startswith("sound:")]


async def right_pin_call(real: RealStack, number: str, language: str,
                         typing_at: float) -> tuple[dict, Playback]:
    """Dial ``number`` (a PIN rule), type the PIN ``typing_at`` s after the answer, talk
    1 s; checks the call and returns its record and the prompt's playback."""
    before = await balance(real)
    carrier = await real.carrier.start(sipp.answer(hangup_after=1))
    phone = await real.phone("100").call(number, dtmf=PIN + "#", dtmf_after=typing_at,
                                         dtmf_gap=TYPING)
    result = await phone.wait(40)
    assert result.ok and result.final_status == 200, result.explain()
    assert result.received("BYE"), "the carrier hung up"
    (invite,) = (await carrier.wait(10)).received("INVITE")
    assert invite.first_line.startswith(f"INVITE sip:{number[1:]}@")

    row = await real.api.finished_call(dialed=number)
    assert (row["status"], row["reason"], row["cause"]) == ("answered", "callee hung up", 16)
    assert (row["rule"], row["trunk"], row["sent"], row["pin"]) == (
        "Pin", "carrier", number[1:], PIN)
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    assert phone_leg.digits == PIN + "#", phone_leg
    (prompt,) = sounds_on(real, phone_leg.id)
    assert prompt.media == [media(language, prompts.PIN_ENTER)], prompt
    # the carrier is dialled only after '#': the PIN was checked first
    leg = real.observer.leg("PJSIP/carrier-", real.since)
    hash_at = max(ari_time(e["timestamp"]) for e in phone_leg.events
                  if e["type"] == "ChannelDtmfReceived")
    assert leg.created >= hash_at, (leg, hash_at)
    assert abs(row["talk_time"] - leg.talk_seconds) < CLOCK_SLACK, (row, leg)
    row = await settled_call(real, RATE, id=row["id"])
    assert Decimal(row["cost"]) in expected_costs(row, RATE) and Decimal(row["cost"]) > 0
    assert await balance(real) == before - Decimal(row["cost"])
    return row, prompt


async def test_right_pin_goes_out_and_is_recorded(real: RealStack):
    _, prompt = await right_pin_call(real, "8500001", "en", typing_at=seconds(
        "en", prompts.PIN_ENTER) + 0.7)
    assert played_whole(prompt, "en", prompts.PIN_ENTER), prompt


async def test_three_wrong_pins_are_refused_and_nothing_is_dialled(real: RealStack):
    before = await balance(real)
    carrier = await real.carrier.start(sipp.answer(), calls=None)
    # the first try after the whole prompt, the next two typed ahead, without waiting for
    # "not valid" and "enter your PIN" again
    typing_at = seconds("en", prompts.PIN_ENTER) + 0.7
    phone = await real.phone("100").call("8500002", dtmf="11#22#33#", dtmf_after=typing_at,
                                         dtmf_gap=TYPING)
    result = await phone.wait(60)
    assert result.ok and result.final_status == 200, result.explain()  # answered for the PIN
    assert result.received("BYE"), "CooVox hung up"

    row = await real.api.finished_call(dialed="8500002")
    assert (row["status"], row["reason"], row["cause"]) == ("refused", "wrong PIN", 17)
    assert (row["rule"], row["sent"], row["pin"]) == ("Pin", "500002", None)
    assert not row["trunk"] and row["answered_at"] is None and row["talk_time"] is None
    assert Decimal(row.get("cost") or "0") == 0
    assert await balance(real) == before
    assert not (await carrier.stop()).received("INVITE"), "nothing reached the carrier"
    assert not real.observer.channel_events("PJSIP/carrier-", real.since)
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    assert phone_leg.digits == "11#22#33#", phone_leg
    # the shipped prompts really play: "enter your PIN" to its end, "not valid" next
    played = sounds_on(real, phone_leg.id)
    assert played_whole(played[0], "en", prompts.PIN_ENTER), played
    assert played[1].media == [media("en", prompts.PIN_WRONG)], played
    # after the last '#': what was queued is dropped, the last "not valid" is heard to its
    # end, then the busy tone, then the hangup
    last = played[-1]
    hash_at = max(ari_time(e["timestamp"]) for e in phone_leg.events
                  if e["type"] == "ChannelDtmfReceived")
    assert last.started >= hash_at and not [p for p in played if p.finished > last.finished]
    assert played_whole(last, "en", prompts.PIN_WRONG), played
    (tone,) = [p for p in real.observer.playbacks(real.since, phone_leg.id)
               if p.media == ["tone:busy"]]
    assert last.finished <= tone.started < phone_leg.destroyed, (last, tone, phone_leg)


async def test_caller_hangs_up_during_the_pin(real: RealStack):
    before = await balance(real)
    carrier = await real.carrier.start(sipp.answer(), calls=None)
    result = await (await real.phone("100").call("8500003", hangup_after=1.5)).wait(30)
    assert result.ok and result.final_status == 200, result.explain()

    row = await real.api.finished_call(dialed="8500003")
    assert (row["status"], row["reason"], row["pin"]) == ("no answer", "caller hung up", None)
    assert row["answered_at"] is None and Decimal(row.get("cost") or "0") == 0
    assert await balance(real) == before
    assert not (await carrier.stop()).received("INVITE")
    # a BYE to a channel in Stasis but in no bridge carries no Q.850 cause on Asterisk 22
    # (hangup request without cause, destroyed with 0): the record keeps none
    phone_leg = real.observer.leg("PJSIP/100-", real.since)
    assert row["cause"] is None and not phone_leg.cause, phone_leg
    # the prompt was playing when the caller left: Asterisk ends it "failed", not "done"
    (prompt,) = sounds_on(real, phone_leg.id)
    assert prompt.media == [media("en", prompts.PIN_ENTER)] and prompt.state == "failed"


async def test_chinese_prompts(real: RealStack):
    """``COOVOX_PROMPT_LANGUAGE=zh``: the Chinese file is played to its end (CooVox
    restarted with the setting, then back to English)."""
    app = real.app
    try:
        await app.stop()
        app.env["COOVOX_PROMPT_LANGUAGE"] = "zh"
        await app.launch()
        _, prompt = await right_pin_call(real, "8500004", "zh", typing_at=seconds(
            "zh", prompts.PIN_ENTER) + 0.7)
        assert played_whole(prompt, "zh", prompts.PIN_ENTER), prompt
    finally:
        await app.stop()
        app.env.pop("COOVOX_PROMPT_LANGUAGE", None)
        await app.launch()

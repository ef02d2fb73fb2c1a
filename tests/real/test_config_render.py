"""The test Asterisk runs the shipped ``ari-dialplan`` files: only ports, addresses,
passwords are filled in and test phones appended (no Asterisk needed for this check)."""

from __future__ import annotations

import difflib
import re

import pytest

from tests.real.kit.asterisk import DIALPLAN, AsteriskConfig, KitError, render_config


def changed_keys(name: str, etc) -> set[str]:
    """The ``key`` of every shipped line that the rendered file changed or dropped."""
    shipped = (DIALPLAN / name).read_text().splitlines()
    rendered = (etc / name).read_text().splitlines()[:len(shipped)]
    diff = difflib.ndiff(shipped, rendered)
    return {re.match(r"-\s*(\w+)", d).group(1) for d in diff if d.startswith("- ")}


def test_only_ports_addresses_and_passwords_change(tmp_path):
    cfg = AsteriskConfig(phones=("100", "101", "199"), http_port=18088, sip_port=15060,
                         carrier_port=15070, rtp_start=30000)
    etc = tmp_path / "etc"
    render_config(cfg, etc, dirs={"etc": etc, "run": tmp_path / "run"})
    assert (etc / "extensions.conf").read_text() == (DIALPLAN / "extensions.conf").read_text()
    assert changed_keys("http.conf", etc) <= {"bindaddr", "bindport"}
    assert changed_keys("ari.conf", etc) == {"password"}
    assert changed_keys("pjsip.conf", etc) == {"bind", "password", "contact", "match"}
    pjsip = (etc / "pjsip.conf").read_text()
    assert "bind = 127.0.0.1:15060" in pjsip and "match = 127.0.0.1:15070" in pjsip
    assert "contact = sip:127.0.0.1:15070" in pjsip
    assert f"password = {cfg.passwords['100']}" in pjsip
    # the extra phone is made of the shipped templates
    assert "[199](phone)" in pjsip and "[199](phone-auth)" in pjsip
    assert "bindport = 18088" in (etc / "http.conf").read_text()
    assert f"password = {cfg.ari_password}" in (etc / "ari.conf").read_text()
    assert "rtpstart = 30000" in (etc / "rtp.conf").read_text()


def test_a_shipped_file_of_another_shape_fails_loudly(tmp_path):
    plan = tmp_path / "plan"
    plan.mkdir()
    for f in DIALPLAN.glob("*.conf"):
        (plan / f.name).write_text(f.read_text())
    (plan / "pjsip.conf").write_text((plan / "pjsip.conf").read_text().replace(
        "match = ", "; match = "))
    with pytest.raises(KitError, match=r"pjsip.conf.*\[carrier\] match"):
        render_config(AsteriskConfig(rtp_start=30000), tmp_path / "etc",
                      dirs={"etc": tmp_path / "etc"}, dialplan=plan)


def test_more_trunks_are_copies_of_the_shipped_carrier_and_ip_phones_have_no_auth(tmp_path):
    cfg = AsteriskConfig(phones=("100",), carriers=("carrier2",), ip_phones=("102",),
                         carrier_port=15070, carrier_ports={"carrier2": 15080},
                         ip_phone_ports={"102": 15090}, rtp_start=30000)
    etc = tmp_path / "etc"
    render_config(cfg, etc, dirs={"etc": etc})
    pjsip = (etc / "pjsip.conf").read_text()
    added = pjsip.split("; --- test trunk carrier2", 1)[1]
    trunk, phone = added.split("; --- test phone 102", 1)
    shipped = (DIALPLAN / "pjsip.conf").read_text()
    keys = {k for k in re.findall(r"^\s*(\w+)\s*=", shipped.split("[carrier]", 1)[1], re.M)}
    assert keys <= set(re.findall(r"^\s*(\w+)\s*=", trunk, re.M))  # every shipped setting
    assert "contact = sip:127.0.0.1:15080" in trunk and "match = 127.0.0.1:15080" in trunk
    assert "endpoint = carrier2" in trunk and "outbound_auth = carrier2" in trunk
    assert "[102](phone)" in phone and "match = 127.0.0.1:15090" in phone
    assert "auth" not in phone.replace("(phone)", "") and "callerid" not in phone

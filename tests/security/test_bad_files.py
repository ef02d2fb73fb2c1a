"""Point 7: malformed licence files and configuration files give clear errors, whatever
they hold (property-based: hypothesis writes the files).

A licence is either accepted or refused with a ``LicenceError`` naming the failed check and a
one-line message; a configuration file either loads or raises ``ConfigError`` with one line
naming the key (or the file); nothing else escapes.
"""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coovox.config import Config, ConfigError, load_config
from coovox.plugins.licensing import signing
from tests.support.reliability import heavy

EXAMPLES = 400 if heavy() else 120
KEY = Ed25519PrivateKey.generate()
CHECKS = {signing.MALFORMED, signing.BAD_SIGNATURE, signing.OTHER_PRODUCT,
          signing.OTHER_FEATURE, signing.OTHER_DEVICE, signing.EXPIRED}
DEVICE = "CVX-AAAAA-BBBBB-CCCCC-DDDDD"
GOOD = {"product": signing.PRODUCT, "feature": "billing", "device_id": DEVICE,
        "issued_at": "2026-11-01T00:00:00+00:00", "expires": "never"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)
field_values = st.one_of(json_values, st.sampled_from([
    "", "never", "2020-01-01", "2999-12-31", "31/12/2030", "2026-11-01T00:00:00",
    "2026-11-01T00:00:00+00:00", "other", signing.PRODUCT, "billing", DEVICE]))


@st.composite
def licence_files(draw) -> bytes:
    """Signed licences with odd payloads, damaged copies, wrong shapes and raw bytes."""
    kind = draw(st.sampled_from(["signed", "damaged", "shape", "bytes"]))
    payload = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=3, unique=True)):
        if draw(st.booleans()):
            payload[name] = draw(field_values)
        else:
            payload.pop(name)
    if kind == "signed":
        try:
            return signing.sign(KEY, payload)
        except (TypeError, ValueError):
            kind = "shape"
    if kind == "damaged":
        data = bytearray(signing.sign(KEY, GOOD))
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "shape":
        doc = draw(st.one_of(
            json_values,
            st.fixed_dictionaries({"payload": st.just(payload) | json_values,
                                   "signature": json_values | st.text(
                                       string.ascii_letters + "+/=", max_size=90)})))
        return json.dumps(doc).encode()
    return draw(st.binary(max_size=300))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(data=licence_files())
def test_any_licence_file_is_accepted_or_refused_with_a_named_check(data):
    public = [signing.load_public_key(signing.public_key_b64(KEY))]
    try:
        payload = signing.verify(data, public)
        signing.check_payload(payload, feature="billing", device_id=DEVICE,
                              now=datetime(2026, 11, 22, tzinfo=UTC))
    except signing.LicenceError as exc:
        assert exc.check in CHECKS
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message


def test_a_damaged_signature_is_never_accepted():
    data = json.loads(signing.sign(KEY, GOOD))
    raw = bytearray(base64.b64decode(data["signature"]))
    raw[0] ^= 1
    data["signature"] = base64.b64encode(bytes(raw)).decode()
    public = [signing.load_public_key(signing.public_key_b64(KEY))]
    try:
        signing.verify(json.dumps(data).encode(), public)
    except signing.LicenceError as exc:
        assert exc.check == signing.BAD_SIGNATURE
    else:
        raise AssertionError("a changed signature was accepted")


KEYS = [f.name for f in Config.__dataclass_fields__.values() if f.name != "source"]
toml_scalars = st.one_of(
    st.integers(-10**6, 10**6).map(str), st.booleans().map(lambda b: str(b).lower()),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(string.printable, max_size=30).map(json.dumps),
    st.sampled_from(['"postgres://x"', '"http://"', '"Mars/Olympus"', "[1, 2]", '["a"]',
                     "{a = 1}", '"sqlite://"', '"ftp://h"', "1979-05-27", '"65536"', '""']))


@st.composite
def config_files(draw) -> str:
    lines = [f"{draw(st.sampled_from(KEYS + ['web_prot', 'x']))} = {draw(toml_scalars)}"
             for _ in range(draw(st.integers(1, 4)))]
    if draw(st.integers(0, 9)) == 0:
        lines.append(draw(st.text(max_size=40)))  # anything at all
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=config_files())
def test_any_config_file_loads_or_names_the_problem_in_one_line(tmp_path: Path, text):
    path = tmp_path / "coovox.toml"
    path.write_text(text)
    try:
        load_config(path, environ={}, data_dir=str(tmp_path))
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip() and "Traceback" not in message
        assert any(key in message for key in KEYS + ["web_prot", "x", "TOML", str(path)]), \
            message

"""Asterisk dial patterns, table-driven."""

import pytest

from coovox.plugins.outbound.patterns import PatternError, compile_pattern, matches, validate

CASES = [
    # pattern, number, expected
    ("XX.", "123456", True),  # the manual's rule DialOut (§4.3.2)
    ("XX.", "12", False),  # '.' needs one or more after XX
    ("XX.", "123", True),
    (".", "123456", True),  # "only one rule: pattern '.'" (§4.3.2)
    (".", "", False),
    ("!", "", True),
    ("!", "42", True),
    ("12!", "12", True),
    ("12!", "1234", True),
    ("12.", "12", False),
    ("X", "0", True),
    ("X", "a", False),
    ("X", "10", False),
    ("Z", "0", False),
    ("Z", "1", True),
    ("N", "1", False),
    ("N", "2", True),
    ("N", "9", True),
    ("NXXXXXX", "2345678", True),
    ("NXXXXXX", "1345678", False),
    ("[1-5]", "3", True),
    ("[1-5]", "6", False),
    ("[135]", "3", True),
    ("[135]", "2", False),
    ("[13-5]X", "40", True),
    ("[13-5]X", "20", False),
    ("_9XX", "912", True),  # leading '_' ignored
    ("_9XX", "_912", False),
    ("x", "5", True),  # lower case classes as Asterisk accepts
    ("1800", "1800", True),
    ("1800", "18000", False),
    ("+X.", "+8613", True),
    ("*X", "*1", True),
    ("0X.", "0123", True),
    ("0X.", "1123", False),
]


@pytest.mark.parametrize(("pattern", "number", "expected"), CASES)
def test_pattern_matches(pattern, number, expected):
    assert matches(pattern, number) is expected


@pytest.mark.parametrize("pattern", ["", "_", "[12", "1]", "[]", "[5-1]"])
def test_malformed_patterns_are_named(pattern):
    with pytest.raises(PatternError):
        compile_pattern(pattern)
    assert validate(pattern)


def test_valid_pattern_has_no_message():
    assert validate("_NXX.") is None

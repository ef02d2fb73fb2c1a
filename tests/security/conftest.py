"""Security tests reuse the ARI double fixture of the call tests."""

from tests.calls.conftest import double  # noqa: F401

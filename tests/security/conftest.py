"""Security tests reuse the ARI double fixture of the call tests."""

from tests.calls.conftest import double  # noqa: F401
from tests.web.conftest import config, fast_password_hash, migrated_db  # noqa: F401, E402

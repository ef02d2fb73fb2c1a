"""Security tests reuse the ARI double fixture of the call tests."""

from tests.support.call_app import double  # noqa: F401
from tests.web.conftest import config, fast_password_hash, migrated_db  # noqa: F401, E402

"""``python -m tests.real.kit.coovox_main run``: exactly ``python -m coovox run``, except that
the call controller's waiting times may be shortened for tests through the environment.

``coovox run`` has no setting for them (the Dial timeout is 60 s); a test of "no answer"
cannot wait that long.  Variables (not ``COOVOX_*``: the product refuses unknown ones) (seconds): ``TEST_COOVOX_DIAL_TIMEOUT`` (the ARI Dial
``timeout``), ``TEST_COOVOX_DIAL_GRACE``, ``TEST_COOVOX_REFUSE_TONE_SECONDS``,
``TEST_COOVOX_PIN_TIMEOUT``, ``TEST_COOVOX_CAUSE_WAIT``.  Unset = the product's default.
"""

from __future__ import annotations

import os
import sys

from coovox.calls.stasis import CallController
from coovox.cli import main

SETTINGS = {"dial_timeout": "TEST_COOVOX_DIAL_TIMEOUT", "dial_grace": "TEST_COOVOX_DIAL_GRACE",
            "refuse_tone_seconds": "TEST_COOVOX_REFUSE_TONE_SECONDS",
            "pin_timeout": "TEST_COOVOX_PIN_TIMEOUT", "cause_wait": "TEST_COOVOX_CAUSE_WAIT"}


def apply_test_settings(environ: dict[str, str]) -> dict[str, float]:
    """Change the defaults of ``CallController(...)`` from ``environ``; returns the changes."""
    defaults = CallController.__init__.__kwdefaults__
    changed = {}
    for key, var in SETTINGS.items():
        if environ.get(var):
            kind = type(defaults[key])
            defaults[key] = changed[key] = kind(float(environ[var]))
    return changed


if __name__ == "__main__":
    apply_test_settings(dict(os.environ))
    sys.exit(main())

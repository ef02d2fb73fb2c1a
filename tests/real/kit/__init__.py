"""Test kit for CooVox against a real Asterisk 22 (PJSIP, ARI) with SIPp phones and carrier.

Reusable outside pytest (benchmarks): nothing here imports pytest fixtures.  See the
README section "Tests against a real Asterisk" and :mod:`tests.real.kit.stack`.
"""

from tests.real.kit import sipp
from tests.real.kit.ari import AriClient, Leg, Observer, Playback
from tests.real.kit.asterisk import (
    Asterisk,
    AsteriskConfig,
    KitError,
    asterisk_prefix,
    render_config,
    skip_requested,
)
from tests.real.kit.coovox import Api, CoovoxApp
from tests.real.kit.proxy import TcpProxy
from tests.real.kit.sipp import Carrier, Phone, SippResult, SippRun
from tests.real.kit.stack import RealStack

__all__ = ["Api", "AriClient", "Asterisk", "AsteriskConfig", "Carrier", "CoovoxApp",
           "KitError", "Leg", "Observer", "Phone", "Playback", "RealStack", "SippResult",
           "SippRun", "TcpProxy", "asterisk_prefix", "render_config", "sipp", "skip_requested"]

"""Free ports on 127.0.0.1 (TCP or UDP), chosen by the kernel."""

from __future__ import annotations

import random
import socket

HOST = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on right now (TCP by default, ``socket.SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    """A UDP port free for both UDP and TCP (SIPp may open either)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        try:
            with socket.socket() as s:
                s.bind((HOST, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free UDP port on 127.0.0.1")


def free_udp_range(size: int, low: int = 20000, high: int = 59000) -> int:
    """The first port of ``size`` consecutive UDP ports that are free now (for rtp.conf and
    SIPp media: random start, so that several test runs at once rarely meet)."""
    for _ in range(50):
        start = random.randrange(low, high - size) & ~1
        if all(_udp_free(p) for p in range(start, start + size, max(1, size // 16))):
            return start
    raise RuntimeError(f"no free range of {size} UDP ports on 127.0.0.1")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True

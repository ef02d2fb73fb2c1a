"""Pure reading of ARI events into call outcomes (see ../shared/ari/README.md "Field shapes").

* ``ChannelHangupRequest`` with ``soft: true`` carries Asterisk's soft-hangup flag
  (32 = explicit ARI DELETE, 16 = PBX thread ended), NOT a Q.850 cause: it is ignored as a
  cause.  Without ``soft`` the cause is Q.850.
  Flag 4 = Asterisk shutting down (``core stop now``): every channel gets one at once.
* ``ChannelDestroyed.cause`` is always Q.850.
* ``Dial.dialstatus``: ``""`` start, ``RINGING``, ``PROGRESS``, ``ANSWER``, ``BUSY``,
  ``CONGESTION`` (``NOANSWER`` never reaches the app: the dial timeout shows as the
  outbound channel destroyed with cause 19).
"""

from __future__ import annotations

from typing import Any

NORMAL = 16
USER_BUSY = 17
NO_ANSWER = 19
CALL_REJECTED = 21
CONGESTION = 34

SOFT_SHUTDOWN = 4  # AST_SOFTHANGUP_SHUTDOWN

ANSWERED = "answered"
STATUS_NO_ANSWER = "no answer"
BUSY = "busy"
FAILED = "failed"
REFUSED = "refused"
ACTIVE = "active"
END_STATUSES = (ANSWERED, STATUS_NO_ANSWER, BUSY, FAILED, REFUSED)

# What the trunk leg's end means while dialling: (status, try the next trunk?)
DIAL_OUTCOMES: dict[str, tuple[str, bool]] = {
    "BUSY": (BUSY, False),
    "CONGESTION": (FAILED, True),
    "CHANUNAVAIL": (FAILED, True),
    "NOANSWER": (STATUS_NO_ANSWER, False),
}
DIAL_CAUSES = {"BUSY": USER_BUSY, "CONGESTION": CONGESTION, "CHANUNAVAIL": CONGESTION,
               "NOANSWER": NO_ANSWER}


def q850_cause(event: dict[str, Any]) -> int | None:
    """The Q.850 cause an event carries, or None (soft hangup requests carry none)."""
    kind = event.get("type")
    cause = event.get("cause")
    if not isinstance(cause, int) or isinstance(cause, bool):
        return None
    if kind == "ChannelHangupRequest":
        return None if event.get("soft") else cause
    if kind == "ChannelDestroyed":
        return cause
    return None


def is_shutdown(event: dict[str, Any]) -> bool:
    """A hangup request because Asterisk is shutting down (soft, flag 4)."""
    cause = event.get("cause")
    return (event.get("type") == "ChannelHangupRequest" and bool(event.get("soft"))
            and isinstance(cause, int) and not isinstance(cause, bool)
            and bool(cause & SOFT_SHUTDOWN))


def outcome_of_cause(cause: int | None) -> tuple[str, bool]:
    """Status and "try the next trunk" for a trunk leg that ended before answering."""
    if cause == USER_BUSY:
        return BUSY, False
    if cause == NO_ANSWER or cause == 18:  # 18 no user responding
        return STATUS_NO_ANSWER, False
    if cause in (NORMAL, None):
        # the far end cleared without answering: treat as not answered, no failover
        return STATUS_NO_ANSWER, False
    return FAILED, True  # congestion (34), unallocated (1), rejected (21), ...


# Reasons a call record may carry (``Call.reason``): English words in the database and
# the API, translated on pages (every one has a zh_CN translation: tests/web).
CALLER_HUNG_UP = "caller hung up"
CALLEE_HUNG_UP = "callee hung up"
TRUNK_FAILED = "trunk failed"
TRUNK_FULL = "trunk full"
WRONG_PIN = "wrong PIN"
TIME_LIMIT = "time limit"
CAP_REACHED = "cap reached"
INTERNAL_ERROR = "internal error"
# answered calls nobody hung up: Asterisk was stopped under them, or both legs were gone
# when CooVox could look again (Asterisk lost, CooVox away)
ASTERISK_SHUTDOWN = "Asterisk shut down"
ENDED_WHILE_AWAY = "ended while away"
INTERRUPTED = "interrupted"
DB_UNAVAILABLE = "database unavailable"
NO_ROUTE = "no route"
UNKNOWN_EXTENSION = "unknown extension"
EXTENSION_DISABLED = "extension disabled"
HUNG_UP_BY_ADMIN = "hung up by administrator"  # from the live calls page
FAILURE_REASONS = {CONGESTION: "congestion", 1: "unallocated number",
                   CALL_REJECTED: "rejected", 38: "network out of order",
                   3: "no route to destination"}
REASONS: tuple[str, ...] = (
    CALLER_HUNG_UP, CALLEE_HUNG_UP, TRUNK_FAILED, TRUNK_FULL, WRONG_PIN, TIME_LIMIT,
    CAP_REACHED, INTERNAL_ERROR, ASTERISK_SHUTDOWN, ENDED_WHILE_AWAY, INTERRUPTED,
    DB_UNAVAILABLE, NO_ROUTE, UNKNOWN_EXTENSION, EXTENSION_DISABLED, HUNG_UP_BY_ADMIN,
    *FAILURE_REASONS.values(),
)


def reason_of(status: str, cause: int | None) -> str:
    """A short human reason for a failed attempt."""
    if status == FAILED:
        return FAILURE_REASONS.get(cause or 0, TRUNK_FAILED)
    return ""


def is_leg_gone(event: dict[str, Any]) -> bool:
    """True for the events that mean a channel is being hung up or has left the app."""
    return event.get("type") in ("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed")

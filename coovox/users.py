"""Users and API tokens: argon2 password hashes, hashed bearer tokens (no HTTP types).

Argon2 is deliberately slow (tens to hundreds of milliseconds of CPU per hash): every hash
and every check runs in :data:`HASH_POOL`, a small thread pool of its own with a bounded
queue, never on the event loop.  When the queue is full, :class:`PasswordHashBusy` is
raised at once (the web answers 429) instead of letting requests pile up.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import string
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coovox.hooktypes import ADMIN, BILLING
from coovox.messages import Field, Msg
from coovox.models import ApiToken, User, WebSession

_hasher = PasswordHasher()
TOKEN_PREFIX = "cvx_"
LAST_USED_STEP = 60  # seconds: "last used" is written at most once a minute per token
USERNAME_MAX = 64
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class UserError(ValueError):
    """A user operation was refused; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "", code: str = "invalid"):
        super().__init__(message)
        self.message = message  # a Msg or a msgid: shown translated on pages
        self.field = field
        self.code = code


class PasswordHashBusy(Exception):
    """Too many password hashes are running or waiting; try again in a moment."""


_T = TypeVar("_T")


HASH_NICE = 10  # added to the niceness of the argon2 threads


def default_workers() -> int:
    """One argon2 thread per CPU but one: a CPU stays for the calls' event loop."""
    return max(1, (os.cpu_count() or 2) - 1)


def lower_priority() -> None:
    """In a pool thread: lower this thread's CPU priority (Linux: per thread; the
    threads argon2 starts for its lanes inherit it), so a busy sign-in load never
    delays the event loop's thread, which then gets a CPU at once when it wakes."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)
    except (OSError, AttributeError):
        pass


class HashPool:
    """A dedicated pool of ``workers`` threads for argon2 with at most ``max_waiting``
    jobs queued behind the running ones; beyond that :meth:`run` refuses at once.

    A job counts as pending from submission until its thread finished it (a caller that
    gave up does not free its place early).
    """

    def __init__(self, workers: int | None = None, max_waiting: int = 8):
        self.workers = workers if workers is not None else default_workers()
        self.max_waiting = max_waiting
        self._pending = 0
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def pending(self) -> int:
        return self._pending

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers,
                                                    thread_name_prefix="coovox-argon2",
                                                    initializer=lower_priority)
            return self._executor

    async def run(self, fn: Callable[..., _T], *args: object) -> _T:
        executor = self._pool()
        with self._lock:
            if self._pending >= self.workers + self.max_waiting:
                raise PasswordHashBusy("too many password checks at once")
            self._pending += 1

        def job() -> _T:
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._pending -= 1

        try:
            future = executor.submit(job)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        return await asyncio.wrap_future(future)


HASH_POOL = HashPool()


def _hash_now(password: str) -> str:
    return _hasher.hash(password)


def _verify_now(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2 hash of ``password``, computed in :data:`HASH_POOL`."""
    return await HASH_POOL.run(_hash_now, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``, checked in :data:`HASH_POOL`."""
    return await HASH_POOL.run(_verify_now, password_hash, password)


def password_problem(password: str) -> str | None:
    """Why a password is too weak, or None. At least 8 characters of 3 kinds."""
    if len(password) < 8:
        return "must be at least 8 characters long"
    kinds = sum(
        any(c in group for c in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in password)
    if kinds < 3:
        return "must mix at least three of: lower case, upper case, digits, symbols"
    return None


def random_password(length: int = 10) -> str:
    """A random password that satisfies :func:`password_problem`."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(pw) is None:
            return pw


def valid_username(username: object) -> bool:
    """True when ``username`` could name a user (a lookup of anything else finds nobody,
    without asking the database: a 300-character name must not become a database error)."""
    return isinstance(username, str) and USERNAME_RE.fullmatch(username) is not None


def _no_user(username: object, field: str) -> UserError:
    """The error for a user that does not exist (or whose name cannot exist)."""
    from coovox.inputs import shown

    name = shown(username, USERNAME_MAX) if isinstance(username, str) else "?"
    return UserError(Msg("no user named %(name)s", name=name), field, "not_found")


async def create_user(username: str, password: str, role: str = ADMIN) -> User:
    if not valid_username(username):
        raise UserError("use letters, digits, '.', '_' or '-' (at most 64)", "username")
    problem = password_problem(password)
    if problem:
        raise UserError(Msg("%(field)s %(problem)s", field=Field("password"),
                            problem=Msg(problem)),
                        "password")
    if await User.filter(username=username).exists():
        raise UserError(Msg("user %(name)s already exists", name=repr(username)), "username",
                        "conflict")
    return await User.create(username=username, password_hash=await hash_password(password),
                             role=role)


async def set_password(username: str, password: str) -> None:
    """Change a password (strength checked); every web session of that user ends."""
    if not valid_username(username):
        raise _no_user(username, "username")
    problem = password_problem(password)
    if problem:
        raise UserError(Msg("%(field)s %(problem)s", field=Field("password"),
                            problem=Msg(problem)),
                        "password")
    user = await User.get_or_none(username=username)
    if user is None:
        raise _no_user(username, "username")
    new_hash = await hash_password(password)
    if not await User.filter(id=user.id).update(password_hash=new_hash):
        raise _no_user(username, "username")
    await end_sessions(user.id)


async def change_own_password(username: str, current: str, new: str) -> None:
    """A user changes their own password; the current one must be right."""
    user = await User.get_or_none(username=username)
    if user is None or not await verify_password(user.password_hash, current):
        raise UserError("the current password is wrong", "current_password")
    await set_password(username, new)


async def end_sessions(user_id: int) -> int:
    """End every web session of a user (the cookies stop working); returns how many."""
    return await WebSession.filter(user_id=user_id).delete()


BILLING_NAME_ALPHABET = string.ascii_lowercase + string.digits


async def create_billing_user(tries: int = 50, *, password: str = "",
                              role: str = BILLING) -> tuple[User, str]:
    """A billing user ``bill-xxx`` (3 random lower-case letters/digits) and its password.

    The password (10 characters unless given) is returned once and stored only hashed.
    """
    for _ in range(tries):
        name = "bill-" + "".join(secrets.choice(BILLING_NAME_ALPHABET) for _ in range(3))
        if not await User.filter(username=name).exists():
            password = password or random_password(10)
            return await create_user(name, password, role), password
    raise UserError("no free bill-xxx name found; delete unused billing users", "username",
                    "conflict")


async def create_account(username: str, password: str, role: str,
                         roles: set[str]) -> tuple[User, str, bool]:
    """An administrator creates a user of ``role`` (one of ``roles``, never an administrator:
    guide 001 §2.1).  An empty name is a generated ``bill-xxx``, an empty password a random
    one; returns the user, its password and whether the password was generated (then shown
    once)."""
    username = username.strip()
    if role not in roles or role == ADMIN:
        raise UserError(Msg("%(field)s: choose one of the roles offered", field=Field("role")),
                        "role")
    generated = not password
    if generated:
        password = random_password(10)
    else:
        problem = password_problem(password)
        if problem:  # before the name is taken: both fields are checked
            raise UserError(Msg("%(field)s %(problem)s", field=Field("password"),
                                problem=Msg(problem)), "password")
    if not username:
        user, password = await create_billing_user(password=password, role=role)
        return user, password, generated
    return await create_user(username, password, role), password, generated


async def delete_user(username: str) -> None:
    """Delete a user (and its tokens and sessions); ``admin`` cannot be deleted (manual
    §7.10.1)."""
    if username == "admin":
        raise UserError("the admin account cannot be deleted", "username", "forbidden")
    if not valid_username(username):
        raise _no_user(username, "username")
    user = await User.get_or_none(username=username)
    if user is None:
        raise _no_user(username, "username")
    await end_sessions(user.id)  # also cascades; said here for databases without foreign keys
    if not await User.filter(id=user.id).delete():
        raise _no_user(username, "username")


async def list_users() -> list[User]:
    return await User.all().order_by("username")


def user_dict(user: User) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role,
            "language": user.language or None,
            "created_at": user.created_at.isoformat() if user.created_at else None,
            "deletable": user.username != "admin"}


async def set_language(user_id: int, language: str) -> None:
    await User.filter(id=user_id).update(language=language)


async def has_users() -> bool:
    return await User.exists()


async def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right, else None (also for impossible names).

    Raises :class:`PasswordHashBusy` when too many checks are waiting already.
    """
    # a name that cannot exist is not looked up (the ORM would refuse a longer one)
    user = await User.get_or_none(username=username) if valid_username(username) else None
    if user is None:
        await verify_password(_dummy_hash(), password)  # same time whether the user exists
        return None
    return user if await verify_password(user.password_hash, password) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(username: str, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for a user; returns the row and the token (shown once)."""
    if not valid_username(username):
        raise _no_user(username, "user")
    user = await User.get_or_none(username=username)
    if user is None:
        raise _no_user(username, "user")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(user=user, name=name, token_hash=token_hash(token),
                                prefix=token[:10])
    return row, token


async def user_for_token(token: str) -> User | None:
    """The user of a valid (not revoked) token; records when it was last used."""
    row = await ApiToken.get_or_none(token_hash=token_hash(token), revoked=False).prefetch_related(
        "user")
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= LAST_USED_STEP:
        await ApiToken.filter(id=row.id).update(last_used_at=now)
    return row.user


async def list_tokens(include_revoked: bool = False) -> list[ApiToken]:
    query = ApiToken.all() if include_revoked else ApiToken.filter(revoked=False)
    return await query.order_by("-id").prefetch_related("user")


MAX_ID = 2**31 - 1  # the largest id an INT column holds


def token_id(text: str) -> int:
    """A token id from a path: ValueError unless ASCII digits (a number beyond the id
    column's range is returned as is: it names no token)."""
    if not re.fullmatch(r"[0-9]{1,30}", text):
        raise ValueError("must be a whole number")
    return int(text)


async def revoke_token(token_id: int) -> None:
    if not 1 <= token_id <= MAX_ID:
        raise UserError(Msg("no active token with id %(id)s", id=token_id), "id", "not_found")
    if not await ApiToken.filter(id=token_id, revoked=False).update(revoked=True):
        raise UserError(Msg("no active token with id %(id)s", id=token_id), "id", "not_found")


def token_dict(row: ApiToken) -> dict:
    return {"id": row.id, "user": row.user.username, "name": row.name, "prefix": row.prefix,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "revoked": row.revoked}


# The hash an unknown user's password is checked against, so that a sign-in takes as long
# whether the user exists or not. Kept as text (hashing it at import took 0.15 s and a
# 64 MB peak at every start); made again, once, if the library's parameters changed.
_DUMMY_TEXT = ("$argon2id$v=19$m=65536,t=3,p=4$DMzOlAM/MQoZ2HccdT2eUA$"
               "IWXYXyE+cEuSnV+t4bANjHpcCm2T8OOeEt69MU6n2jQ")
_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        text = _DUMMY_TEXT
        if _hasher.check_needs_rehash(text):
            text = _hasher.hash("not-a-real-password")
        _dummy.append(text)
    return _dummy[0]

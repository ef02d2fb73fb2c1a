"""Users and API tokens: argon2 password hashes, hashed bearer tokens (no HTTP types)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coovox.hooktypes import ADMIN
from coovox.models import ApiToken, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "cvx_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class UserError(ValueError):
    """A user operation was refused; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "", code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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


async def create_user(username: str, password: str, role: str = ADMIN) -> User:
    if not USERNAME_RE.match(username):
        raise UserError("use letters, digits, '.', '_' or '-' (at most 64)", "username")
    problem = password_problem(password)
    if problem:
        raise UserError(f"password {problem}", "password")
    if await User.filter(username=username).exists():
        raise UserError(f"user {username!r} already exists", "username", "conflict")
    return await User.create(username=username, password_hash=hash_password(password), role=role)


async def set_password(username: str, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise UserError(f"password {problem}", "password")
    if not await User.filter(username=username).update(password_hash=hash_password(password)):
        raise UserError(f"no user named {username!r}", "username", "not_found")


async def authenticate(username: str, password: str) -> User | None:
    user = await User.get_or_none(username=username)
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same time whether the user exists or not
        return None
    return user if verify_password(user.password_hash, password) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(username: str, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for a user; returns the row and the token (shown once)."""
    user = await User.get_or_none(username=username)
    if user is None:
        raise UserError(f"no user named {username!r}", "user", "not_found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ApiToken.create(user=user, name=name, token_hash=token_hash(token),
                                prefix=token[:10])
    return row, token


async def user_for_token(token: str) -> User | None:
    row = await ApiToken.get_or_none(token_hash=token_hash(token), revoked=False).prefetch_related(
        "user")
    return None if row is None else row.user


_DUMMY_HASH = _hasher.hash("not-a-real-password")

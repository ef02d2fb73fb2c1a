"""Users and API tokens: argon2 password hashes, hashed bearer tokens (no HTTP types)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coovox.hooktypes import ADMIN, BILLING
from coovox.models import ApiToken, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "cvx_"
LAST_USED_STEP = 60  # seconds: "last used" is written at most once a minute per token
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


def valid_username(username: object) -> bool:
    """True when ``username`` could name a user (a lookup of anything else finds nobody,
    without asking the database: a 300-character name must not become a database error)."""
    return isinstance(username, str) and USERNAME_RE.fullmatch(username) is not None


def _no_user(username: object, field: str) -> UserError:
    from coovox.inputs import shown

    name = shown(username, 64) if isinstance(username, str) else "?"
    return UserError(f"no user named {name}", field, "not_found")


async def create_user(username: str, password: str, role: str = ADMIN) -> User:
    if not valid_username(username):
        raise UserError("use letters, digits, '.', '_' or '-' (at most 64)", "username")
    problem = password_problem(password)
    if problem:
        raise UserError(f"password {problem}", "password")
    if await User.filter(username=username).exists():
        raise UserError(f"user {username!r} already exists", "username", "conflict")
    return await User.create(username=username, password_hash=hash_password(password), role=role)


async def set_password(username: str, password: str) -> None:
    """Change a password (strength checked); sessions of that user end (fingerprint changes)."""
    if not valid_username(username):
        raise _no_user(username, "username")
    problem = password_problem(password)
    if problem:
        raise UserError(f"password {problem}", "password")
    if not await User.filter(username=username).update(password_hash=hash_password(password)):
        raise UserError(f"no user named {username!r}", "username", "not_found")


async def change_own_password(username: str, current: str, new: str) -> None:
    """A user changes their own password; the current one must be right."""
    user = await User.get_or_none(username=username)
    if user is None or not verify_password(user.password_hash, current):
        raise UserError("the current password is wrong", "current_password")
    await set_password(username, new)


def session_fingerprint(password_hash: str) -> str:
    """A short digest of the password hash kept in the session: changes with the password."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


BILLING_NAME_ALPHABET = string.ascii_lowercase + string.digits


async def create_billing_user(tries: int = 50) -> tuple[User, str]:
    """A billing user ``bill-xxx`` (3 random lower-case letters/digits) and its password.

    The password (10 characters) is returned once and stored only hashed.
    """
    for _ in range(tries):
        name = "bill-" + "".join(secrets.choice(BILLING_NAME_ALPHABET) for _ in range(3))
        if not await User.filter(username=name).exists():
            password = random_password(10)
            return await create_user(name, password, BILLING), password
    raise UserError("no free bill-xxx name found; delete unused billing users", "username",
                    "conflict")


async def delete_user(username: str) -> None:
    """Delete a user (and its tokens); ``admin`` cannot be deleted (manual §7.10.1)."""
    if username == "admin":
        raise UserError("the admin account cannot be deleted", "username", "forbidden")
    if not valid_username(username):
        raise _no_user(username, "username")
    if not await User.filter(username=username).delete():
        raise UserError(f"no user named {username!r}", "username", "not_found")


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
    user = await User.get_or_none(username=username) if valid_username(username) else None
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same time whether the user exists or not
        return None
    return user if verify_password(user.password_hash, password) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(username: str, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for a user; returns the row and the token (shown once)."""
    if not valid_username(username):
        raise _no_user(username, "user")
    user = await User.get_or_none(username=username)
    if user is None:
        raise UserError(f"no user named {username!r}", "user", "not_found")
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
        raise UserError(f"no active token with id {token_id}", "id", "not_found")
    if not await ApiToken.filter(id=token_id, revoked=False).update(revoked=True):
        raise UserError(f"no active token with id {token_id}", "id", "not_found")


def token_dict(row: ApiToken) -> dict:
    return {"id": row.id, "user": row.user.username, "name": row.name, "prefix": row.prefix,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "revoked": row.revoked}


_DUMMY_HASH = _hasher.hash("not-a-real-password")

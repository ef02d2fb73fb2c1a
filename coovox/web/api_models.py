"""Request and response models of the core's API routes (users, tokens, sessions, web log,
plugins): they validate input and make the OpenAPI document (:mod:`coovox.web.schema`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from coovox.web.schema import ApiModel, Day, Listing, PlainText, list_query

_KINDS = ("[a-z]", "[A-Z]", "[0-9]", r"[\W_]")
# at least 8 characters mixing three of: lower case, upper case, digits, symbols
PASSWORD = "(?:" + "|".join("".join(f"(?=[\\s\\S]*{k})" for k in _KINDS if k != skip)
                            for skip in _KINDS) + r")[\s\S]{8,256}"
PASSWORD_DOC = ("at least 8 characters mixing three of: lower case, upper case, digits, "
                "symbols")
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Username = Annotated[str, Field(max_length=64, pattern=USERNAME)]


class User(ApiModel):
    id: int
    username: str
    role: str
    language: str | None
    created_at: str | None
    deletable: bool


class NewUser(User):
    password: str | None = Field(None, description="the generated password, shown once")


class UserCreate(ApiModel):
    model_config = ConfigDict(regex_engine="python-re")
    username: str = Field("", max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$",
                          description="empty: a generated bill-xxx")
    password: str = Field("", max_length=256, pattern=f"^(?:|{PASSWORD})$",
                          description="empty: a random one, shown once; else " + PASSWORD_DOC)
    role: str = Field("billing", max_length=32, pattern=r"^[a-z_]{1,32}$",
                      description="a role other than admin")


class PasswordChange(ApiModel):
    model_config = ConfigDict(regex_engine="python-re")
    password: str = Field(max_length=256, pattern=f"^{PASSWORD}$", description=PASSWORD_DOC)


class Token(ApiModel):
    id: int
    user: str
    name: str
    prefix: str
    created_at: str | None
    last_used_at: str | None
    revoked: bool


class NewToken(Token):
    token: str = Field(description="the token, shown once")


class TokenCreate(ApiModel):
    user: Username = Field(description="the user the token acts as")
    name: Annotated[PlainText, Field(max_length=64)] = ""


class Session(ApiModel):
    id: int
    created_at: str
    last_seen_at: str
    ip: str
    user_agent: str
    current: bool


class Sessions(ApiModel):
    items: list[Session]
    total: int


class WeblogSettings(ApiModel):
    retention_days: int = Field(ge=1, le=3650, description="days the web log keeps its rows")


class WeblogSettingsPatch(ApiModel):
    retention_days: int = Field(None, ge=1, le=3650)


class WeblogEntry(ApiModel):
    id: int
    at: str
    ip: str
    user: str
    role: str
    action: str
    result: str
    details: Any


class Plugin(ApiModel):
    name: str
    version: str
    builtin: bool
    essential: bool
    enabled: bool
    description: str


class PluginPatch(ApiModel):
    enabled: bool


def user_create(roles: list[str]) -> type:
    """The body of ``POST /api/v1/users``: ``role`` one of the roles offered."""
    if not roles:
        return UserCreate
    from typing import Literal

    from pydantic import create_model

    default = "billing" if "billing" in roles else roles[0]
    return create_model("UserCreate", __base__=UserCreate, role=(
        Literal[tuple(roles)], Field(default, description="a role other than admin")))


def users_query(spec):
    return list_query("UsersQuery", spec)


def tokens_query(spec):
    return list_query("TokensQuery", spec)


def weblog_query(spec):
    return list_query("WeblogQuery", spec, **{"from": (Day | None, None), "to": (Day | None, None)})


class UserList(Listing[User]):
    pass


class TokenList(Listing[Token]):
    pass


class WeblogList(Listing[WeblogEntry]):
    pass


class PluginList(Listing[Plugin]):
    pass

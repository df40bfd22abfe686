"""Runtime settings of the service and the CLI: one pydantic-settings model, read once from the environment.

Every field but those in NOT_FROM_ENVIRONMENT is a KBGEN_<NAME> variable (two keep older,
shorter names: see `env_name`), documented in README.md's Configuration table; the docs test
reads the names from this model. Every setting has a default that works for `make run` on a
laptop; production overrides them. A value that cannot be used stops the start with the
variable's name and what to set (SettingsError).

`Settings(...)` with keywords takes exactly what it is given (tests build one per temporary
project); `Settings.from_env(project_dir, env=...)` reads a mapping (os.environ by default).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

PREFIX = "KBGEN_"
NOT_FROM_ENVIRONMENT = ("project_dir", "public_url_configured")  # an argument, and what from_env derives

SQLITE_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}  # KBGEN_SQLITE_SYNCHRONOUS: its PRAGMA (kbgen/db.py)

# The words for yes and no, in any case: settings, form checkboxes, consents and query parameters
# all accept these, and the forms' JSON Schema lists them.
YES: tuple[str, ...] = ("true", "on", "yes", "1")
NO: tuple[str, ...] = ("false", "off", "no", "0", "")


def yes_or_no(value: Any) -> bool | None:
    """True or False for a bool or one of the words in YES and NO; None for anything else."""
    if isinstance(value, bool):
        return value
    word = str(value if value is not None else "").strip().lower()
    return True if word in YES else False if word in NO else None


def sqlite_synchronous_mode(value: Any) -> str:
    mode = str(value).strip().lower()
    if mode not in SQLITE_SYNCHRONOUS:
        raise ValueError("set it to full (the default: every acknowledged commit survives a power loss) or "
                         "normal (faster; a power loss can lose the last commits)")
    return mode


class SettingsError(ValueError):
    """A KBGEN_* variable holds a value kbgen cannot use; the message names it and what to set."""


def _env(name: str, field_name: str) -> AliasChoices:
    """A field read from KBGEN_<name>, not from KBGEN_<FIELD NAME>; keywords still use the field's name."""
    return AliasChoices(field_name, PREFIX + name)


class _DefaultsOnTheClass(type(BaseSettings)):
    """`Settings.max_attachments` is the default, as it was when Settings was a dataclass: pages and
    forms show the defaults without building settings."""

    def __getattr__(cls, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            field = cls.__dict__.get("__pydantic_fields__", {}).get(name)
            if field is None or field.is_required() or field.default_factory is not None:
                raise
            return field.default


class Settings(BaseSettings, metaclass=_DefaultsOnTheClass):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, populate_by_name=True,
                                      extra="forbid")

    project_dir: Path
    site_dir: Path
    index_dir: Path
    data_dir: Path
    forms_dir: Path
    content_dir: Path
    database_url: str
    smtp_url: str | None = None
    mail_from: str = "support-portal@localhost"
    support_team_email: str = Field("support@localhost", validation_alias=_env("SUPPORT_EMAIL", "support_team_email"))
    public_url: str = "http://127.0.0.1:8000"
    public_url_configured: bool = False  # KBGEN_PUBLIC_URL was set: the only own origin; else Host (local development)
    secret_key: str = Field(default_factory=lambda: secrets.token_hex(32))
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()  # comma-separated in the environment
    cookie_secure: bool = False
    reopen_days: int = 14
    auto_close_days: int = 14  # a Resolved request closes by itself after this many days without an answer; 0: never
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 5
    max_body_bytes: int = 60 * 1024 * 1024
    login_attempts_per_window: int = Field(5, validation_alias=_env("LOGIN_ATTEMPTS", "login_attempts_per_window"))
    login_window_seconds: int = 300
    login_attempts_per_address: int = 50  # failed sign-ins per client address: one office shares an address
    # argon2 checks at once per process: 64 MiB each, and each already runs 4 threads, so 1 keeps 2 cores
    # busy (measured: 2.4 checks/s with 1 or 2 at once); raise it on machines with more cores.
    password_hash_concurrency: int = 1
    password_hash_wait_seconds: float = 2.0  # how long a sign-in waits for a free check, then 503
    sqlite_synchronous: str = "full"  # "normal": faster commits that a power loss can undo (kbgen/db.py)
    invitation_days: int = 7  # how long an invitation's link works
    reset_link_minutes: int = 60  # how long a password reset link works
    verification_hours: int = 24  # how long a sign-up's address check link works
    # Password reset and sign-up emails asked for per address (email) and per client address, per hour.
    account_emails_per_hour: int = 3
    account_emails_per_client_per_hour: int = 20
    # Quieter email (kbgen/mail/bursts.py): a follower's updates within this many seconds become one email;
    # 0 sends each at once.
    notify_burst_seconds: int = Field(120, ge=0, le=86400)
    # Live updates (server-sent events, kbgen/web/live.py): open streams per worker process, and per person.
    live_max_streams: int = Field(1000, ge=1)
    live_max_streams_per_user: int = Field(10, ge=1)

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("cookie_secure", mode="before")
    @classmethod
    def _yes_or_no(cls, value: Any) -> bool:
        answer = yes_or_no(value)
        if answer is None:
            raise ValueError(f"use {' or '.join(YES)} to turn it on, {' or '.join(w for w in NO if w)} to turn it off")
        return answer

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _sqlite_synchronous(cls, value: Any) -> str:
        return sqlite_synchronous_mode(value)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_others):
        return (init_settings,)  # keywords only: from_env reads the environment it is given

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @classmethod
    def environment_variables(cls) -> dict[str, str]:
        """Every variable the settings read, with its field: what README.md's Configuration table documents."""
        return {env_name(name): name for name in cls.model_fields if name not in NOT_FROM_ENVIRONMENT}

    @classmethod
    def from_env(cls, project_dir: Path | str = ".", env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        project = Path(project_dir).resolve()
        values = _Environment(cls, env)()
        values = {_field_name(key): value for key, value in values.items()}
        for name in ("site_dir", "index_dir", "data_dir", "forms_dir", "content_dir"):
            if values.get(name):
                values[name] = Path(values[name]).resolve()
        data_dir = values.setdefault("data_dir", project / ".kbgen" / "data")
        values.setdefault("site_dir", project / "site")
        values.setdefault("index_dir", default_index_dir(project, env))
        values.setdefault("forms_dir", project / "forms")
        values.setdefault("content_dir", project / "content")
        values.setdefault("database_url", f"sqlite:///{data_dir / 'kbgen.db'}")
        values["public_url_configured"] = bool(str(values.get("public_url", "")).strip())
        try:
            settings = cls(project_dir=project, **values)
        except ValidationError as exc:
            raise SettingsError("; ".join(_explain(error) for error in exc.errors())) from None
        if not values.get("secret_key"):  # only once the rest is valid: this writes a file
            settings.secret_key = _local_secret(data_dir)
        return settings


def env_name(field_name: str) -> str:
    """The environment variable a field is read from."""
    alias = Settings.model_fields[field_name].validation_alias
    names = [a for a in getattr(alias, "choices", ()) if isinstance(a, str) and a.startswith(PREFIX)]
    return names[0] if names else PREFIX + field_name.upper()


def _field_name(key: str) -> str:
    """The field a source key belongs to (the source gives an aliased field under the variable's name)."""
    fields = {env_name(name).lower(): name for name in Settings.model_fields}
    return fields.get(key.lower(), key)


def _explain(error: dict) -> str:
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = env_name(field) if field in Settings.model_fields else field
    reason = error["msg"].removeprefix("Value error, ")
    return f"{name} is {error.get('input')!r}: {reason}"


class _Environment(EnvSettingsSource):
    """pydantic-settings' reading of KBGEN_* variables, from a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[Settings], env: Mapping[str, str]) -> None:
        self._given = {k: v for k, v in env.items() if k.upper().startswith(PREFIX)}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in super().__call__().items()
                if _field_name(key) not in NOT_FROM_ENVIRONMENT}


def default_index_dir(project_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """Where `kbgen build` writes the search index and `kbgen serve` reads it: beside the site, not in it."""
    env = os.environ if env is None else env
    if env.get("KBGEN_INDEX_DIR"):
        return Path(env["KBGEN_INDEX_DIR"]).resolve()
    return Path(project_dir).resolve() / ".kbgen" / "index"


def _local_secret(data_dir: Path) -> str:
    """A per-installation secret kept in the data folder, so sessions survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_file = data_dir / "secret_key"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()

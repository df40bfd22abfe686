"""Runtime settings of the service and the CLI, read once from the environment.

Every setting has a default that works for `make run` on a laptop; production
overrides them with KBGEN_* environment variables (documented in README.md).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    project_dir: Path
    site_dir: Path
    index_dir: Path
    data_dir: Path
    forms_dir: Path
    content_dir: Path
    database_url: str
    smtp_url: str | None = None
    mail_from: str = "support-portal@localhost"
    support_team_email: str = "support@localhost"
    public_url: str = "http://127.0.0.1:8000"
    public_url_configured: bool = False  # KBGEN_PUBLIC_URL was set: the only own origin; else Host (local development)
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    allowed_origins: tuple[str, ...] = ()
    cookie_secure: bool = False
    reopen_days: int = 14
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 5
    max_body_bytes: int = 60 * 1024 * 1024
    login_attempts_per_window: int = 5
    login_window_seconds: int = 300
    login_attempts_per_address: int = 50  # failed sign-ins per client address: one office shares an address
    # argon2 checks at once per process: 64 MiB each, and each already runs 4 threads, so 1 keeps 2 cores
    # busy (measured: 2.4 checks/s with 1 or 2 at once); raise it on machines with more cores.
    password_hash_concurrency: int = 1
    password_hash_wait_seconds: float = 2.0  # how long a sign-in waits for a free check, then 503
    sqlite_synchronous: str = "full"  # "normal": faster commits that a power loss can undo (kbgen/db.py)

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @classmethod
    def from_env(cls, project_dir: Path | str = ".", env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        project = Path(project_dir).resolve()

        def path(name: str, default: Path) -> Path:
            return Path(env[name]).resolve() if env.get(name) else default

        data_dir = path("KBGEN_DATA_DIR", project / ".kbgen" / "data")
        secret = env.get("KBGEN_SECRET_KEY") or _local_secret(data_dir)
        origins = tuple(o.strip().rstrip("/") for o in env.get("KBGEN_ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            project_dir=project,
            site_dir=path("KBGEN_SITE_DIR", project / "site"),
            index_dir=default_index_dir(project, env),
            data_dir=data_dir,
            forms_dir=path("KBGEN_FORMS_DIR", project / "forms"),
            content_dir=path("KBGEN_CONTENT_DIR", project / "content"),
            database_url=env.get("KBGEN_DATABASE_URL") or f"sqlite:///{data_dir / 'kbgen.db'}",
            smtp_url=env.get("KBGEN_SMTP_URL") or None,
            mail_from=env.get("KBGEN_MAIL_FROM", cls.mail_from),
            support_team_email=env.get("KBGEN_SUPPORT_EMAIL", cls.support_team_email),
            public_url=env.get("KBGEN_PUBLIC_URL", cls.public_url).rstrip("/"),
            public_url_configured=bool(env.get("KBGEN_PUBLIC_URL", "").strip()),
            secret_key=secret,
            allowed_origins=origins,
            cookie_secure=env.get("KBGEN_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
            reopen_days=int(env.get("KBGEN_REOPEN_DAYS", cls.reopen_days)),
            max_attachment_bytes=int(env.get("KBGEN_MAX_ATTACHMENT_BYTES", cls.max_attachment_bytes)),
            max_attachments=int(env.get("KBGEN_MAX_ATTACHMENTS", cls.max_attachments)),
            max_body_bytes=int(env.get("KBGEN_MAX_BODY_BYTES", cls.max_body_bytes)),
            login_attempts_per_window=int(env.get("KBGEN_LOGIN_ATTEMPTS", cls.login_attempts_per_window)),
            login_window_seconds=int(env.get("KBGEN_LOGIN_WINDOW_SECONDS", cls.login_window_seconds)),
            login_attempts_per_address=int(env.get("KBGEN_LOGIN_ATTEMPTS_PER_ADDRESS",
                                                   cls.login_attempts_per_address)),
            password_hash_concurrency=int(env.get("KBGEN_PASSWORD_HASH_CONCURRENCY",
                                                  cls.password_hash_concurrency)),
            password_hash_wait_seconds=float(env.get("KBGEN_PASSWORD_HASH_WAIT_SECONDS",
                                                     cls.password_hash_wait_seconds)),
            sqlite_synchronous=env.get("KBGEN_SQLITE_SYNCHRONOUS") or cls.sqlite_synchronous,
        )


def default_index_dir(project_dir: Path, env: dict[str, str] | None = None) -> Path:
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

"""Forgot password: an emailed link to choose a new one, which then signs the account out everywhere.

`request_reset` answers nothing: the page says the same whether or not the address has an account,
and past the hourly limits (kbgen/accounts/mail_limits.py) it quietly sends nothing. `complete_reset`
sets the new password from a valid link and ends every session of the account; the HTTP route then
opens a fresh one for the browser that did it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kbgen.accounts import audit, mail_limits, tokens
from kbgen.accounts.models import AccountError, AccountToken, User
from kbgen.accounts.passwords import check_new_password, hash_password
from kbgen.accounts.people import find_user
from kbgen.accounts.sessions import end_sessions
from kbgen.mail import account_mail
from kbgen.settings import Settings


def request_reset(db: Session, settings: Settings, email: str, *, client: str | None) -> None:
    """Email a reset link to an active account with this address, within the hourly limits; else nothing."""
    user = find_user(db, email)
    if user is None or not user.can_sign_in:
        return  # a deactivated account, or one awaiting approval, gets no link either: it could not sign in
    if not mail_limits.may_send(db, settings, email=user.email, client=client):
        return
    tokens.revoke_open(db, tokens.RESET, user_id=user.id)
    token, row = tokens.issue(db, tokens.RESET, email=user.email, user_id=user.id,
                              lifetime=dt.timedelta(minutes=settings.reset_link_minutes))
    account_mail.queue_account_email(
        db, settings, "password_reset", to_email=user.email, to_name=user.name,
        link=account_mail.link(settings, "reset_password", token=token),
        minutes=settings.reset_link_minutes, expires=account_mail.moment(row.expires_at))
    audit.record(db, "password.reset_requested", actor=None, target=user.email, organization=user.organization_id,
                 client=client)


def refusal(row: AccountToken | None, now: dt.datetime | None = None) -> str | None:
    """Why this reset link cannot be used ("unknown", "used", "revoked", "expired"), or None."""
    return "unknown" if row is not None and row.user_id is None else tokens.refusal(row, tokens.RESET, now)


def complete_reset(db: Session, token_row: AccountToken, *, password: str, client: str | None,
                   keep_token: str | None = None) -> User:
    """Set the account's new password (check_new_password), use up the link, end every session of the
    account (but `keep_token`'s), and record password.reset_completed."""
    state = refusal(token_row)
    if state is not None:
        raise AccountError(f"link: this password reset link is {state}; ask for a new one")
    user = db.get(User, token_row.user_id)
    if user is None or user.email != token_row.email:
        raise AccountError("link: this password reset link is for an account that changed since; ask for a new one")
    if not user.can_sign_in:
        raise AccountError("link: this account cannot sign in (deactivated or awaiting approval); "
                           "ask your organization's administrator or the support team")
    check_new_password(password, email=user.email, name=user.name)
    password_hash = hash_password(password)  # before the first write: no lock is held while argon2 runs
    if not tokens.use(db, token_row):
        raise AccountError("link: this password reset link was just used; ask for a new one")
    user.password_hash = password_hash
    tokens.revoke_open(db, tokens.RESET, user_id=user.id)  # any other link sent before stops working too
    ended = end_sessions(db, user.id, keep_token=keep_token)
    audit.record(db, "password.reset_completed", actor=user, target=user.email, organization=user.organization_id,
                 client=client, sessions_ended=ended)
    return user

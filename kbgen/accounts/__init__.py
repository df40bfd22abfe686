"""Accounts: organizations, their users, sign-in sessions and the sign-in rate limit.

  roles.py         Role (customer, partner, agent, admin) and what each may do: the one definition
  models.py        the tables (Organization, OrganizationDomain, User, Membership, AccountToken,
                   LoginSession, LoginFailure) and their limits
  passwords.py     argon2 hashing and checks that cost the same whoever asks
  people.py        adding, finding and listing organizations and users; signing in with a password
  sessions.py      sign-in sessions (cookie token hashes, CSRF tokens, expiry)
  login_limits.py  the sign-in rate limit and trusted-device cookies
  memberships.py   partners in several organizations (add_membership, remove_membership)
  tokens.py        single-use links sent by email (invitations, password resets, sign-up checks)
  invitations.py   inviting people into an organization with a role; accepting, re-sending, revoking
  recovery.py      "Forgot your password?": the reset link and setting the new password
  signup.py        sign-up by an organization's email domain, the address check, an admin's approval
  mail_limits.py   how many account emails an address and a client may cause per hour
  admin.py         what the admin pages do: organizations, domains, roles, moves, deactivation, sessions
  audit.py         the audit log of account actions (AuditEvent, record, the actions' labels)

Plain functions over a SQLAlchemy session (`db`); the caller owns the transaction
(`with sessionmaker.begin() as db: ...`), so the CLI, the HTTP layer and the tests
share one definition of who may sign in and for how long. Everything that must hold
across service replicas (sessions, failed sign-ins) is in the database, never in
process memory. Import from here: `from kbgen.accounts import User, add_user, ...`.
"""
from __future__ import annotations

from kbgen.accounts.login_limits import (DEVICE_COOKIE, DEVICE_LIFETIME, Attempt, RateLimit, accept_attempt,
                                         cancel_attempt, forget_failures, login_keys, purge, recent_failures,
                                         record_failure, remember_device, reserve_attempt, retry_after,
                                         trusted_device)
from kbgen.accounts import audit, tokens
from kbgen.accounts.audit import AuditEvent
from kbgen.accounts.memberships import add_membership, remove_membership
from kbgen.accounts.models import (MAX_DOMAIN, MAX_EMAIL, MAX_NAME, SESSION_IDLE, SESSION_LIFETIME, AccountError,
                                   AccountToken, LoginFailure, LoginSession, Membership, Organization,
                                   OrganizationDomain, User)
from kbgen.accounts.passwords import (MAX_PASSWORD, MIN_PASSWORD, check_new_password, check_password, hash_password,
                                      password_matches, rehashed)
from kbgen.accounts.people import (add_organization, add_user, authenticate, find_organization, find_user,
                                   list_organizations, list_users, normalize_email, set_password, sign_in_refusal,
                                   signed_in)
from kbgen.accounts.roles import ADMIN_ROLES, ROLES, SUPPORT_ROLES, Role, role_of
from kbgen.accounts.sessions import (CSRF_COOKIE, SESSION_COOKIE, _digest, close_session, end_sessions, find_session,
                                     open_session, session_csrf_token)
from kbgen.db import utcnow  # kept importable here: timestamps were defined in this module once

__all__ = [
    "ADMIN_ROLES", "MAX_DOMAIN", "AccountToken", "AuditEvent", "Membership", "OrganizationDomain", "audit",
    "add_membership", "remove_membership", "check_new_password", "end_sessions", "sign_in_refusal", "tokens",
    "CSRF_COOKIE", "DEVICE_COOKIE", "DEVICE_LIFETIME", "MAX_EMAIL", "MAX_NAME", "MAX_PASSWORD", "MIN_PASSWORD",
    "ROLES", "SESSION_COOKIE", "SESSION_IDLE", "SESSION_LIFETIME", "SUPPORT_ROLES", "AccountError", "Attempt",
    "LoginFailure", "LoginSession", "Organization", "RateLimit", "Role", "User", "_digest", "accept_attempt",
    "add_organization", "add_user", "authenticate", "cancel_attempt", "check_password", "close_session",
    "find_organization", "find_session", "find_user", "forget_failures", "hash_password", "list_organizations",
    "list_users", "login_keys", "normalize_email", "open_session", "password_matches", "purge", "recent_failures",
    "record_failure", "rehashed", "remember_device", "reserve_attempt", "retry_after", "role_of",
    "session_csrf_token", "set_password", "signed_in", "trusted_device", "utcnow",
]

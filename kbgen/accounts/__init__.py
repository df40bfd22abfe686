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
  cookies.py       the cookies' names; refusals.py: what sign-in says to whom it turns away

Plain functions over a SQLAlchemy session (`db`); the caller owns the transaction
(`with sessionmaker.begin() as db: ...`), so the CLI, the HTTP layer and the tests
share one definition of who may sign in and for how long. Everything that must hold
across service replicas (sessions, failed sign-ins) is in the database, never in
process memory. Import from here: `from kbgen.accounts import User, add_user, ...`; each module is
imported when one of its names is first used (kbgen/exports.py), so reading ROLES loads no database.
"""
from __future__ import annotations

from kbgen.exports import lazy

__getattr__ = lazy(__name__, globals(), {
    "login_limits": "DEVICE_LIFETIME Attempt RateLimit accept_attempt cancel_attempt forget_failures login_keys purge "
                    "recent_failures record_failure remember_device reserve_attempt retry_after trusted_device",
    "audit": "AuditEvent",
    "memberships": "add_membership remove_membership",
    "models": "MAX_DOMAIN MAX_EMAIL MAX_NAME SESSION_IDLE SESSION_LIFETIME AccountError AccountToken LoginFailure "
              "LoginSession Membership Organization OrganizationDomain User utcnow",
    "passwords": "MAX_PASSWORD MIN_PASSWORD check_new_password check_password hash_password password_matches rehashed",
    "people": "add_organization add_user authenticate find_organization find_user list_organizations list_users "
              "normalize_email set_password sign_in_refusal signed_in",
    "roles": "ADMIN_ROLES ROLES SUPPORT_ROLES Role role_of",
    "cookies": "CSRF_COOKIE DEVICE_COOKIE SESSION_COOKIE",
    "sessions": "_digest close_session end_sessions find_session open_session session_csrf_token",
})

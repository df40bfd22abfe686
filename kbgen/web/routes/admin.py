"""The admin pages (/admin/): organizations, users, invitations and the audit log, for the admin role.

Every page is HTML from a template under kbgen/theme/service/admin/, and every action is a plain
form post to the page itself with a button naming it (`action=deactivate`), so it all works
without JavaScript. A done action answers 303 back to the page with `?done=<code>` (its message is
in DONE, the one place); a refused one shows the page again, with the message and what was typed,
and changes nothing. The work is kbgen.accounts.admin's (and the invitations', sign-ups' and
memberships' modules); this only reads forms and picks templates.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kbgen.accounts import SESSION_COOKIE, AccountError, Organization, User, audit
from kbgen.accounts import admin as accounts_admin
from kbgen.accounts import invitations as invitation_links
from kbgen.accounts import memberships, signup
from kbgen.accounts.roles import role_of
from kbgen.db import utcnow
from kbgen.facts import SERVICE_PAGES, service_page
from kbgen.settings import Settings
from kbgen.tickets import MAX_ID
from kbgen.web import bodies
from kbgen.web.deps import AdminUser, SessionDep, SettingsDep
from kbgen.web.errors import ApiError
from kbgen.web.pages import PageAnswer, portal_page

router = APIRouter(include_in_schema=False)

TABS = (("Organizations", "admin_organizations"), ("Users", "admin_users"), ("Invitations", "admin_invitations"),
        ("Audit log", "admin_audit"))
AUDIT_PAGE = 50
MAX_FORM_FIELD = 8 * 1024  # the longest thing an admin form takes is an email or a name; refuse more at once
Id = Path(ge=1, le=MAX_ID)

# ?done=<code>: what the page says after an action succeeded.
DONE = {
    "org_created": "Organization created.",
    "org_renamed": "Organization renamed.",
    "domain_added": "Domain added.",
    "domain_removed": "Domain removed.",
    "sign_up_changed": "Sign-up by domain changed.",
    "org_deactivated": "Organization deactivated: its people are signed out and cannot sign in.",
    "org_reactivated": "Organization reactivated: its people can sign in again.",
    "invited": "Invitation sent.",
    "resent": "Invitation sent again.",
    "revoked": "Invitation revoked.",
    "role_changed": "Role changed.",
    "moved": "Moved to the other organization.",
    "deactivated": "Deactivated: signed out everywhere, and cannot sign in until reactivated.",
    "reactivated": "Reactivated: they can sign in again.",
    "sessions_ended": "Signed out everywhere.",
    "approved": "Sign-up approved.",
    "membership_added": "Added to the organization.",
    "membership_removed": "Removed from the organization.",
}


def _route(name: str) -> str:
    """The route's path pattern from its one address in kbgen.facts.SERVICE_PAGES."""
    return SERVICE_PAGES[name].split("?")[0]


def _tabs(current: str) -> list[tuple[str, str, bool]]:
    return [(label, service_page(name), name == current) for label, name in TABS]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _done(request: Request) -> list[tuple[str, str]]:
    text = DONE.get(request.query_params.get("done", ""))
    return [("ok", text)] if text else []


def _back(name: str, code: str, **parts: object) -> RedirectResponse:
    return RedirectResponse(f"{service_page(name, **parts)}?done={code}", status_code=303,
                            headers={"Cache-Control": "no-store"})


def _id(text: str) -> int | None:
    """A whole number that can be an id, from a form or query value; None for anything else."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and text.isascii() and len(text) <= 10 and 1 <= int(text) <= MAX_ID else None


async def _form(request: Request) -> dict[str, str]:
    """The admin form's fields as text, each sent at most once."""
    form = await bodies.read_form(request, max_files=0, max_fields=20, max_part_size=MAX_FORM_FIELD)
    try:
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if name in fields:
                raise ApiError.on_field(422, name, "is sent more than once; send each field once, as the page does")
            if not isinstance(value, str):
                raise ApiError.on_field(422, name, "is a file; the admin pages take no files")
            fields[name] = value
        return fields
    finally:
        await form.close()


# Read before the route runs (in the event loop); the route itself then runs in a worker thread.
AdminForm = Annotated[dict[str, str], Depends(_form)]


def _not_found(request: Request, admin: User, what: str, back: str) -> PageAnswer:
    return PageAnswer(portal_page(request, "admin/not_found.html", f"No such {what}", status=404, viewer=admin,
                                  tabs=_tabs(back), back=service_page(back), what=what))


def _organization(request: Request, db: Session, admin: User, org_id: int | None) -> Organization:
    org = db.get(Organization, org_id) if org_id is not None else None
    if org is None:
        raise _not_found(request, admin, "organization", "admin_organizations")
    return org


def _user(request: Request, db: Session, admin: User, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise _not_found(request, admin, "user", "admin_users")
    return user


def _run(db: Session, request: Request, action: Callable[[], str], again: Callable[[str], Response]) -> Response:
    """Do `action` (returns the redirect), committing; on a refusal roll back and show the page again."""
    try:
        answer = action()
        db.commit()
        return answer
    except AccountError as exc:
        db.rollback()
        return again(str(exc))


def _unknown_action(action: str) -> str:
    shown = action if len(action) <= 40 else action[:39] + "…"
    raise AccountError(f"action: {shown!r} is not something this page does; use its buttons")


def _organization_choices(db: Session) -> list[Organization]:
    return list(db.scalars(select(Organization).order_by(Organization.name)))


# -- overview ---------------------------------------------------------------------------------------

@router.get(_route("admin_home"))
def home(admin: AdminUser) -> Response:
    return RedirectResponse(service_page("admin_organizations"), status_code=303)


# -- organizations ----------------------------------------------------------------------------------

def _organizations_page(request: Request, db: Session, admin: User, *, status: int = 200, error: str = "",
                        typed: dict[str, str] | None = None) -> Response:
    return portal_page(request, "admin/organizations.html", "Organizations", status=status, viewer=admin,
                       tabs=_tabs("admin_organizations"),
                       messages=[("error", error)] if error else _done(request),
                       organizations=accounts_admin.organizations(db), typed=typed or {})


@router.get(_route("admin_organizations"))
def organizations(request: Request, admin: AdminUser, db: SessionDep) -> Response:
    return _organizations_page(request, db, admin)


@router.post(_route("admin_organizations"))
def organizations_post(request: Request, admin: AdminUser, form: AdminForm, db: SessionDep) -> Response:

    def act() -> Response:
        if form.get("action", "create") != "create":
            _unknown_action(form["action"])
        org = accounts_admin.create_organization(db, form.get("name", ""), by=admin, client=_client(request))
        return _back("admin_organization", "org_created", id=org.id)

    return _run(db, request, act, lambda error: _organizations_page(request, db, admin, status=400, error=error,
                                                                     typed=form))


def _organization_page(request: Request, db: Session, admin: User, org: Organization, *, status: int = 200,
                       error: str = "", typed: dict[str, str] | None = None) -> Response:
    return portal_page(request, "admin/organization.html", org.name, status=status, viewer=admin,
                       tabs=_tabs("admin_organizations"), messages=[("error", error)] if error else _done(request),
                       org=org, members=accounts_admin.members(db, org), states=accounts_admin.USER_STATES,
                       state_of=accounts_admin.user_state, role_of=role_of,
                       invitations=invitation_links.open_invitations(db, organization_id=org.id),
                       now=utcnow(), typed=typed or {})


@router.get(_route("admin_organization"))
def organization(request: Request, admin: AdminUser, db: SessionDep, id: int = Id) -> Response:
    return _organization_page(request, db, admin, _organization(request, db, admin, id))


@router.post(_route("admin_organization"))
def organization_post(request: Request, admin: AdminUser, form: AdminForm, db: SessionDep, settings: SettingsDep,
                      id: int = Id) -> Response:
    org = _organization(request, db, admin, id)
    client = _client(request)

    def act() -> Response:
        action = form.get("action", "")
        if action == "rename":
            accounts_admin.rename_organization(db, org, form.get("name", ""), by=admin, client=client)
            code = "org_renamed"
        elif action == "add_domain":
            accounts_admin.add_domain(db, org, form.get("domain", ""), by=admin, client=client)
            code = "domain_added"
        elif action == "remove_domain":
            accounts_admin.remove_domain(db, org, form.get("domain", ""), by=admin, client=client)
            code = "domain_removed"
        elif action == "sign_up":
            accounts_admin.set_sign_up(db, org, enabled="enabled" in form,
                                       requires_approval="requires_approval" in form, by=admin, client=client)
            code = "sign_up_changed"
        elif action == "deactivate":
            accounts_admin.deactivate_organization(db, org, by=admin, client=client)
            code = "org_deactivated"
        elif action == "reactivate":
            accounts_admin.reactivate_organization(db, org, by=admin, client=client)
            code = "org_reactivated"
        elif action == "invite":
            _invite(db, settings, form, org.id, admin, client)
            code = "invited"
        else:
            _unknown_action(action)
        return _back("admin_organization", code, id=org.id)

    return _run(db, request, act, lambda error: _organization_page(
        request, db, admin, _organization(request, db, admin, id), status=400, error=error, typed=form))


def _invite(db: Session, settings: Settings, form: dict[str, str], organization_id: int | None, admin: User,
            client: str | None) -> None:
    if organization_id is None:
        raise AccountError("organization: choose the organization the person joins")
    role = accounts_admin.check_role(form.get("role", ""))
    invitation_links.invite(db, settings, email=form.get("email", ""), organization_id=organization_id,
                                    role=str(role), name=form.get("name", ""), invited_by=admin, client=client)


# -- users ------------------------------------------------------------------------------------------

def _user_search(request: Request) -> tuple[accounts_admin.UserSearch, list[str]]:
    query = request.query_params
    problems = []
    org_text = query.get("organization", "")
    org_id = _id(org_text)
    if org_text and org_id is None:
        problems.append("organization: choose one from the list")
    role = query.get("role", "")
    if role and role_of(role) is None:
        problems.append("role: choose one from the list")
        role = ""
    state = query.get("state", "")
    if state and state not in accounts_admin.USER_STATES:
        problems.append("state: choose one from the list")
        state = ""
    page = _id(query.get("page", "1")) or 1
    return accounts_admin.UserSearch(text=query.get("q", "")[:accounts_admin.MAX_SEARCH], organization_id=org_id,
                                     role=role, state=state, page=page), problems


@router.get(_route("admin_users"))
def users(request: Request, admin: AdminUser, db: SessionDep) -> Response:
    wanted, problems = _user_search(request)
    found, total = accounts_admin.search_users(db, wanted)
    pages = max(1, -(-total // accounts_admin.USERS_PER_PAGE))
    kept = {k: v for k, v in (("q", wanted.text), ("organization", wanted.organization_id or ""),
                              ("role", wanted.role), ("state", wanted.state)) if v}

    def page_link(number: int) -> str:
        return service_page("admin_users") + "?" + urlencode({**kept, "page": number})

    return portal_page(request, "admin/users.html", "Users", viewer=admin, tabs=_tabs("admin_users"),
                       messages=[("error", p) for p in problems], users=found, total=total, wanted=wanted,
                       page=min(wanted.page, pages), pages=pages, page_link=page_link,
                       organizations=_organization_choices(db), states=accounts_admin.USER_STATES,
                       state_of=accounts_admin.user_state, role_of=role_of)


def _user_page(request: Request, db: Session, admin: User, user: User, *, status: int = 200, error: str = "",
               typed: dict[str, str] | None = None) -> Response:
    return portal_page(request, "admin/user.html", user.display_name, status=status, viewer=admin,
                       tabs=_tabs("admin_users"), messages=[("error", error)] if error else _done(request),
                       person=user, role=role_of(user.role), state=accounts_admin.user_state(user),
                       states=accounts_admin.USER_STATES, organizations=_organization_choices(db),
                       events=audit.events(db, person=user.email, limit=20), describe=audit.describe,
                       typed=typed or {})


@router.get(_route("admin_user"))
def user(request: Request, admin: AdminUser, db: SessionDep, id: int = Id) -> Response:
    return _user_page(request, db, admin, _user(request, db, admin, id))


@router.post(_route("admin_user"))
def user_post(request: Request, admin: AdminUser, form: AdminForm, db: SessionDep, settings: SettingsDep,
              id: int = Id) -> Response:
    person = _user(request, db, admin, id)
    client = _client(request)

    def organization_field() -> Organization:
        org = db.get(Organization, _id(form.get("organization", "")) or 0)
        if org is None:
            raise AccountError("organization: choose one from the list")
        return org

    def act() -> Response:
        action = form.get("action", "")
        if action == "role":
            accounts_admin.change_role(db, person, form.get("role", ""), by=admin, client=client)
            code = "role_changed"
        elif action == "move":
            accounts_admin.move_user(db, person, organization_field(), by=admin, client=client)
            code = "moved"
        elif action == "deactivate":
            accounts_admin.deactivate_user(db, person, by=admin, client=client)
            code = "deactivated"
        elif action == "reactivate":
            accounts_admin.reactivate_user(db, person, by=admin, client=client)
            code = "reactivated"
        elif action == "end_sessions":
            mine = request.cookies.get(SESSION_COOKIE) if person.id == admin.id else None
            accounts_admin.end_user_sessions(db, person, by=admin, client=client, keep_token=mine)
            code = "sessions_ended"
        elif action == "approve":
            if not person.awaiting_approval:
                raise AccountError(f"{person.email} is not waiting for approval")
            signup.approve(db, settings, person, by=admin, client=client)
            code = "approved"
        elif action == "add_membership":
            memberships.add_membership(db, person, organization_field(), by=admin, client=client)
            code = "membership_added"
        elif action == "remove_membership":
            memberships.remove_membership(db, person, organization_field(), by=admin, client=client)
            code = "membership_removed"
        else:
            _unknown_action(action)
        return _back("admin_user", code, id=person.id)

    return _run(db, request, act, lambda error: _user_page(request, db, admin, _user(request, db, admin, id),
                                                           status=400, error=error, typed=form))


# -- invitations ------------------------------------------------------------------------------------

def _invitations_page(request: Request, db: Session, admin: User, *, status: int = 200, error: str = "",
                      typed: dict[str, str] | None = None) -> Response:
    return portal_page(request, "admin/invitations.html", "Invitations", status=status, viewer=admin,
                       tabs=_tabs("admin_invitations"), messages=[("error", error)] if error else _done(request),
                       invitations=invitation_links.open_invitations(db), now=utcnow(),
                       organizations=_organization_choices(db), typed=typed or {})


@router.get(_route("admin_invitations"))
def invitations(request: Request, admin: AdminUser, db: SessionDep) -> Response:
    return _invitations_page(request, db, admin)


@router.post(_route("admin_invitations"))
def invitations_post(request: Request, admin: AdminUser, form: AdminForm, db: SessionDep,
                     settings: SettingsDep) -> Response:
    client = _client(request)

    def invitation_id() -> int:
        found = _id(form.get("invitation", ""))
        if found is None:
            raise AccountError("invitation: use the buttons of the list")
        return found

    def act() -> Response:
        action = form.get("action", "")
        if action == "invite":
            _invite(db, settings, form, _id(form.get("organization", "")), admin, client)
            code = "invited"
        elif action == "resend":
            invitation_links.resend(db, settings, invitation_id(), by=admin, client=client)
            code = "resent"
        elif action == "revoke":
            invitation_links.revoke(db, invitation_id(), by=admin, client=client)
            code = "revoked"
        else:
            _unknown_action(action)
        return _back("admin_invitations", code)

    return _run(db, request, act, lambda error: _invitations_page(request, db, admin, status=400, error=error,
                                                                   typed=form))


# -- the audit log ----------------------------------------------------------------------------------

ACTION_CHOICES = tuple((a.slug, a.label) for a in audit.ACTIONS)


@router.get(_route("admin_audit"))
def audit_log(request: Request, admin: AdminUser, db: SessionDep) -> Response:
    query = request.query_params
    problems = []
    action = query.get("action", "")
    if action and action not in dict(ACTION_CHOICES):
        problems.append("action: choose one from the list")
        action = ""
    org_text = query.get("organization", "")
    org_id = _id(org_text)
    if org_text and org_id is None:
        problems.append("organization: choose one from the list")
    before_text = query.get("before", "")
    before = _id(before_text)
    if before_text and before is None:
        problems.append("before: use the Older events link")
    person = query.get("email", "").strip()[:320]
    rows = audit.events(db, limit=AUDIT_PAGE + 1, before=before, action=action or None, organization_id=org_id,
                        person=person or None)
    kept = {k: v for k, v in (("action", action), ("organization", org_id or ""), ("email", person)) if v}
    older = (service_page("admin_audit") + "?" + urlencode({**kept, "before": rows[AUDIT_PAGE - 1].id})
             if len(rows) > AUDIT_PAGE else "")
    names = {org.id: org.name for org in _organization_choices(db)}
    return portal_page(request, "admin/audit.html", "Audit log", viewer=admin, tabs=_tabs("admin_audit"),
                       messages=[("error", p) for p in problems], events=rows[:AUDIT_PAGE], older=older,
                       newest=service_page("admin_audit") + ("?" + urlencode(kept) if kept else ""),
                       paged=before is not None, actions=ACTION_CHOICES, organizations=names,
                       wanted={"action": action, "organization": org_id, "email": person},
                       describe=audit.describe)


def _iso(when: dt.datetime) -> str:
    return when.replace(microsecond=0).isoformat() + "Z"

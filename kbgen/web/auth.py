"""Old import path (before issue 9): the dependencies are kbgen.web.deps, signing in is kbgen.web.routes.session,
and safe_next is kbgen.web.redirects."""
from kbgen.web.deps import AGENTS_ONLY, SIGN_IN_REQUIRED, current_user, require_agent, require_user
from kbgen.web.redirects import MAX_NEXT, safe_next, site_root
from kbgen.web.routes.session import router

__all__ = ["AGENTS_ONLY", "SIGN_IN_REQUIRED", "current_user", "require_agent", "require_user", "MAX_NEXT",
           "safe_next", "site_root", "router"]

"""What signing in says to a person it turns away: the service's answer and the built sign-in page
say the same words (defined here, without the database, for `kbgen build`)."""
from __future__ import annotations

DEACTIVATED_MESSAGE = ("This account has been deactivated. Ask your organization's administrator or the support "
                       "team if you need it again.")
PENDING_MESSAGE = "Your sign-up is waiting for an administrator's approval. You will get an email when it is approved."

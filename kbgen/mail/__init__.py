"""Email: the outbox notifications are written to, and the sender that delivers it."""

"""Alembic's entry point: run by kbgen.migrations.upgrade (and new_revision) on a connection it holds.

That connection is already inside the upgrade's one locked transaction, so nothing here
begins, commits or opens a database of its own.
"""
from __future__ import annotations

from alembic import context

from kbgen.db import Base
from kbgen.migrations import import_models, include_name

import_models()
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `kbgen db upgrade` (kbgen.migrations.upgrade), not the alembic command")
context.configure(connection=connection, target_metadata=Base.metadata, include_name=include_name,
                  compare_type=True, render_as_batch=True)  # batch: SQLite changes a table by copying it
with context.begin_transaction():
    context.run_migrations()

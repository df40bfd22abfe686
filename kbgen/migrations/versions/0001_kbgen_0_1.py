"""The schema of kbgen 0.1, for an empty database and for one that 0.1 (or an earlier build) made.

Written out, not taken from the models: they move on, this revision stays as 0.1 left the
schema. A database of 0.1 already has most tables; one of its schema_version 1 lacks
users.last_login_at and the tables of concepts added since. So each table is created
only where it is missing, and so is each index and the column, and every database ends
here with its rows. The schema_version table stays, with a row 0.1 reads as
"newer than I know", so a 0.1 replica refuses this database.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""
import datetime as dt
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from kbgen.migrations import LEGACY_FENCE, LEGACY_TABLE, add_column

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())

    def create(name: str, *elements) -> None:
        if name not in existing:
            op.create_table(name, *elements)

    def index(name: str, table: str, columns: list[str]) -> None:
        # 0.1 created the indexes of new tables only, so an older table may lack one added later.
        if table not in existing or name not in {i["name"] for i in inspector.get_indexes(table)}:
            op.create_index(name, table, columns, unique=False)

    create('login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    index('ix_login_failures_key_time', 'login_failures', ['key_hash', 'failed_at'])
    create('organizations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'))
    create('outbox',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('ticket_key', sa.String(length=40), nullable=True),
        sa.Column('to_email', sa.String(length=320), nullable=False),
        sa.Column('to_name', sa.String(length=200), nullable=False),
        sa.Column('reply_to', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('message_id', sa.String(length=200), nullable=True),
        sa.Column('thread_id', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'))
    index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])
    index('ix_outbox_ticket_key', 'outbox', ['ticket_key'])
    create('search_misses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('query', sa.String(length=200), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('query'))
    index('ix_search_misses_last_seen', 'search_misses', ['last_seen'])
    create('servers',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('license_id', sa.String(length=120), nullable=True),
        sa.Column('server_id', sa.String(length=120), nullable=True),
        sa.Column('organization', sa.String(length=200), nullable=True),
        sa.Column('hostname', sa.String(length=255), nullable=True),
        sa.Column('product', sa.String(length=40), nullable=True),
        sa.Column('product_version', sa.String(length=60), nullable=True),
        sa.Column('license_expiry', sa.Date(), nullable=True),
        sa.Column('support_plan', sa.String(length=120), nullable=True),
        sa.Column('last_contact', sa.DateTime(), nullable=True),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('license_id'),
        sa.UniqueConstraint('server_id'))
    index('ix_servers_organization', 'servers', ['organization'])
    create('ticket_key_counters',
        sa.Column('prefix', sa.String(length=10), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('prefix'))
    create('users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'))
    index('ix_users_organization_id', 'users', ['organization_id'])
    create('login_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'))
    index('ix_login_sessions_last_seen_at', 'login_sessions', ['last_seen_at'])
    index('ix_login_sessions_user_id', 'login_sessions', ['user_id'])
    create('tickets',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=20), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('product', sa.String(length=40), nullable=False),
        sa.Column('request_type', sa.String(length=80), nullable=False),
        sa.Column('priority', sa.String(length=40), nullable=False),
        sa.Column('summary', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=40), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('idempotency_key', sa.String(length=100), nullable=True),
        sa.Column('related_key', sa.String(length=20), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
        sa.UniqueConstraint('requester_id', 'idempotency_key', name='uq_tickets_requester_idempotency'))
    index('ix_tickets_assignee_id', 'tickets', ['assignee_id'])
    index('ix_tickets_created', 'tickets', ['created_at'])
    index('ix_tickets_org_created', 'tickets', ['organization_id', 'created_at'])
    index('ix_tickets_org_product_created', 'tickets', ['organization_id', 'product', 'created_at'])
    index('ix_tickets_org_requester_created', 'tickets', ['organization_id', 'requester_id', 'created_at'])
    index('ix_tickets_org_search', 'tickets', ['organization_id', 'created_at', 'key', 'summary'])
    index('ix_tickets_org_status_created', 'tickets', ['organization_id', 'status', 'created_at'])
    index('ix_tickets_org_updated', 'tickets', ['organization_id', 'updated_at'])
    index('ix_tickets_status_created', 'tickets', ['status', 'created_at'])
    create('ticket_consents',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=80), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'))
    index('ix_ticket_consents_ticket_id', 'ticket_consents', ['ticket_id'])
    create('ticket_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('internal', sa.Boolean(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('old_status', sa.String(length=40), nullable=True),
        sa.Column('new_status', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    index('ix_ticket_events_ticket', 'ticket_events', ['ticket_id', 'id'])
    create('ticket_attachments',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('field', sa.String(length=80), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=80), nullable=False),
        sa.Column('content_type', sa.String(length=120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['ticket_events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stored_name'))
    index('ix_ticket_attachments_event_id', 'ticket_attachments', ['event_id'])
    index('ix_ticket_attachments_ticket_id', 'ticket_attachments', ['ticket_id'])

    add_column(op.get_bind(), "users", sa.Column("last_login_at", sa.DateTime(), nullable=True))  # 0.1's version 2
    legacy = sa.table(LEGACY_TABLE, sa.column("version", sa.Integer()), sa.column("description", sa.String()),
                      sa.column("applied_at", sa.DateTime()))
    if LEGACY_TABLE not in existing:
        op.create_table(LEGACY_TABLE, sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
                        sa.Column("description", sa.String(length=200), nullable=False),
                        sa.Column("applied_at", sa.DateTime(), nullable=False), sa.PrimaryKeyConstraint("version"))
    op.bulk_insert(legacy, [{"version": LEGACY_FENCE, "applied_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                             "description": "kbgen moved to Alembic (table alembic_version); upgrade kbgen"}])


def downgrade() -> None:
    raise NotImplementedError("0001 is kbgen 0.1's schema: there is no older one to go back to")

"""sla_events: the once-only key names the escalation, so that two escalations of one ticket
whose clocks fall due at the same instant each get their warning and breach

Revision ID: d4e5f6a7b8c9
Revises: cc23be262d79
Create Date: 2026-11-29 10:00:00.000000

An expression index (COALESCE(escalation_id, 0)) instead of a constraint: NULLs are distinct in a
unique constraint, and the ticket's own clocks have no escalation. The sweep's ON CONFLICT DO
NOTHING names no target, so it honours any unique index.
"""
import sqlalchemy as sa
from alembic import op

revision = 'd4e5f6a7b8c9'
down_revision = 'cc23be262d79'
branch_labels = None
depends_on = None

COLUMNS = ['tenant_id', 'ticket_id', sa.text('COALESCE(escalation_id, 0)'), 'clock', 'kind', 'due_at']


def upgrade():
    with op.batch_alter_table('sla_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sla_events_tenant_id_ticket_clock_kind_due', type_='unique')
    op.create_index('uq_sla_events_key', 'sla_events', COLUMNS, unique=True)


def downgrade():
    op.drop_index('uq_sla_events_key', table_name='sla_events')
    with op.batch_alter_table('sla_events', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_sla_events_tenant_id_ticket_clock_kind_due', ['tenant_id', 'ticket_id', 'clock', 'kind', 'due_at']
        )

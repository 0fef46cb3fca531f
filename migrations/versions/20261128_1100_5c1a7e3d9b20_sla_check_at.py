"""tickets.sla_check_at: when the SLA sweep next has to look at a ticket

Revision ID: 5c1a7e3d9b20
Revises: faa1c91b0b99
Create Date: 2026-11-28 11:00:00.000000

The sweep runs every minute across all tenants. Warnings fire when a share of a target has
passed, which no stored due time says; so each ticket stores the earliest instant at which one
of its running clocks reaches a warning or a breach (NULL while no clock runs), and the sweep
reads the tickets whose instant has come through a partial index on that column alone. The
tenant is not first on purpose: the sweep is one platform-wide range scan, like the inbound retry
and on-call sweeps.
"""
import sqlalchemy as sa
from alembic import op

revision = '5c1a7e3d9b20'
down_revision = 'faa1c91b0b99'
branch_labels = None
depends_on = None

PREDICATE = "sla_check_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_check_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_tickets_sla_check_at',
        'tickets',
        ['sla_check_at'],
        unique=False,
        postgresql_where=sa.text(PREDICATE),
        sqlite_where=sa.text(PREDICATE),
    )
    # Tickets whose clocks already run: the sweep looks at them when their earliest clock falls
    # due (their warnings are skipped). Already overdue ones are left alone, so that deploying
    # this does not mail every old breach at once; they get a check time on their next change.
    op.execute(
        "UPDATE tickets SET sla_check_at = due_at WHERE due_at IS NOT NULL AND due_at > CURRENT_TIMESTAMP"
    )


def downgrade():
    op.drop_index('ix_tickets_sla_check_at', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('sla_check_at')

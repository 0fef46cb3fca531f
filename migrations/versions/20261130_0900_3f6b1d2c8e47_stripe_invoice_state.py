"""invoices.stripe_number/stripe_status, billing_accounts.subscription_ended_at

Revision ID: 3f6b1d2c8e47
Revises: d4e5f6a7b8c9
Create Date: 2026-11-30 09:00:00.000000

The Stripe webhook records what Stripe calls a pushed invoice and where it stands there, and
flags an account whose Stripe subscription ended. Plain nullable columns on tables that already
have row-level security; no new table.
"""
import sqlalchemy as sa
from alembic import op

revision = '3f6b1d2c8e47'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_number', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('stripe_status', sa.String(length=20), nullable=True))
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_ended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_column('subscription_ended_at')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('stripe_status')
        batch_op.drop_column('stripe_number')

"""where imported files came from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_url', sa.String(length=2048), nullable=True))
        batch_op.add_column(
            sa.Column('source_title', sa.String(length=300), server_default='', nullable=False)
        )
        batch_op.create_index(batch_op.f('ix_file_source_url'), ['source_url'], unique=False)


def downgrade():
    with op.batch_alter_table('file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_source_url'))
        batch_op.drop_column('source_title')
        batch_op.drop_column('source_url')

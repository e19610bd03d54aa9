"""the readers' site: noindex per post, tag descriptions, indexes for unpublish times and tag pages

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('noindex', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            'ix_post_kind_status_unpublish_at', ['kind', 'status', 'unpublish_at'], unique=False
        )
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), server_default='', nullable=False))
    op.create_index('ix_post_tags_tag_id_post_id', 'post_tags', ['tag_id', 'post_id'], unique=False)


def downgrade():
    op.drop_index('ix_post_tags_tag_id_post_id', table_name='post_tags')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_column('description')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index('ix_post_kind_status_unpublish_at')
        batch_op.drop_column('noindex')

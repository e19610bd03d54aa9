"""autosave slots and per-user time zones

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('autosave_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], name=op.f('fk_autosave_slot_post_id_post'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_autosave_slot_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_autosave_slot')),
    sa.UniqueConstraint('user_id', 'slot', name=op.f('uq_autosave_slot_user_id'))
    )
    with op.batch_alter_table('autosave_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_autosave_slot_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_autosave_slot_saved_at'), ['saved_at'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('timezone')

    with op.batch_alter_table('autosave_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_autosave_slot_saved_at'))
        batch_op.drop_index(batch_op.f('ix_autosave_slot_post_id'))

    op.drop_table('autosave_slot')

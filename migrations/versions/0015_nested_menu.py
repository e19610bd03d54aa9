"""one level of nesting in the site menu: nav_item.parent_id

A menu item may sit under a top-level item; the public menu shows such items as a submenu.
Deleting the parent keeps its sub-items, at the top level (ON DELETE SET NULL). Every existing
item stays at the top level.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('nav_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_nav_item_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_nav_item_parent_id_nav_item'), 'nav_item', ['parent_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('nav_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nav_item_parent_id_nav_item'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_nav_item_parent_id'))
        batch_op.drop_column('parent_id')

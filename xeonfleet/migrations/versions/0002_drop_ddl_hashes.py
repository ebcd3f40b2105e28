"""Drop xeonfleet_schemas, where the pre-Alembic store kept the SHA-256 of each component's DDL:
alembic_version now records the schema's revision.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS xeonfleet_schemas")

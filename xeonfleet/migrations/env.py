"""Alembic environment of the results store, run by xeonfleet.store on the connection it opened.

xeonfleet.store calls `alembic.command.upgrade(config, "head")` inside the transaction that holds
the store's upgrade lock and passes that connection in `config.attributes["connection"]`, so an
upgrade commits as a whole with the revision it records. There is no alembic.ini: migrations run
when a writer opens the store.

A new revision is a file in versions/ named NNNN_what.py with `revision = "NNNN"` and
`down_revision` the previous one; write its `upgrade()` with `alembic.op` (add_column, create_index,
...). SQLite cannot ALTER most things in place: render_as_batch makes `op.batch_alter_table` copy the
table, which Alembic does for SQLite only. Migrations go forward only (no downgrade): to go back,
restore the store's backup.
"""

from alembic import context

context.configure(connection=context.config.attributes["connection"], render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment for benchwarden's store.

``benchwarden.store.migrate.migrate`` passes an open connection (already inside the
transaction it commits) in ``config.attributes["connection"]``; that is the normal
path. Without one, ``sqlalchemy.url`` from the config is used, online or offline
(``--sql``), which is what a developer needs to generate or inspect migrations.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from benchwarden.store.engine import create_engine
from benchwarden.store.schema import metadata
from benchwarden.store.urls import resolve_url

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = resolve_url(config.get_main_option("sqlalchemy.url"))
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


main()

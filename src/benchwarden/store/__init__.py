"""Persistence for evaluation runs: a SQLite file by default, PostgreSQL by URL.

See docs/SCHEMA.md for the tables, the idempotency rule and how migrations run.
"""

from benchwarden.store.records import JudgmentRecord, RunRecord, SampleRecord, StoreError
from benchwarden.store.store import Store, open_store
from benchwarden.store.urls import default_db_url

__all__ = [
    "JudgmentRecord",
    "RunRecord",
    "SampleRecord",
    "Store",
    "StoreError",
    "default_db_url",
    "open_store",
]

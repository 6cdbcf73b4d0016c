"""warden: serve models under contract terms.

Organizations hold grants (model, permitted purposes, limits, expiry) and keys; every
request is decided by a pure policy over the key and grant read from the database,
metered by a limiter, and recorded in a tamper-evident audit chain. See docs/WARDEN.md.
"""

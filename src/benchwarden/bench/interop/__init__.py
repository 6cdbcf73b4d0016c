"""Runs in and out of other evaluation tools' formats (inspect_ai's eval logs).

The mappings are pure (records in, log objects out, and back); reading and writing
files lives in :mod:`benchwarden.bench.interop.inspect_files`. inspect_ai is the
optional extra ``benchwarden[inspect]``: nothing here is imported unless asked for.
"""

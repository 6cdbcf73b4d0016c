"""The usage monitor: per-request usage records, signals, findings, graduated responses.

``text`` and ``sketch`` turn a prompt into what is kept of it (a hash, a MinHash of its
masked form); ``recorder`` writes usage records off the request path; ``signals`` and
``scoring`` are pure functions over records; ``responses`` applies flag, throttle,
suspend and revoke through the audited tenancy service; ``service`` ties them together
for the CLI and the admin API (``admin``).
"""

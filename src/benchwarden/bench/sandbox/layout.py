"""Which host files a sandboxed Python needs, found once from the running interpreter.

Programs run under the *base* interpreter of this process (never a virtualenv's
``site-packages``) with ``-S``: the standard library only. Every HumanEval, HumanEval+
and MBPP+ canonical solution and test needs nothing else (``math``, ``re``, ``hashlib``,
``collections``, ``heapq``...), and generated code that imports a third-party package
should fail there as it would on a clean Python.

Inside the sandbox the interpreter sits at the same path as on the host (its
``libpython`` is found through an absolute RPATH), so its prefix is bound read-only
at that path; ``/usr`` is bound for the C library and friends. The prefix's own
``site-packages`` is hidden under an empty tmpfs: nothing of the host's installed
packages is visible.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

# Top-level host paths that are symlinks into /usr on merged-/usr systems (Debian 12+);
# on older layouts they are real directories and get bound read-only instead.
_USR_ALIASES = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


@dataclass(frozen=True, slots=True)
class PythonLayout:
    """The interpreter to run and the host paths the sandbox must show (read-only)."""

    executable: str
    symlinks: tuple[tuple[str, str], ...]  # (target, link path)
    binds: tuple[str, ...]  # host directories bound read-only at the same path
    parents: tuple[str, ...]  # directories to create (mode 0755) before the binds
    hidden: tuple[str, ...]  # directories covered by an empty tmpfs

    def exists(self) -> bool:
        return Path(self.executable).is_file()


def _base_executable() -> str:
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@functools.cache
def python_layout() -> PythonLayout:
    """The layout for this process's base interpreter (computed once)."""
    executable = _base_executable()
    symlinks: list[tuple[str, str]] = []
    binds: list[str] = ["/usr"]
    for alias in _USR_ALIASES:
        path = Path(alias)
        if path.is_symlink():
            symlinks.append((str(path.readlink()), alias))
        elif path.is_dir():
            binds.append(alias)

    prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    prefixes.add(str(Path(executable).parent.parent))  # <prefix>/bin/python3.x
    extra = sorted(p for p in prefixes if not any(_inside(p, b) for b in binds))
    # Drop prefixes nested in another one.
    extra = [p for p in extra if not any(q != p and _inside(p, q) for q in extra)]
    binds.extend(extra)

    parents: list[str] = []
    for bind in extra:
        for directory in reversed(Path(bind).parents):
            if str(directory) != "/" and str(directory) not in parents:
                parents.append(str(directory))

    hidden: list[str] = []
    for prefix in extra:
        for key in ("purelib", "platlib"):
            site = os.path.realpath(
                sysconfig.get_path(key, vars={"base": prefix, "platbase": prefix})
            )
            if _inside(site, prefix) and Path(site).is_dir() and site not in hidden:
                hidden.append(site)

    return PythonLayout(
        executable=executable,
        symlinks=tuple(symlinks),
        binds=tuple(binds),
        parents=tuple(parents),
        hidden=tuple(hidden),
    )

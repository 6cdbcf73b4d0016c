"""Host-side file work on a workspace that sandboxed commands have written: never trusted.

A command may leave symlinks (to ``/etc/shadow``, to ``..``), fifos, huge files or
millions of them. Everything here reads with ``O_NOFOLLOW`` and only regular files,
bounds what it reads, and replaces a path by first removing whatever is there, so
nothing on the host is read or written through the workspace.
"""

# ruff: noqa: PTH
# (os-level calls on purpose: lstat, O_NOFOLLOW, no path resolution)
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

MAX_READ_BYTES = 1_000_000


class UnsafePath(ValueError):
    """A relative path that would leave the workspace."""


def _parts(relative: str) -> list[str]:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or relative.startswith("/"):
        raise UnsafePath(f"{relative!r} is not a path inside the workspace")
    return parts


def new_workspace(files: Mapping[str, str | bytes], *, prefix: str = "benchwarden-ws-") -> str:
    """A fresh host directory holding ``files`` (relative path -> content)."""
    root = tempfile.mkdtemp(prefix=prefix)
    os.chmod(root, 0o755)  # noqa: S103 - the sandbox's uid must enter it
    for relative, content in files.items():
        write_file(root, relative, content)
    return root


def _safe_parent(root: str, parts: list[str]) -> str:
    """The parent directory of ``parts`` under ``root``, made of real directories only:
    a symlink or file in the way is removed and replaced by a directory."""
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)  # noqa: PTH102
            continue
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(current)  # noqa: PTH108
            os.mkdir(current, 0o755)  # noqa: PTH102
    return current


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)  # noqa: PTH108


def write_file(root: str, relative: str, content: str | bytes, *, mode: int = 0o644) -> None:
    """Put ``content`` at ``relative``, replacing whatever is there (never through a link)."""
    parts = _parts(relative)
    parent = _safe_parent(root, parts)
    target = os.path.join(parent, parts[-1])
    _remove(target)
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def read_file(root: str, relative: str, *, limit: int = MAX_READ_BYTES) -> bytes | None:
    """The bytes of a regular file at ``relative`` (at most ``limit``), or None when it is
    missing, not a regular file, or reached through a symlink."""
    try:
        parts = _parts(relative)
    except UnsafePath:
        return None
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                return None
        except OSError:
            return None
    try:
        fd = os.open(os.path.join(current, parts[-1]), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(limit)


def walk_files(root: str, *, skip_dirs: frozenset[str] = frozenset()) -> Iterator[str]:
    """Relative paths of the regular files under ``root`` (no symlinks followed)."""
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
        for name in sorted(files):
            full = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(full).st_mode):
                    yield os.path.relpath(full, root)


def disk_usage(root: str) -> int:
    """Bytes used by the files under ``root`` (allocated blocks, links not followed)."""
    total = 0
    for directory, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_blocks * 512
    return total


def copy_workspace(source: str, *, prefix: str = "benchwarden-ws-") -> str:
    """A copy of ``source`` with its symlinks copied as links (never followed)."""
    target = tempfile.mkdtemp(prefix=prefix)
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    os.chmod(target, 0o755)  # noqa: S103
    return target


def remove_workspace(root: str) -> None:
    """Delete a workspace, whatever its commands left in it."""
    path = Path(root)
    if path.exists():
        # Files made read-only inside the sandbox are still removable by their parent's owner.
        shutil.rmtree(path, ignore_errors=True)

"""Host-side file work on a workspace that sandboxed commands have written: never trusted.

A command may leave symlinks (to ``/etc/shadow``, to ``..``), fifos, huge files or
millions of them. Everything here reads with ``O_NOFOLLOW`` and only regular files,
bounds what it reads, and replaces a path by first removing whatever is there, so
nothing on the host is read or written through the workspace.

A command may also leave a tree thousands of folders deep (deeper than Python's
recursion limit and longer than ``PATH_MAX``): every walk here (disk usage, listing,
ownership, removal) is iterative and opens each folder relative to its parent, so
depth and path length stop none of them.
"""

# ruff: noqa: PTH101, PTH102, PTH106, PTH108, PTH118
# (os-level calls on purpose: lstat, O_NOFOLLOW, no path resolution)
from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping

MAX_READ_BYTES = 1_000_000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(ValueError):
    """A relative path that would leave the workspace."""


def _parts(relative: str) -> list[str]:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or relative.startswith("/"):
        raise UnsafePath(f"{relative!r} is not a path inside the workspace")
    return parts


WORKSPACE_PREFIX = "benchwarden-ws-"
_OWNED = re.compile(rf"{WORKSPACE_PREFIX}([0-9]+)-")


def _owned_prefix() -> str:
    """Workspaces carry their process's pid, so a later sweep knows whose they are."""
    return f"{WORKSPACE_PREFIX}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def sweep_stale_workspaces(folder: str | None = None) -> int:
    """Remove the workspaces left by processes that are gone (a run killed with -9
    cannot clean up after itself); a live process's workspaces are never touched.
    Returns how many were removed."""
    base = folder or tempfile.gettempdir()
    removed = 0
    with contextlib.suppress(OSError), os.scandir(base) as entries:
        for entry in entries:
            owner = _OWNED.match(entry.name)
            if owner is None or _alive(int(owner.group(1))):
                continue
            if not entry.is_dir(follow_symlinks=False):
                continue
            # As root, a workspace belongs to its attempt's uid; otherwise it is ours.
            if os.geteuid() != 0 and entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            remove_workspace(entry.path)
            removed += 1
    return removed


def new_workspace(files: Mapping[str, str | bytes], *, prefix: str | None = None) -> str:
    """A fresh host directory holding ``files`` (relative path -> content)."""
    root = tempfile.mkdtemp(prefix=prefix or _owned_prefix())
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
            os.mkdir(current, 0o755)
            continue
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(current)
            os.mkdir(current, 0o755)
    return current


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            _remove_tree(path)
        else:
            os.unlink(path)


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


Entries = list[tuple[str, os.stat_result]]


def _entries(fd: int) -> Entries:
    """The names in the folder open at ``fd`` with their lstat, sorted."""
    out = []
    for name in sorted(os.listdir(fd)):
        with contextlib.suppress(OSError):
            out.append((name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
    return out


def _unlock(name: str, mode: int, dir_fd: int | None = None) -> None:
    """Give a folder's owner rwx back (a command's ``chmod 000``). Root needs no mode
    bits; without root the sandbox's files are this user's, so it may."""
    if os.geteuid() != 0 and mode & 0o700 != 0o700:
        with contextlib.suppress(OSError):
            os.chmod(name, stat.S_IMODE(mode) | 0o700, dir_fd=dir_fd)


def _open_dir(fd: int, name: str, info: os.stat_result) -> int | None:
    _unlock(name, info.st_mode, fd)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=fd)
    except OSError:
        return None


def _walk(
    root: str,
    *,
    skip_dirs: frozenset[str] = frozenset(),
    leave: Callable[[int, str], None] | None = None,
) -> Iterator[tuple[str, int, Entries]]:
    """Every folder under ``root``, root first, depth first, links never followed.

    Yields (relative folder, a descriptor on it valid until the next step, its
    entries). No recursion and one descriptor at a time: a folder is opened relative
    to its parent and left through ``..`` (nothing runs in the workspace meanwhile).
    ``leave(parent_fd, name)`` runs once a sub-folder is done (to remove it).
    """
    _unlock(root, os.lstat(root).st_mode)
    fd = os.open(root, _DIR_FLAGS)
    stack: list[tuple[str, list[tuple[str, os.stat_result]]]] = []
    relative = ""
    try:
        while True:
            entries = _entries(fd)
            yield relative, fd, entries
            subdirs = [
                (name, info)
                for name, info in entries
                if stat.S_ISDIR(info.st_mode) and name not in skip_dirs
            ]
            stack.append((relative, subdirs[::-1]))
            while True:  # to the next folder: down into a pending one, or up
                current, pending = stack[-1]
                if pending:
                    name, info = pending.pop()
                    child = _open_dir(fd, name, info)
                    if child is None:
                        continue
                    os.close(fd)
                    fd = child
                    relative = f"{current}/{name}" if current else name
                    break
                stack.pop()
                if not stack:
                    return
                parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = parent
                if leave is not None:
                    leave(fd, current.rsplit("/", 1)[-1])
    finally:
        os.close(fd)


def walk_files(root: str, *, skip_dirs: frozenset[str] = frozenset()) -> Iterator[str]:
    """Relative paths of the regular files under ``root`` (no symlinks followed)."""
    for directory, _fd, entries in _walk(root, skip_dirs=skip_dirs):
        for name, info in entries:
            if stat.S_ISREG(info.st_mode):
                yield f"{directory}/{name}" if directory else name


def disk_usage(root: str) -> int:
    """Bytes used under ``root`` (allocated blocks of files and folders, links not followed)."""
    total = os.lstat(root).st_blocks * 512
    for _directory, _fd, entries in _walk(root):
        total += sum(info.st_blocks * 512 for _name, info in entries)
    return total


def chown_tree(root: str, uid: int) -> None:
    """Give ``root`` and everything under it to ``uid`` (links themselves, not targets)."""
    os.chown(root, uid, uid, follow_symlinks=False)
    for _directory, fd, entries in _walk(root):
        for name, _info in entries:
            with contextlib.suppress(OSError):
                os.chown(name, uid, uid, dir_fd=fd, follow_symlinks=False)


def _remove_tree(path: str) -> None:
    """Remove the folder ``path`` and all it holds, whatever the depth or the modes."""

    def remove_folder(parent_fd: int, name: str) -> None:
        with contextlib.suppress(OSError):
            os.rmdir(name, dir_fd=parent_fd)

    for _directory, fd, entries in _walk(path, leave=remove_folder):
        for name, info in entries:
            if not stat.S_ISDIR(info.st_mode):
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def copy_workspace(source: str, *, prefix: str | None = None) -> str:
    """A copy of ``source`` with its symlinks copied as links (never followed)."""
    target = tempfile.mkdtemp(prefix=prefix or _owned_prefix())
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    os.chmod(target, 0o755)  # noqa: S103
    return target


def remove_workspace(root: str) -> None:
    """Delete a workspace, whatever its commands left in it (best effort, never raises
    for what is inside: unreadable folders, any depth, fifos, links)."""
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        _remove_tree(root)
    else:
        os.unlink(root)

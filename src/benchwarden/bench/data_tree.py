"""A verified, extracted copy of a pinned file tree (such as the polyglot exercises).

Tried in order:

1. ``$BENCHWARDEN_DATA_MIRROR/<archive>``: verified by its sha256 (:func:`data.fetch`),
   then extracted into the cache once;
2. the cache, ``<benchwarden home>/data/<tree name>/``, complete when its marker holds
   the tree digest;
3. a download of the upstream archive (GitHub's, whose bytes differ from the mirror's):
   extracted into a temporary folder beside the cache, verified by the *tree* digest,
   then renamed into place. Nothing unverified is ever left where a reader would look.

Extraction refuses absolute paths, ``..``, links and device files: the archive is data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx2 as httpx
from filelock import FileLock

from benchwarden.bench.data import MIRROR_ENV, DataError, data_dir, fetch
from benchwarden.bench.data_pins import DATA_TREES, DataTree

MARKER = ".benchwarden-tree"


def tree_digest(root: Path) -> tuple[str, int]:
    """The tree digest of ``root`` (see :class:`DataTree`) and its file count."""
    lines = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name != MARKER:
            relative = path.relative_to(root).as_posix()
            lines.append((relative.encode(), hashlib.sha256(path.read_bytes()).hexdigest()))
    lines.sort()
    text = b"".join(f"{digest}  ".encode() + rel + b"\n" for rel, digest in lines)
    return hashlib.sha256(text).hexdigest(), len(lines)


def _extract(archive: Path, target: Path, *, strip_top: bool) -> None:
    """Extract regular files and folders of ``archive`` under ``target``."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            parts = [p for p in name.split("/") if p]
            if strip_top:
                parts = parts[1:]
            if not parts:
                continue
            if name.startswith("/") or ".." in parts:
                raise DataError(f"{archive.name}: refusing the archive member {member.name!r}")
            if member.isdir():
                target.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                # Links, fifos and devices are never part of the data: an archive that
                # holds one is not the pinned one (the tree digest counts regular files
                # only, so it would not notice a skipped link).
                raise DataError(
                    f"{archive.name}: refusing the archive member {member.name!r} "
                    "(not a regular file or folder)"
                )
            out = target.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            with source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            if member.mode & 0o111:
                out.chmod(0o755)


def _complete(target: Path, spec: DataTree) -> bool:
    marker = target / MARKER
    return marker.is_file() and marker.read_text().strip() == spec.tree_sha256


def fetch_tree(name: str | DataTree, *, timeout_s: float = 120.0) -> Path:
    """The folder holding the verified tree ``name`` (an archive name in DATA_TREES)."""
    spec = name if isinstance(name, DataTree) else DATA_TREES.get(name)
    if spec is None:
        raise DataError(f"unknown data tree {name!r}; known: {', '.join(sorted(DATA_TREES))}")
    target = data_dir() / spec.name
    if _complete(target, spec):
        return target
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if _complete(target, spec):
            return target
        mirror = os.environ.get(MIRROR_ENV)
        from_mirror = bool(mirror) and (Path(mirror or "") / spec.archive.name).is_file()
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{spec.name}."))
        try:
            if from_mirror:
                _extract(fetch(spec.archive), staging, strip_top=False)
            else:
                archive = staging.with_suffix(".tar.gz")
                try:
                    _download(spec, archive, timeout_s=timeout_s)
                    _extract(archive, staging, strip_top=True)
                finally:
                    archive.unlink(missing_ok=True)
            digest, count = tree_digest(staging)
            if digest != spec.tree_sha256:
                raise DataError(
                    f"{spec.name}: the extracted tree does not match its pin (tree digest "
                    f"{digest}, {count} files; expected {spec.tree_sha256}, {spec.files} "
                    "files). Nothing was cached. Retry, or set "
                    f"{MIRROR_ENV} to a directory holding {spec.archive.name}."
                )
            (staging / MARKER).write_text(spec.tree_sha256 + "\n")
            if target.exists():
                shutil.rmtree(target)
            staging.replace(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _download(spec: DataTree, archive: Path, *, timeout_s: float) -> None:
    advice = (
        f"Check your network connection, or set {MIRROR_ENV} to a directory that holds "
        f"{spec.archive.name} (for example a copy of the shared evaluation data)."
    )
    size = 0
    try:
        with (
            archive.open("wb") as out,
            httpx.stream(
                "GET", spec.upstream_url, follow_redirects=True, timeout=httpx.Timeout(timeout_s)
            ) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                size += len(chunk)
                if size > spec.max_download_bytes:
                    raise DataError(
                        f"the download of {spec.archive.name} from {spec.upstream_url} is "
                        f"larger than {spec.max_download_bytes} bytes; nothing was cached."
                    )
                out.write(chunk)
    except httpx.HTTPStatusError as exc:
        raise DataError(
            f"could not download {spec.archive.name} from {spec.upstream_url}: HTTP "
            f"{exc.response.status_code}. {advice}"
        ) from exc
    except httpx.HTTPError as exc:
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()
        raise DataError(
            f"could not download {spec.archive.name} from {spec.upstream_url}: "
            f"{str(exc) or type(exc).__name__}. {advice}"
        ) from exc

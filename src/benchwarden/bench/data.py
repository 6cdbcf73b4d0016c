"""Public evaluation data: where each file comes from, and a verified local copy of it.

The project never commits these files. Each one is pinned by its canonical source
(a raw GitHub URL at a full commit), size and sha256 in :mod:`data_pins`.
:func:`fetch` returns a verified local path, trying in order:

1. ``$BENCHWARDEN_DATA_MIRROR/<name>`` when that variable is set and the file exists
   (tests and CI point it at the shared data directory; nothing is copied);
2. the cache, ``<benchwarden home>/data/<name>``;
3. a download into the cache (temp file, size and sha256 checked, atomic rename,
   serialized across processes by a lock file beside the target).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx2 as httpx
from filelock import FileLock

from benchwarden.bench.data_pins import DATA_FILES, DataFile
from benchwarden.paths import home_dir

__all__ = [
    "DATA_FILES",
    "MIRROR_ENV",
    "DataError",
    "DataFile",
    "data_dir",
    "fetch",
    "read_csv",
    "read_jsonl",
]

MIRROR_ENV = "BENCHWARDEN_DATA_MIRROR"
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class DataError(Exception):
    """A data file could not be found, downloaded, verified or read."""


# -- verification -------------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) for this process."""
    st = path.stat()
    key = (str(path.absolute()), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None:
        return known
    digest = _hash_file(path)
    with _digests_lock:
        _digests[key] = digest
    return digest


def _remember(path: Path, digest: str) -> None:
    st = path.stat()
    with _digests_lock:
        _digests[(str(path.absolute()), st.st_size, st.st_mtime_ns)] = digest


# -- fetching -----------------------------------------------------------------------


def _resolve(source: str | DataFile) -> DataFile:
    if isinstance(source, DataFile):
        return source
    try:
        return DATA_FILES[source]
    except KeyError:
        known = ", ".join(sorted(DATA_FILES))
        raise DataError(f"unknown data file {source!r}; known files: {known}") from None


def data_dir() -> Path:
    """The download cache for data files: ``<benchwarden home>/data``."""
    path = home_dir() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fetch(source: str | DataFile, *, timeout_s: float = 60.0) -> Path:
    """A verified local copy of ``source`` (a name in :data:`DATA_FILES` or a DataFile)."""
    spec = _resolve(source)

    mirror_note = ""
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        candidate = Path(mirror).expanduser() / spec.name
        if candidate.is_file():
            actual = _sha256_of(candidate)
            if actual != spec.sha256:
                raise DataError(
                    f"{spec.name} in the data mirror ({candidate}) does not match its pinned "
                    f"sha256: expected {spec.sha256}, got {actual}. Replace it with the file "
                    f"from {spec.url}, or point {MIRROR_ENV} at a directory with a good copy "
                    "(or unset it to download into the cache)."
                )
            return candidate
        mirror_note = f" ({MIRROR_ENV} is set to {mirror}, but {candidate} does not exist.)"

    target = data_dir() / spec.name
    if target.is_file():
        _check_cached(spec, target)
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if target.is_file():  # another fetcher finished while we waited
            _check_cached(spec, target)
            return target
        _download(spec, target, timeout_s=timeout_s, mirror_note=mirror_note)
    return target


def _check_cached(spec: DataFile, target: Path) -> None:
    actual = _sha256_of(target)
    if actual != spec.sha256:
        raise DataError(
            f"the cached copy of {spec.name} is corrupt: expected sha256 {spec.sha256}, "
            f"got {actual}. Delete the corrupt cached file at {target} and fetch again "
            f"(or set {MIRROR_ENV} to a directory holding a verified copy)."
        )


def _download(spec: DataFile, target: Path, *, timeout_s: float, mirror_note: str) -> None:
    advice = (
        f"Check your network connection, or set {MIRROR_ENV} to a directory that holds "
        f"{spec.name} (for example a copy of the shared evaluation data).{mirror_note}"
    )
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        too_big = False
        try:
            with (
                os.fdopen(fd, "wb") as out,
                httpx.stream(
                    "GET", spec.url, follow_redirects=True, timeout=httpx.Timeout(timeout_s)
                ) as response,
            ):
                response.raise_for_status()
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > spec.size:
                        too_big = True
                        break
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except httpx.HTTPStatusError as exc:
            raise DataError(
                f"could not download {spec.name} from {spec.url}: HTTP "
                f"{exc.response.status_code} {exc.response.reason_phrase}. {advice}"
            ) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise DataError(
                f"could not download {spec.name} from {spec.url}: {reason}. {advice}"
            ) from exc
        except OSError as exc:
            raise DataError(
                f"could not write {spec.name} into the cache at {target.parent}: {exc}"
            ) from exc

        actual = digest.hexdigest()
        if too_big or size != spec.size or actual != spec.sha256:
            got = f"more than {spec.size} bytes" if too_big else f"{size} bytes, sha256 {actual}"
            raise DataError(
                f"the download of {spec.name} from {spec.url} does not match its pin: "
                f"expected {spec.size} bytes, sha256 {spec.sha256}; got {got}. Nothing was "
                f"cached. Retry later, or set {MIRROR_ENV} to a directory holding a verified "
                "copy."
            )
        tmp.replace(target)
        _remember(target, actual)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# -- reading ------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    """Text (utf-8, BOM tolerated), gunzipped when the file is gzip-compressed."""
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == _GZIP_MAGIC
        if gzipped:
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc}") from exc


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """One JSON object per non-blank line; ``.gz`` files are decompressed on the fly."""
    path = Path(path)
    lineno = 0
    with _open_text(path) as f:
        try:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"{path}, line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
                    ) from exc
                if not isinstance(record, dict):
                    raise DataError(
                        f"{path}, line {lineno}: expected a JSON object, "
                        f"got {type(record).__name__}"
                    )
                yield record
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}, after line {lineno}: cannot read the file: {exc}") from exc


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header row, as ``{column: value}`` (utf-8, BOM tolerated)."""
    path = Path(path)
    with _open_text(path) as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                return
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {reader.line_num}: expected {len(header)} columns "
                        f"({', '.join(header)}), got {len(row)}"
                    )
                yield dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from exc
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{path}, after line {reader.line_num}: cannot read the file: {exc}"
            ) from exc

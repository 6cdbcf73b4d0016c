"""Where benchwarden keeps its files: ``BENCHWARDEN_HOME`` (default ``~/.benchwarden``)."""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    raw = os.environ.get("BENCHWARDEN_HOME")
    path = Path(raw).expanduser() if raw else Path.home() / ".benchwarden"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    path = home_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    path = home_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path

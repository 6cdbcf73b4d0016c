"""``serve --config FILE``: serve's options from a TOML file, under ``[serve]``.

The keys are the command-line options' names (``limits``, ``limits-lease`` or
``limits_lease``, ``workers``, ``limits-fail-open``, ``db``...). An option given on
the command line wins over the file; the file wins over the built-in defaults.
Relative paths (``backends``, ``fingerprints``) are read from the file's folder. A
file that cannot be used is an error naming the file and the key.

    [serve]
    db = "postgresql://warden@db/warden"
    limits = "redis://127.0.0.1:6379/0"
    limits-lease = 15
    limits-fail-open = [3, "acme/openai/gpt-4o"]   # grant ids or ORG/MODEL
    workers = 4
    monitor-every = 60
    monitor-auto = "throttle"              # the highest automatic response
    monitor-thresholds = [40, 60, 80, 95]  # flag, throttle, suspend, revoke
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ServeConfigError(Exception):
    """A config file serve cannot use; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class _Key:
    kind: str  # "str", "int", "float", "bool", "path", "grants"
    minimum: float | None = None


KEYS: dict[str, _Key] = {
    "host": _Key("str"),
    "port": _Key("int", 1),
    "backends": _Key("path"),
    "db": _Key("str"),
    "log_level": _Key("str"),
    "fingerprints": _Key("path"),
    "monitor": _Key("bool"),
    "max_body_mb": _Key("float", 0.001),
    "workers": _Key("int", 1),
    "limits": _Key("str"),
    "limits_lease": _Key("float", 0.1),
    "limits_fail_open": _Key("grants"),
    "monitor_every": _Key("float", 0.0),
    "watch_interval": _Key("float", 0.01),
    "monitor_auto": _Key("str"),
    "monitor_thresholds": _Key("thresholds"),
}
LEVELS = ("none", "flag", "throttle", "suspend", "revoke")  # monitor.scoring's


def read(path: Path) -> dict[str, Any]:
    """The ``[serve]`` table of ``path``, checked, keys as serve's parameter names."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServeConfigError(f"config file {path}: cannot be read ({exc.strerror}).") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ServeConfigError(f"config file {path}: not valid TOML: {exc}.") from exc
    unknown = sorted(set(data) - {"serve"})
    if unknown:
        raise ServeConfigError(
            f"config file {path}: unknown table or key {unknown[0]!r}; serve's options go "
            "under [serve]."
        )
    table = data.get("serve", {})
    if not isinstance(table, dict):
        raise ServeConfigError(f"config file {path}: 'serve' must be a table ([serve]).")
    values: dict[str, Any] = {}
    for written, value in table.items():
        name = written.replace("-", "_")
        spec = KEYS.get(name)
        if spec is None:
            known = ", ".join(k.replace("_", "-") for k in KEYS)
            raise ServeConfigError(
                f"config file {path}: unknown key serve.{written} (known: {known})."
            )
        values[name] = _checked(path, f"serve.{written}", spec, value)
    return values


def _checked(path: Path, key: str, spec: _Key, value: Any) -> Any:
    where = f"config file {path}: {key}"
    if spec.kind == "grants":
        if not isinstance(value, list) or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value
        ):
            raise ServeConfigError(
                f'{where} must be a list of grant ids or ORG/MODEL names, e.g. [3, "acme/m"].'
            )
        return [str(v) for v in value]
    if spec.kind == "thresholds":
        numbers = isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
        if not numbers or len(value) != 4:
            raise ServeConfigError(
                f"{where} must be four scores for flag, throttle, suspend, revoke, e.g. "
                "[40, 60, 80, 95]."
            )
        return ",".join(f"{v:g}" for v in value)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ServeConfigError(f"{where} must be true or false, not {value!r}.")
        return value
    if spec.kind in ("str", "path"):
        if not isinstance(value, str) or not value:
            raise ServeConfigError(f"{where} must be a non-empty string, not {value!r}.")
        if spec.kind == "path":
            return path.parent / Path(value).expanduser()
        return value
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or (spec.kind == "int" and not isinstance(value, int)):
        kind = "a whole number" if spec.kind == "int" else "a number"
        raise ServeConfigError(f"{where} must be {kind}, not {value!r}.")
    if spec.minimum is not None and value < spec.minimum:
        raise ServeConfigError(f"{where} must be at least {spec.minimum:g}, not {value!r}.")
    return value


def merge(
    source_of: Callable[[str], Any], given: dict[str, Any], config: Path | None
) -> dict[str, Any]:
    """``given`` (serve's parameters) with the file's values for every parameter not
    set on the command line or by its environment variable; ``source_of`` is the
    command context's ``get_parameter_source``."""
    if config is None:
        return given
    merged = dict(given)
    for name, value in read(config).items():
        source = source_of(name)
        if getattr(source, "name", None) not in ("COMMANDLINE", "ENVIRONMENT"):
            merged[name] = value
    return merged


def monitor_policy(auto: str | None, thresholds: str | None) -> dict[str, Any] | None:
    """The monitor's ``Policy`` fields from ``--monitor-auto`` and
    ``--monitor-thresholds`` (None: the defaults), as plain data for the workers."""
    fields: dict[str, Any] = {}
    if auto is not None:
        if auto not in LEVELS:
            raise ServeConfigError(f"--monitor-auto {auto!r}: use one of {', '.join(LEVELS)}.")
        fields["auto_max"] = auto
    if thresholds is not None:
        try:
            scores = [float(part) for part in thresholds.split(",")]
        except ValueError:
            scores = []
        if len(scores) != 4 or scores != sorted(scores):
            raise ServeConfigError(
                f"--monitor-thresholds {thresholds!r}: give four growing scores for "
                "flag,throttle,suspend,revoke (e.g. 40,60,80,95)."
            )
        fields.update(zip(("flag", "throttle", "suspend", "revoke"), scores, strict=True))
    return fields or None

"""Reading fields of a parsed JSON body with exact types and ranges.

Every failure is a 400 ``ApiError`` naming the field and what it must be, so a
malformed request never reaches a model and never turns into a 500. JSON numbers
that are not finite (``NaN``, ``1e999``), booleans where numbers are expected, and
strings that cannot be encoded as UTF-8 (lone surrogates) are refused here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from benchwarden.api.errors import ApiError, invalid

# A generous cap on max_tokens: nothing served here produces more in one answer.
MAX_TOKENS_CAP = 1_000_000
MAX_STOP_SEQUENCES = 16


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    if not body.strip():
        raise invalid("The request body is empty; send a JSON object.")
    try:
        data = json.loads(body)
    except UnicodeDecodeError as exc:
        raise invalid("The request body is not UTF-8.") from exc
    except RecursionError as exc:
        raise invalid("The request body is nested too deeply.") from exc
    except ValueError as exc:
        raise invalid(f"The request body is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise invalid(f"The request body must be a JSON object, not {json_type(data)}.")
    return data


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _wrong(name: str, expected: str, value: object) -> ApiError:
    return invalid(f"Field '{name}' must be {expected}, not {json_type(value)}.")


def text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise _wrong(name, "a string", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid(f"Field '{name}' holds text that is not valid Unicode.") from exc
    return value


def get_text(
    data: Mapping[str, Any], name: str, *, required: bool = False, where: str | None = None
) -> str | None:
    """``data[name]`` as text; ``where`` is the path of ``data`` in the body, so an error
    names the field in full (``tools[2].name``)."""
    shown = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"Field '{shown}' is required.")
        return None
    return text(value, shown)


def get_int(
    data: Mapping[str, Any],
    name: str,
    *,
    low: int | None = None,
    high: int | None = None,
    required: bool = False,
) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"Field '{name}' is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(name, "an integer", value)
    if low is not None and value < low:
        raise invalid(f"Field '{name}' must be at least {low}, got {value}.")
    if high is not None and value > high:
        raise invalid(f"Field '{name}' must be at most {high}, got {value}.")
    return value


def get_number(
    data: Mapping[str, Any],
    name: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(name, "a number", value)
    number = float(value)
    below = number <= low if low_open else number < low
    if not math.isfinite(number) or below or number > high:
        bracket = "(" if low_open else "["
        raise invalid(f"Field '{name}' must be within {bracket}{low:g}, {high:g}], got {value}.")
    return number


def get_bool(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _wrong(name, "a boolean", value)
    return value


def get_object(data: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong(name, "an object", value)
    return value


def get_stops(data: Mapping[str, Any], name: str, *, allow_string: bool) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return ()
    if allow_string and isinstance(value, str):
        return (text(value, name),)
    if not isinstance(value, list):
        expected = "a string or an array of strings" if allow_string else "an array of strings"
        raise _wrong(name, expected, value)
    if len(value) > MAX_STOP_SEQUENCES:
        raise invalid(f"Field '{name}' holds at most {MAX_STOP_SEQUENCES} sequences.")
    stops = tuple(text(item, f"{name}[{i}]") for i, item in enumerate(value))
    if any(not stop for stop in stops):
        raise invalid(f"Field '{name}' must not hold empty strings.")
    return stops


def refuse_present(data: Mapping[str, Any], names: tuple[str, ...], what: str) -> None:
    """400 when a feature warden does not serve is asked for (tools, images...)."""
    for name in names:
        if data.get(name) not in (None, [], {}):
            raise invalid(f"Field '{name}' is not supported here: {what}.", "unsupported")


def text_parts(
    value: object, name: str, *, parts: str = "text parts", notes: list[str] | None = None
) -> str:
    """Message content: a string, or an array of ``{"type": "text", "text": ...}``
    parts (OpenAI) or blocks (Anthropic), joined. Other part types are refused: only
    text is served here."""
    if isinstance(value, str):
        return text(value, name)
    if not isinstance(value, list):
        raise invalid(
            f"Field '{name}' must be a string or an array of {parts}, not {json_type(value)}."
        )
    texts = []
    for i, part in enumerate(value):
        if not isinstance(part, dict):
            raise invalid(f"Field '{name}[{i}]' must be an object.")
        if part.get("type") != "text":
            raise invalid(
                f"Field '{name}[{i}].type' must be 'text': only text is served here.",
                "unsupported",
            )
        if notes is not None and "cache_control" in part:
            notes.append("cache_control")
        texts.append(get_text(part, "text", required=True) or "")
    return "".join(texts)

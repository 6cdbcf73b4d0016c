"""The pure pacing decisions: header parsing, error classification, retry policy."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from benchwarden.models.errors import (
    AccessDenied,
    BadRequest,
    ModelTimeout,
    RateLimited,
    UpstreamError,
)
from benchwarden.models.http_errors import classify_http_error
from benchwarden.models.pacing.headers import (
    exhausted_quota_wait,
    parse_duration,
    retry_after_seconds,
)
from benchwarden.models.pacing.retry import GiveUp, Retry, RetryPolicy, decide_retry

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("250ms", 0.25),
        ("1h2m3.5s", 3723.5),
        ("2", 2.0),
        ("0.5", 0.5),
        ("", None),
        ("soon", None),
        ("1s2x", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "3"}, NOW) == 3.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}, NOW) == 1.5
    http_date = (NOW + timedelta(seconds=7)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds({"retry-after": http_date}, NOW) == pytest.approx(7.0)
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds({"retry-after": "99999"}, NOW) == 300.0  # capped


def test_exhausted_quota_headers() -> None:
    openai = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-tokens": "500",
        "x-ratelimit-reset-tokens": "9s",
    }
    assert exhausted_quota_wait(openai, NOW) == 2.0
    reset = (NOW + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    anthropic = {
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": reset,
    }
    assert exhausted_quota_wait(anthropic, NOW) == pytest.approx(4.0)
    assert exhausted_quota_wait({"x-ratelimit-remaining-requests": "3"}, NOW) is None


def _body(code: str, message: str = "nope") -> bytes:
    return json.dumps({"error": {"message": message, "type": "x", "code": code}}).encode()


def test_classification() -> None:
    limited = classify_http_error("m", 429, {"retry-after": "2"}, _body("rate_limited"))
    assert isinstance(limited, RateLimited) and limited.retry_after_s == 2.0
    revoked = classify_http_error("m", 403, {}, _body("key_revoked", "Key was revoked"))
    assert isinstance(revoked, AccessDenied) and revoked.code == "key_revoked"
    assert "revoked" in revoked.hint and not revoked.retryable
    purpose = classify_http_error("m", 403, {}, _body("purpose_not_permitted"))
    assert "--purpose" in purpose.hint
    anthropic = json.dumps(
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    )
    auth = classify_http_error("m", 401, {}, anthropic.encode())
    assert isinstance(auth, AccessDenied) and auth.code == "authentication_error"
    assert isinstance(classify_http_error("m", 400, {}, b"{}"), BadRequest)
    assert isinstance(classify_http_error("m", 404, {}, b"not json"), BadRequest)
    assert isinstance(classify_http_error("m", 503, {}, b""), UpstreamError)
    assert isinstance(classify_http_error("m", 504, {}, b""), ModelTimeout)


def test_error_messages_name_the_model_and_what_to_do() -> None:
    err = classify_http_error("openai/gpt-x", 403, {}, _body("model_not_granted", "no grant"))
    text = str(err)
    assert text.startswith("openai/gpt-x: no grant (HTTP 403, code model_not_granted)")
    assert "ask the provider" in text


POLICY = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=8.0, time_budget_s=60.0)


def test_no_retry_on_client_errors() -> None:
    for error in (AccessDenied("m", "x"), BadRequest("m", "x")):
        assert isinstance(decide_retry(error, 1, 0.0, POLICY), GiveUp)


def test_backoff_is_jittered_and_bounded() -> None:
    rng = random.Random(1)
    for attempt in range(1, 4):
        cap = min(8.0, 2 ** (attempt - 1))
        delays = [
            decide_retry(UpstreamError("m", "x"), attempt, 0.0, POLICY, rng) for _ in range(200)
        ]
        values = [d.delay_s for d in delays if isinstance(d, Retry)]
        assert len(values) == 200
        assert all(0.0 <= v <= cap for v in values)
        assert max(values) - min(values) > cap / 2  # spread, not one fixed delay
    assert isinstance(decide_retry(UpstreamError("m", "x"), 4, 0.0, POLICY), GiveUp)


def test_retry_after_is_honored_and_budget_respected() -> None:
    decision = decide_retry(RateLimited("m", "x", retry_after_s=3.0), 1, 0.0, POLICY)
    assert isinstance(decision, Retry) and 3.0 <= decision.delay_s <= 3.05
    late = decide_retry(RateLimited("m", "x", retry_after_s=3.0), 1, 58.0, POLICY)
    assert isinstance(late, GiveUp) and "budget" in late.reason
    assert isinstance(decide_retry(ModelTimeout("m", "x"), 1, 0.0, POLICY), Retry)

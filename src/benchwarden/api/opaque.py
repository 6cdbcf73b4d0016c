"""Another provider's thinking, carried through a client that only knows OpenAI's form.

When warden answers a Responses client from an Anthropic model, the model's thinking
and its signature must come back on the next turn (Anthropic refuses a tool-result
turn whose thinking was dropped). The Responses API's place for that is a reasoning
item's ``encrypted_content``, which clients return untouched: warden puts the neutral
``Reasoning`` there, marked with a prefix, and takes it out again. It is not secret
(the thinking text is the client's own answer), and a forged one only reaches the
provider, which checks its own signature.
"""

from __future__ import annotations

import base64
import json

from benchwarden.models.content import Reasoning

PREFIX = "bw1:"


def wrap(reasoning: Reasoning) -> str:
    data = {
        "text": reasoning.text,
        "signature": reasoning.signature,
        "encrypted": reasoning.encrypted,
        "provider": reasoning.provider,
    }
    blob = json.dumps(data, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(blob).decode()


def unwrap(value: str) -> Reasoning | None:
    """The wrapped Reasoning, or None when ``value`` is a real provider's opaque data."""
    if not value.startswith(PREFIX):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value[len(PREFIX) :]))
        return Reasoning(
            text=str(data.get("text") or ""),
            signature=data.get("signature"),
            encrypted=data.get("encrypted"),
            provider=data.get("provider"),
        )
    except (ValueError, TypeError, AttributeError):
        return None

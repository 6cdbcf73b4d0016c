"""The wire formats both sides speak: OpenAI Chat Completions and Anthropic Messages.

Pure data and functions: request parsing and validation (``openai.parse_request``,
``anthropic.parse_request``), response bodies, stream encoders and error bodies. No
I/O, so warden's endpoints and any test can use them alike.
"""

from benchwarden.api.errors import ApiError, Dialect, error_body, error_headers
from benchwarden.api.wire import ParsedCall, StreamEncoder

__all__ = ["ApiError", "Dialect", "ParsedCall", "StreamEncoder", "error_body", "error_headers"]

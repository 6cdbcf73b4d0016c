"""Is a response a refusal? An offline classifier and the string-matching baseline.

- :func:`classify` / :func:`classify_batch`: the trained classifier (numpy only; the
  parameters ship in ``params/``), one of ``full_compliance``, ``full_refusal``,
  ``partial_refusal`` with a confidence.
- :func:`string_match_label`: the XSTest-style string-matching baseline.

See docs/REFUSAL.md for the method, the leave-one-model-out results and the limitations.
"""

from benchwarden.bench.refusal.classifier import (
    RefusalClassifier,
    RefusalModelError,
    classify,
    classify_batch,
    load_default,
)
from benchwarden.bench.refusal.strings import LABELS, Label, string_match_label

__all__ = [
    "LABELS",
    "Label",
    "RefusalClassifier",
    "RefusalModelError",
    "classify",
    "classify_batch",
    "load_default",
    "string_match_label",
]

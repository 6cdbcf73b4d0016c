"""What this node can run: the sandbox, and each polyglot language's toolchain.

``python -m benchwarden.bench.cluster.offers`` prints them as the JSON that
``ray start --resources`` takes, so a node declares exactly what it has::

    ray start --address=HEAD:6379 --resources="$(python -m benchwarden.bench.cluster.offers)"

Workers check the same facts before doing a unit (``missing``), so a node that
declared too much still refuses cleanly instead of scoring with less.
"""

from __future__ import annotations

import functools
import json
import os

from benchwarden.bench.cluster.needs import resource_name

NODE_CAPACITY = 1000.0
"""The amount of each declared resource (units take ``needs.RESOURCE_SHARE`` each)."""


def _sandbox_reason() -> str | None:
    from benchwarden.bench.sandbox.execute import FORCE_FALLBACK_ENV, bwrap_available

    if bwrap_available():
        return None
    if os.environ.get(FORCE_FALLBACK_ENV) == "1":
        return f"the bubblewrap sandbox is turned off here ({FORCE_FALLBACK_ENV}=1)"
    from benchwarden.bench.sandbox.execute import _probe

    return f"the bubblewrap sandbox does not run here: {_probe()[1]}"


@functools.cache
def missing(requirement: str) -> str | None:
    """Why this node cannot meet ``requirement`` (None when it can); checked once."""
    if requirement == "sandbox":
        return _sandbox_reason()
    if requirement.startswith("toolchain:"):
        from benchwarden.bench.agentic.check import language_reason

        language = requirement.split(":", 1)[1]
        reason = language_reason(language)
        return f"the {language} toolchain is missing ({reason})" if reason else None
    return f"unknown requirement {requirement!r} (a newer benchwarden on the driver?)"


def requirements_known() -> list[str]:
    from benchwarden.bench.agentic.exercises import LANGUAGES

    return ["sandbox", *(f"toolchain:{language}" for language in LANGUAGES)]


def offered() -> dict[str, float]:
    """The custom resources this node has (for ``ray start --resources``)."""
    have = [r for r in requirements_known() if missing(r) is None]
    if "sandbox" not in have:  # every toolchain runs inside the sandbox
        have = []
    return {resource_name(r): NODE_CAPACITY for r in have}


def main() -> None:
    print(json.dumps(offered(), sort_keys=True))


if __name__ == "__main__":
    main()

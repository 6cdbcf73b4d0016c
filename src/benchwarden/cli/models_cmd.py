"""``benchwarden models``: what can be reached from here, and whether its key is set."""

from __future__ import annotations

from rich.table import Table

from benchwarden.cli.common import ConfigOption, configured_models, console
from benchwarden.models.registry import list_models


def models(config: ConfigOption = None) -> None:
    """List the embedded models and the configured ones (keys are never shown)."""
    table = Table(title="Models", title_justify="left")
    for column in ("name", "provider", "endpoint", "mode", "key", "permitted purposes"):
        table.add_column(column, overflow="fold")
    for row in list_models(configured_models(config)):
        spec = row.spec
        endpoint = spec.base_url or "embedded (llama.cpp)"
        purposes = "any (not restricted)" if spec.purposes is None else ", ".join(spec.purposes)
        key = row.key_status
        style = "red" if key.startswith("missing") else None
        table.add_row(
            spec.name,
            spec.provider,
            endpoint,
            spec.mode.value,
            f"[{style}]{key}[/]" if style else key,
            purposes,
        )
    console.print(table)
    console.print(
        "Also reachable by name: openai/<model> (OPENAI_API_KEY), "
        "anthropic/<model> (ANTHROPIC_API_KEY).",
        style="dim",
    )

"""``benchwarden models``: what can be reached from here, and whether its key is set."""

from __future__ import annotations

from benchwarden.cli.common import ConfigOption, configured_models
from benchwarden.cli.listing import Column, JsonOption, Section, emit
from benchwarden.models.config import ModelSpec
from benchwarden.models.registry import list_models

COLUMNS = (
    Column("name", kind="id"),
    Column("provider", kind="id"),
    Column("endpoint"),
    Column("mode", kind="id"),
    Column("key"),
    Column(
        "purposes",
        "permitted purposes",
        show=lambda p: "any (not restricted)" if p is None else ", ".join(p),
    ),
)


def _endpoint(spec: ModelSpec) -> str:
    if spec.provider == "replay":
        return f"replay:{spec.upstream_model}"
    return spec.base_url or "embedded (llama.cpp)"


def models(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the embedded models and the configured ones (keys are never shown).

    Plain tab-separated rows when the output is not a terminal (name, provider,
    endpoint, mode, key, purposes); --json for every field.
    """
    rows = [
        {
            "name": row.spec.name,
            "provider": row.spec.provider,
            "endpoint": _endpoint(row.spec),
            "mode": row.spec.mode.value,
            "key": row.key_status,
            "purposes": None if row.spec.purposes is None else list(row.spec.purposes),
        }
        for row in list_models(configured_models(config))
    ]
    note = (
        "Also reachable by name: openai/<model> (OPENAI_API_KEY), anthropic/<model> "
        "(ANTHROPIC_API_KEY), replay:FILE (recorded answers, CSV or JSONL)."
    )
    emit(Section("Models", COLUMNS, rows, (note,)), as_json=as_json)

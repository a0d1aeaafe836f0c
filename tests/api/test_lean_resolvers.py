"""Lean resolvers: only fields that use nothing of strawberry's per-call wrapper lose it."""

from __future__ import annotations

from backend.api.schema import build_schema


def test_fields_without_arguments_or_permissions_resolve_directly():
    schema = build_schema(local_mode=False)
    fields = schema._schema.type_map

    member = fields["Member"].fields  # type: ignore[attr-defined]
    query = fields["Query"].fields  # type: ignore[attr-defined]
    assert member["points"].resolve.__qualname__.startswith("_call.")
    assert member["cardNumber"].resolve.__qualname__.startswith("_attribute.")
    assert not member["history"].resolve.__qualname__.startswith(("_call.", "_attribute."))
    assert not query["me"].resolve.__qualname__.startswith(("_call.", "_attribute."))

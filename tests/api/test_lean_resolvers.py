"""Lean resolvers and enum outputs: the same answers with less of strawberry's per-call work."""

from __future__ import annotations

from strawberry.schema.schema_converter import CustomGraphQLEnumType

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


def test_every_enum_member_is_named_as_strawberry_names_it():
    schema = build_schema(local_mode=False)._schema
    enums = [t for t in schema.type_map.values() if isinstance(t, CustomGraphQLEnumType)]

    for enum in enums:
        for member in enum.wrapped_cls:
            assert enum.coerce_output_value(member) == type(enum).coerce_output_value(enum, member)
            assert enum.coerce_output_value(member.value) == type(enum).coerce_output_value(
                enum, member.value
            )
    assert enums

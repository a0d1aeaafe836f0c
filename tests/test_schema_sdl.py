"""The schema is a product: schema.graphql is generated and in sync, and everything is described."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from backend.api.schema import build_schema
from scripts.export_schema import SCHEMA_FILE, sdl

BUILT_IN = ("__", "Boolean", "String", "Int", "Float", "ID")


def test_schema_graphql_matches_the_code():
    assert SCHEMA_FILE.read_text() == sdl(), (
        "run: .venv/bin/python -m scripts.export_schema --write"
    )


def test_every_type_field_and_argument_is_described():
    schema = build_schema(local_mode=False)._schema
    missing = []
    for name, gql_type in schema.type_map.items():
        if name.startswith(BUILT_IN):
            continue
        if not gql_type.description:
            missing.append(name)
        if isinstance(gql_type, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in gql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(gql_type, GraphQLEnumType) and not gql_type.values:
            missing.append(name)
    assert missing == [], ", ".join(missing)

"""Global ids (Relay): `base64("<Type>:<pk>")`, shared by the API and the pushes that name objects."""

from __future__ import annotations

import base64


def global_id(type_name: str, pk: int) -> str:
    """The global id the API gives the object `pk` of a type (e.g. a notification in a push)."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()

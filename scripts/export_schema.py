"""Print the GraphQL schema as SDL; `--write` updates schema.graphql at the repo root."""

from __future__ import annotations

import sys
from pathlib import Path

from backend.api.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def sdl() -> str:
    """The schema as the app serves it, in SDL with a trailing newline."""
    return str(build_schema(local_mode=False)) + "\n"


def main() -> None:
    """Write or print the SDL."""
    if "--write" in sys.argv:
        SCHEMA_FILE.write_text(sdl())
        print(f"wrote {SCHEMA_FILE}")
    else:
        sys.stdout.write(sdl())


if __name__ == "__main__":
    main()

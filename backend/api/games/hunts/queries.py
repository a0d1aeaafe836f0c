"""Hunt reads for staff: the hunts flagged as suspicious (a Relay connection)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.games.hunts.types import FlaggedMascotHunt
from backend.api.permissions import IsMemberReader, StaffRateLimit
from backend.api.types import connection, decode_cursor, page_size
from backend.rewards.games.mascot.queries import FlaggedHunts
from backend.rewards.members.lookup import record_flagged_hunt_reads

CURSOR = "flagged_hunt"


@strawberry.type(description="Hunt queries.")
class HuntsQuery:
    @strawberry.field(
        description="Staff (marketing, admin, support): finished hunts flagged as suspicious "
        "(many forged or too-fast catches), newest first (Relay connection). Each hunt shown is "
        "written to the audit trail as a read of its member.",
        permission_classes=[IsMemberReader, StaffRateLimit],
    )
    async def flagged_mascot_hunts(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last hunt already seen.")
        ] = None,
    ) -> relay.Connection[FlaggedMascotHunt]:
        """Keyset-paginate the flagged hunts with their members' card numbers (one read, audited)."""
        page = FlaggedHunts(page_size(first), decode_cursor(after, CURSOR))
        rows, more = await info.context.loaders.read(page)
        staff, shown = info.context.principal, [(r.id, r.member_id) for r in rows]
        if shown and staff is not None:  # card numbers are member data: audited like a lookup
            await info.context.uows.run(
                lambda uow: record_flagged_hunt_reads(uow, staff=staff, hunts=shown)
            )
        nodes = [(r.id, FlaggedMascotHunt.of(r)) for r in rows]
        return connection(nodes, more=more, after=after, kind=CURSOR)

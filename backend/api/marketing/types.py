"""Marketing types: segments (filters over members), previews and surprise campaigns with results."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.types import parse_global_id, parse_pk
from backend.ids import global_id
from backend.rewards.errors import NotFound
from backend.rewards.marketing import queries
from backend.rewards.marketing.rules import CampaignStatus, RewardKind
from backend.rewards.marketing.segments import Preview, SegmentFilter

SurpriseRewardKind = strawberry.enum(
    RewardKind,
    name="SurpriseRewardKind",
    description="What a surprise gives: POINTS (credited through the ledger), OFFER (a voucher "
    "of a gift offer), EXTRA_SPINS (a voucher of an EXTRA_SPIN gift offer, which banks one "
    "wheel spin at once).",
)
CampaignStatusGql = strawberry.enum(
    CampaignStatus,
    name="CampaignStatus",
    description="SCHEDULED (waiting for `sendAt`), SENDING (members are being rewarded), DONE.",
)


def pk_of(value: str, type_name: str, code: str, field: str) -> int:
    """The row id of a global id of `type_name`, or a typed not-found error (no SQL)."""
    parsed = parse_global_id(value)
    if parsed is None or parsed[0] != type_name:
        raise NotFound(code, f"No {type_name.lower()} has that id.", field=field)
    return parsed[1]


def _club_ids(values: list[strawberry.ID]) -> tuple[int, ...]:
    """Club global ids as row ids; an id that names no club is refused."""
    return tuple(pk_of(str(v), "Club", "INVALID_FILTER", "filter.clubIds") for v in values)


@strawberry.input(
    description="Who is in a segment: every part given must hold; within a list any value "
    "matches; parts left out are not asked. Only active members are ever in a segment. Lists "
    "hold at most 20 codes."
)
class SegmentFilterInput:
    tiers: list[str] = strawberry.field(
        default_factory=list, description="Tier codes, e.g. `gold`."
    )
    club_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Clubs: a term in one of them runs."
    )
    hair_colours: list[str] = strawberry.field(
        default_factory=list, description="StyleID hair colour codes."
    )
    body_shapes: list[str] = strawberry.field(
        default_factory=list, description="StyleID body shape codes."
    )
    styles: list[str] = strawberry.field(
        default_factory=list, description="StyleID style codes: at least one of them chosen."
    )
    colours: list[str] = strawberry.field(
        default_factory=list, description="StyleID colour codes: at least one of them chosen."
    )
    categories_bought: list[str] = strawberry.field(
        default_factory=list, description="Product categories: bought at least once in one."
    )
    last_purchase_before: datetime | None = strawberry.field(
        default=None,
        description="The last purchase lies before this time (members who "
        "never bought are left out).",
    )
    last_purchase_after: datetime | None = strawberry.field(
        default=None, description="Bought something after this time."
    )
    inactive_days: int | None = strawberry.field(
        default=None,
        description="No purchase in this many days (1 to 3650; never bought counts).",
    )
    balance_min: int | None = strawberry.field(default=None, description="Balance at least.")
    balance_max: int | None = strawberry.field(default=None, description="Balance at most.")
    birthday_month: int | None = strawberry.field(
        default=None, description="Born in this month (1 to 12)."
    )
    languages: list[str] = strawberry.field(
        default_factory=list,
        description="Languages of the member's locale, e.g. `nl` (matches `nl-NL`, `nl-BE`).",
    )
    marketing_consent: bool | None = strawberry.field(
        default=None, description="Consented to marketing pushes (true) or not (false)."
    )

    def spec(self) -> SegmentFilter:
        """The domain's filter (club ids parsed; checked by the use case)."""
        return SegmentFilter(
            tiers=tuple(self.tiers),
            club_ids=_club_ids(self.club_ids),
            hair_colours=tuple(self.hair_colours),
            body_shapes=tuple(self.body_shapes),
            styles=tuple(self.styles),
            colours=tuple(self.colours),
            categories_bought=tuple(self.categories_bought),
            last_purchase_before=self.last_purchase_before,
            last_purchase_after=self.last_purchase_after,
            inactive_days=self.inactive_days,
            balance_min=self.balance_min,
            balance_max=self.balance_max,
            birthday_month=self.birthday_month,
            languages=tuple(self.languages),
            marketing_consent=self.marketing_consent,
        )


@strawberry.type(description="A segment's filter as saved (parts not asked are empty or null).")
class SegmentFilterView:
    tiers: list[str] = strawberry.field(description="Tier codes.")
    club_ids: list[strawberry.ID] = strawberry.field(description="Clubs.")
    hair_colours: list[str] = strawberry.field(description="StyleID hair colour codes.")
    body_shapes: list[str] = strawberry.field(description="StyleID body shape codes.")
    styles: list[str] = strawberry.field(description="StyleID style codes.")
    colours: list[str] = strawberry.field(description="StyleID colour codes.")
    categories_bought: list[str] = strawberry.field(description="Categories bought.")
    last_purchase_before: datetime | None = strawberry.field(description="Last purchase before.")
    last_purchase_after: datetime | None = strawberry.field(description="Bought after.")
    inactive_days: int | None = strawberry.field(description="No purchase in this many days.")
    balance_min: int | None = strawberry.field(description="Balance at least.")
    balance_max: int | None = strawberry.field(description="Balance at most.")
    birthday_month: int | None = strawberry.field(description="Birthday month.")
    languages: list[str] = strawberry.field(description="Languages of the locale.")
    marketing_consent: bool | None = strawberry.field(description="Marketing consent.")

    @classmethod
    def of(cls, stored: dict[str, Any]) -> SegmentFilterView:
        """Convert a stored filter."""
        spec = SegmentFilter.of_json(stored)
        values: dict[str, Any] = {name: getattr(spec, name) for name in cls.__annotations__}
        values["club_ids"] = [strawberry.ID(global_id("Club", pk)) for pk in spec.club_ids]
        listed: dict[str, Any] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
        }
        return cls(**listed)


@strawberry.type(description="How many members a segment holds now.")
class SegmentPreview:
    members: int = strawberry.field(description="Active members in the segment.")
    with_consent: int = strawberry.field(
        description="Of them, members who accept marketing pushes."
    )
    reachable: int = strawberry.field(
        description="Of those, members with at least one registered device."
    )

    @classmethod
    def of(cls, found: Preview) -> SegmentPreview:
        """Convert the domain's counts."""
        return cls(
            members=found.members, with_consent=found.with_consent, reachable=found.reachable
        )


def _staff(info: Info) -> bool:
    """Whether the caller is marketing or admin staff."""
    principal = info.context.principal
    return principal is not None and principal.role.is_staff


@strawberry.type(description="Marketing's saved filter over members.")
class Segment(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="What marketing calls it.")
    filter: SegmentFilterView = strawberry.field(description="Who is in it.")
    created_by: str = strawberry.field(description="The staff user who made it.")
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_by: str = strawberry.field(description="The staff user who changed it last.")
    updated_at: datetime = strawberry.field(description="When it was changed last.")

    @classmethod
    def of(cls, row: Any) -> Segment:
        """Convert a segment row."""
        return cls(
            id=row.id,
            name=row.name,
            filter=SegmentFilterView.of(row.filter),
            created_by=row.created_by,
            created_at=row.created_at,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Segment | None]:
        """Segments by id, for marketing and admin only."""
        found: list[Segment | None] = []
        async with info.context.loaders.connection() as conn:
            for node_id in node_ids:
                row = await queries.by_id(conn, queries.SEGMENT, parse_pk(node_id) or 0)
                found.append(cls.of(row) if row is not None and _staff(info) else None)
        return found


@strawberry.type(description="Purchases after a campaign's send by one group of its members.")
class PurchasesAfter:
    members: int = strawberry.field(description="Members in the group.")
    purchases: int = strawberry.field(description="Their purchases from the send time on.")
    per_member: float = strawberry.field(description="Purchases per member (0 when empty).")

    @classmethod
    def of(cls, group: queries.Group) -> PurchasesAfter:
        """Convert one group's counts."""
        return cls(members=group.members, purchases=group.purchases, per_member=group.rate)


@strawberry.type(description="What a campaign did so far.")
class CampaignResults:
    targeted: int = strawberry.field(
        description="Members of the segment the campaign reached: rewarded, held out or left "
        "without a reward because the offer had closed or run out."
    )
    rewarded: int = strawberry.field(description="Members who got the reward.")
    held_out: int = strawberry.field(description="Members kept out to measure uplift.")
    unavailable: int = strawberry.field(
        description="Members who got nothing because the offer closed or ran out first."
    )
    pushed: int = strawberry.field(
        description="Rewarded members whose push was queued (consent, a device, under the "
        "weekly cap; quiet hours only delay it)."
    )
    delivered: int = strawberry.field(description="Pushes that reached at least one device.")
    failed: int = strawberry.field(
        description="Pushes that reached no device after every try (or whose devices are gone)."
    )
    opened: int = strawberry.field(description="Rewarded members who opened the message.")
    redeemed: int = strawberry.field(
        description="Vouchers of the campaign a store has used (voucher rewards)."
    )
    treated: PurchasesAfter = strawberry.field(
        description="Purchases after the send by rewarded members."
    )
    holdout: PurchasesAfter = strawberry.field(
        description="Purchases after the send by held-out members."
    )

    @classmethod
    def of(cls, found: queries.Results) -> CampaignResults:
        """Convert the domain's results."""
        return cls(
            targeted=found.targeted,
            rewarded=found.rewarded,
            held_out=found.held_out,
            unavailable=found.unavailable,
            pushed=found.pushed,
            delivered=found.delivered,
            failed=found.failed,
            opened=found.opened,
            redeemed=found.redeemed,
            treated=PurchasesAfter.of(found.treated),
            holdout=PurchasesAfter.of(found.holdout),
        )


@strawberry.type(description="A surprise sent (or to be sent) to the members of a segment.")
class Campaign(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="What marketing calls it.")
    segment_id: strawberry.ID = strawberry.field(description="The segment it was sent to.")
    filter: SegmentFilterView = strawberry.field(
        description="The segment's filter when the campaign was made (the one it uses)."
    )
    reward_kind: SurpriseRewardKind = strawberry.field(description="What it gives.")  # type: ignore[valid-type]
    points: int | None = strawberry.field(description="Points per member (POINTS).")
    offer_id: strawberry.ID | None = strawberry.field(
        description="The offer whose voucher members get (OFFER, EXTRA_SPINS)."
    )
    message: str = strawberry.field(description="The message members read.")
    send_at: datetime = strawberry.field(description="When it is sent.")
    holdout_percent: int = strawberry.field(description="Share of the segment held out.")
    status: CampaignStatusGql = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    created_by: str = strawberry.field(description="The staff user who sent it.")
    created_at: datetime = strawberry.field(description="When it was made.")
    started_at: datetime | None = strawberry.field(description="When the first batch went out.")
    finished_at: datetime | None = strawberry.field(description="When the last batch went out.")
    results: CampaignResults = strawberry.field(description="What it did so far.")

    @classmethod
    def of(cls, row: Any, found: queries.Results) -> Campaign:
        """Convert a campaign row with its results."""
        offer = strawberry.ID(global_id("Offer", row.offer_id)) if row.offer_id else None
        return cls(
            id=row.id,
            name=row.name,
            segment_id=strawberry.ID(global_id("Segment", row.segment_id)),
            filter=SegmentFilterView.of(row.filter),
            reward_kind=RewardKind(row.reward_kind),
            points=row.points,
            offer_id=offer,
            message=row.message,
            send_at=row.send_at,
            holdout_percent=row.holdout_percent,
            status=CampaignStatus(row.status),
            created_by=row.created_by,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            results=CampaignResults.of(found),
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Campaign | None]:
        """Campaigns by id with their results, for marketing and admin only."""
        ids = [parse_pk(i) or 0 for i in node_ids]
        async with info.context.loaders.connection() as conn:
            rows = [await queries.by_id(conn, queries.CAMPAIGN, pk) for pk in ids]
            found = await queries.results(conn, [r.id for r in rows if r is not None])
        return [cls.of(r, found[r.id]) if r is not None and _staff(info) else None for r in rows]


async def campaign_answer(info: Info, campaign_id: int) -> Campaign:
    """A campaign read afresh with its results, for a payload after the commit."""
    (found,) = await Campaign.resolve_nodes(info=info, node_ids=[str(campaign_id)])
    assert found is not None
    return found

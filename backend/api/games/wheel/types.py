"""GraphQL types of the wheel of points, converted explicitly from the domain's values and rows."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.offers.types import Voucher
from backend.rewards import queries
from backend.rewards.games.wheel.queries import CONFIG, WheelState
from backend.rewards.games.wheel.rules import Config
from games.wheel import Chance, Payment, Segment, SegmentKind, Void, Wheel, chances_by_kind, odds

WheelSegmentKind = strawberry.enum(
    SegmentKind,
    name="WheelSegmentKind",
    description="What a segment gives: POINTS (through the ledger), OFFER (a voucher), "
    "EXTRA_SPIN (one more spin, banked), TRY_AGAIN (nothing).",
)
WheelVoid = strawberry.enum(
    Void,
    name="WheelVoid",
    description="Why a landed segment paid nothing: BUDGET_SPENT (today's points budget could "
    "not pay its points), OFFER_UNAVAILABLE (its offer closed or ran out).",
)
WheelPayment = strawberry.enum(
    Payment,
    name="WheelPayment",
    description="What a spin used: FREE (today's allowance), EXTRA (a banked extra spin), "
    "BOUGHT (paid in points).",
)


@strawberry.type(description="An exact chance, as a reduced fraction.")
class WheelChance:
    numerator: int = strawberry.field(description="The top of the fraction.")
    denominator: int = strawberry.field(description="The bottom of the fraction (above 0).")

    @classmethod
    def of(cls, chance: Fraction) -> WheelChance:
        """Convert a fraction."""
        return cls(numerator=chance.numerator, denominator=chance.denominator)


def _offer_id(segment: Segment) -> strawberry.ID | None:
    """The global id of a segment's offer."""
    if segment.offer_id is None:
        return None
    return strawberry.ID(str(relay.GlobalID("Offer", str(segment.offer_id))))


@strawberry.type(description="One slice of the wheel, in the published order.")
class WheelSegment:
    index: int = strawberry.field(description="Position on the wheel, from 0.")
    kind: WheelSegmentKind = strawberry.field(description="What it gives.")  # type: ignore[valid-type]
    weight: int = strawberry.field(description="Its weight: its chance is weight / total weight.")
    points: int = strawberry.field(description="Points it gives (POINTS segments), else 0.")
    offer_id: strawberry.ID | None = strawberry.field(description="Its offer (OFFER segments).")
    chance: WheelChance = strawberry.field(description="The exact chance of landing on it.")
    pays_now: WheelSegmentKind = strawberry.field(  # type: ignore[valid-type]
        description="What landing on it pays now: TRY_AGAIN for POINTS segments whose points "
        "today's budget can no longer pay, else its kind."
    )

    @classmethod
    def of(cls, index: int, chance: Chance) -> WheelSegment:
        """Convert a segment with its chance."""
        segment = chance.segment
        return cls(
            index=index,
            kind=segment.kind,
            weight=segment.weight,
            points=segment.points,
            offer_id=_offer_id(segment),
            chance=WheelChance.of(chance.chance),
            pays_now=chance.pays,
        )


@strawberry.type(description="The exact chance of one kind of payout on the next spin.")
class WheelOdds:
    kind: WheelSegmentKind = strawberry.field(description="What is paid.")  # type: ignore[valid-type]
    chance: WheelChance = strawberry.field(description="Its exact chance (the odds add up to 1).")


@strawberry.type(description="The signed-in member's spins.")
class WheelSpins:
    left_today: int = strawberry.field(
        description="Spins the member can take today without paying: free ones plus extra ones."
    )
    free_left_today: int = strawberry.field(description="Free spins left today.")
    extra: int = strawberry.field(
        description="Extra spins banked (won, or granted); they do not expire."
    )
    next_free_spin_at: datetime = strawberry.field(
        description="When the free spins refill: the member's next local midnight (their time "
        "zone)."
    )
    next_commitment: str = strawberry.field(
        description="SHA-256 (hex) of the server seed the next spin will use; the spin reveals "
        "the seed, so anyone can check it against this and recompute the spin."
    )
    next_nonce: int = strawberry.field(description="The nonce the next spin will use.")


@strawberry.type(
    name="Wheel",
    description="The wheel of points: segments with weights, exact odds as of now, the price "
    "of an extra spin and the daily points budget.",
)
class WheelOfPoints:
    version: int = strawberry.field(description="The configuration's version; spins name theirs.")
    free_spins_per_day: int = strawberry.field(description="Free spins per member-local day.")
    extra_spin_price: int | None = strawberry.field(
        description="Points an extra spin costs; null: extra spins are not sold."
    )
    daily_points_budget: int | None = strawberry.field(
        description="Points the wheel may pay out per UTC day, program-wide; null: no budget."
    )
    points_budget_left_today: int | None = strawberry.field(
        description="What is left of today's (UTC) budget; null: no budget."
    )
    segments: list[WheelSegment] = strawberry.field(description="The segments, in order.")
    odds: list[WheelOdds] = strawberry.field(
        description="The exact chance of each payout on the next spin, the budget applied: once "
        "a POINTS segment's points do not fit the budget left, its chance counts for TRY_AGAIN."
    )
    spins: WheelSpins | None = strawberry.field(
        description="The signed-in member's spins; null for staff."
    )

    @classmethod
    def of(cls, config: Config, state: WheelState | None, points_left: int | None) -> WheelOfPoints:
        """Convert a wheel version, with a member's state when a member asks."""
        wheel = config.wheel
        chances = odds(wheel, points_left)
        spins = None
        if state is not None and state.commitment is not None:
            spins = WheelSpins(
                left_today=state.left.total,
                free_left_today=state.left.free_left,
                extra=state.left.extra,
                next_free_spin_at=state.next_free_spin_at,
                next_commitment=state.commitment,
                next_nonce=state.nonce,
            )
        return cls(
            version=config.id,
            free_spins_per_day=wheel.free_spins_per_day,
            extra_spin_price=wheel.extra_spin_price,
            daily_points_budget=wheel.daily_points_budget,
            points_budget_left_today=points_left,
            segments=[WheelSegment.of(i, c) for i, c in enumerate(chances)],
            odds=[
                WheelOdds(kind=kind, chance=WheelChance.of(chance))
                for kind, chance in chances_by_kind(chances).items()
            ],
            spins=spins,
        )


@strawberry.type(
    description="One spin, decided by the server. Recompute it from `serverSeed`, `nonce` and "
    "`segments` (see the README, `scripts/verify_spin.py`)."
)
class WheelSpin:
    nonce: int = strawberry.field(description="The spin's nonce (the member's spin count).")
    server_seed: str = strawberry.field(description="The revealed server seed (hex).")
    commitment: str = strawberry.field(
        description="SHA-256 (hex) of `serverSeed`, as shown before the spin."
    )
    segment_index: int = strawberry.field(description="The segment the wheel landed on.")
    kind: WheelSegmentKind = strawberry.field(  # type: ignore[valid-type]
        description="What the spin paid: the landed segment's kind, or TRY_AGAIN when void."
    )
    void: WheelVoid | None = strawberry.field(  # type: ignore[valid-type]
        description="Why the landed segment paid nothing; null when it paid."
    )
    points_won: int = strawberry.field(description="Points credited through the ledger.")
    paid_with: WheelPayment = strawberry.field(description="What the spin used.")  # type: ignore[valid-type]
    points_spent: int = strawberry.field(description="Points a bought spin cost; else 0.")
    config_version: int = strawberry.field(description="The wheel version it was spun on.")
    spun_at: datetime = strawberry.field(description="When it was spun.")
    voucher_id: strawberry.Private[int | None]

    @strawberry.field(description="The wheel's segments as they were for this spin, in order.")
    async def segments(self, info: Info) -> list[WheelSegment]:
        """The spin's wheel version, read through the request's batch."""
        (row,) = await info.context.loaders.read(queries.ByIds(CONFIG, (self.config_version,)))
        wheel: Wheel = Config.of(row).wheel
        return [WheelSegment.of(i, c) for i, c in enumerate(odds(wheel, None))]

    @strawberry.field(description="The voucher won (OFFER), else null.")
    async def voucher(self, info: Info) -> Voucher | None:
        """The voucher, in the member's language."""
        if self.voucher_id is None:
            return None
        (row,) = await Voucher.resolve_nodes(info=info, node_ids=[str(self.voucher_id)])
        return row

    @classmethod
    def of(cls, row: Any) -> WheelSpin:
        """Convert a `wheel_spin` row."""
        return cls(
            nonce=row.nonce,
            server_seed=row.seed,
            commitment=row.commitment,
            segment_index=row.segment_index,
            kind=SegmentKind(row.kind),
            void=Void(row.void) if row.void else None,
            points_won=row.points,
            paid_with=Payment(row.paid_with),
            points_spent=row.points_spent,
            config_version=row.config_id,
            spun_at=row.created_at,
            voucher_id=row.voucher_id,
        )

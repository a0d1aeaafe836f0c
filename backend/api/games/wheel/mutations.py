"""Wheel mutations: marketing configures the wheel; members spin it. One unit of work each."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.games.wheel.queries import wheel_now
from backend.api.games.wheel.types import WheelOfPoints, WheelSegmentKind, WheelSpin
from backend.api.offers.mutations import pk_of
from backend.api.permissions import IsMember, IsStaff, SpinWheelRateLimit, StaffRateLimit
from backend.api.units import perform
from backend.rewards.games.wheel.services import configure_wheel, spin_wheel
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork
from games.wheel import Segment, SegmentKind, Wheel

ConfigureWheelError = payload_error(
    "ConfigureWheel",
    [
        "INVALID_SEGMENTS",
        "INVALID_WEIGHT",
        "INVALID_POINTS",
        "INVALID_OFFER",
        "INVALID_ID",
        "UNKNOWN_OFFER",
        "INVALID_FREE_SPINS",
        "INVALID_PRICE",
        "INVALID_BUDGET",
    ],
    "the wheel",
)
SpinWheelError = payload_error(
    "SpinWheel",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "WHEEL_CLOSED",
        "NO_SPINS_LEFT",
        "EXTRA_SPINS_NOT_SOLD",
        "NOT_ENOUGH_POINTS",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the spin",
)


@strawberry.input(description="One slice of the wheel.")
class WheelSegmentInput:
    kind: WheelSegmentKind = strawberry.field(description="What it gives.")  # type: ignore[valid-type]
    weight: int = strawberry.field(
        description="Its weight, 1 to 1,000,000: its chance is weight / total weight."
    )
    points: int = strawberry.field(
        default=0, description="POINTS segments: points it gives, 1 to 1,000,000 (else 0)."
    )
    offer_id: strawberry.ID | None = strawberry.field(
        default=None, description="OFFER segments: the offer a voucher is issued for."
    )


@strawberry.input(description="A new version of the wheel; it replaces the current one.")
class ConfigureWheelInput:
    segments: list[WheelSegmentInput] = strawberry.field(
        description="2 to 24 segments, in the order the app draws them."
    )
    free_spins_per_day: int = strawberry.field(
        default=1, description="Free spins per member-local day, 0 to 100."
    )
    extra_spin_price: int | None = strawberry.field(
        default=None, description="Points an extra spin costs, 1 to 1,000,000; null: not sold."
    )
    daily_points_budget: int | None = strawberry.field(
        default=None,
        description="Points the wheel may pay out per UTC day, program-wide (0 to "
        "1,000,000,000); null: no budget.",
    )

    def wheel(self) -> Wheel:
        """The domain's wheel (offer ids decoded; a bad one is a typed error)."""
        segments = tuple(
            Segment(
                SegmentKind(s.kind),
                s.weight,
                s.points,
                pk_of(str(s.offer_id), "Offer", f"segments.{i}.offerId") if s.offer_id else None,
            )
            for i, s in enumerate(self.segments)
        )
        return Wheel(
            segments, self.free_spins_per_day, self.extra_spin_price, self.daily_points_budget
        )


@strawberry.type(description="Result of `configureWheel`.")
class ConfigureWheelPayload:
    wheel: WheelOfPoints | None = strawberry.field(description="The wheel now in force.")
    errors: list[ConfigureWheelError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `spinWheel`.")
class SpinWheelPayload:
    spin: WheelSpin | None = strawberry.field(
        description="The spin; a replay of the key gets this same first answer."
    )
    wheel: WheelOfPoints | None = strawberry.field(
        description="The wheel after the spin: spins left and the next spin's commitment."
    )
    errors: list[SpinWheelError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing used or spent); empty on success."
    )


@strawberry.type(description="Wheel of points mutations.")
class WheelMutation:
    @strawberry.mutation(
        description="Marketing/admin: publish a new version of the wheel (audited).",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def configure_wheel(
        self,
        info: Info,
        input: Annotated[ConfigureWheelInput, strawberry.argument(description="The wheel.")],
    ) -> ConfigureWheelPayload:
        """Configure the wheel."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Decode the offer ids inside the attempt."""
            return await configure_wheel(uow, wheel=input.wheel(), staff=staff)

        row, errors = await perform(info, use_case, ConfigureWheelError)
        return ConfigureWheelPayload(
            wheel=await wheel_now(info, fresh=True) if row is not None else None, errors=errors
        )

    @strawberry.mutation(
        description="Spin the wheel once: uses a free spin of today, else a banked extra spin, "
        "else (with `buyExtra`) buys one for the wheel's price. The server decides the outcome "
        "from the committed seed; the answer reveals it.",
        permission_classes=[IsMember, SpinWheelRateLimit],
    )
    async def spin_wheel(
        self,
        info: Info,
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="Your key for this spin (up to 128 characters): a retry with the same "
                "key answers the first spin and uses or spends nothing more."
            ),
        ],
        buy_extra: Annotated[
            bool,
            strawberry.argument(
                description="Buy a spin with points when no free or extra spin is left."
            ),
        ] = False,
    ) -> SpinWheelPayload:
        """Spin as the signed-in member."""
        row, errors = await perform(
            info,
            lambda uow, member: spin_wheel(
                uow, uid=member.uid, idempotency_key=idempotency_key, buy_extra=buy_extra
            ),
            SpinWheelError,
        )
        if row is None:
            return SpinWheelPayload(spin=None, wheel=None, errors=errors)
        wheel = await wheel_now(info, fresh=True)
        return SpinWheelPayload(spin=WheelSpin.of(row), wheel=wheel, errors=[])

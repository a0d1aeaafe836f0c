"""GraphQL object types, converted explicitly from database rows."""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values
from strawberry import relay

from backend.api.context import Info
from backend.api.errors import PublicError
from backend.api.games.board.dashboard import leaderboard_rank
from backend.api.games.hunts.dashboard import hunts_started, mascot_hunts_left_today
from backend.api.games.wheel.dashboard import next_free_spin_at, spins_left_today, wheel_read
from backend.api.notifications.dashboard import unread_notification_count
from backend.api.offers.dashboard import (
    active_voucher_count,
    featured_offer,
    redeemable_offer_count,
)
from backend.api.profile.types import StyleProfile, style_profile_of
from backend.api.referrals.types import Referrals, member_referrals
from backend.rewards import queries
from backend.rewards.games.leaderboard import Period, RankFold, RankOf, period_month
from backend.rewards.games.mascot.queries import HuntsFold
from backend.rewards.games.wheel.queries import WheelFold
from backend.rewards.ledger import EntryKind, Source
from backend.rewards.notifications.queries import UnreadCount, UnreadFold
from backend.rewards.offers.facts import FactsFold, MemberOffers
from backend.rewards.ports import Principal, Role
from backend.rewards.profile.queries import ProfilesOf
from backend.rewards.program import ProgramRules, TierRule
from backend.rewards.referrals.queries import ReferralCounts
from backend.rewards.tiers.rules import progress
from backend.rewards.tiers.services import QualifyingNow

LedgerEntryKind = strawberry.enum(
    EntryKind,
    name="LedgerEntryKind",
    description="What an entry did: EARN credits, RELEASE makes pending points spendable, "
    "REDEEM spends, EXPIRE writes off old points, REVERSE takes back (refunds), ADJUST is staff's.",
)
PointsSource = strawberry.enum(
    Source, name="PointsSource", description="Where points came from or went to."
)
T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")
E = TypeVar("E", bound=enum.Enum)
MAX_PAGE = 100
MAX_PK = 2**31 - 1  # keys are PostgreSQL `integer` columns
PK = re.compile(r"[1-9][0-9]{0,9}")


def by_value(kind: type[E]) -> Callable[[Any], E]:
    """`kind(value)` through a map of its members made once (calling an enum class takes a few
    Python calls); a value it does not know gets the enum's own answer (its error)."""
    members: dict[Any, E] = {member.value: member for member in kind}

    def member_of(value: Any) -> E:
        found = members.get(value)
        return found if found is not None else kind(value)

    return member_of


def owns(principal: Principal | None, member_uid: str | None) -> bool:
    """Tell whether the caller is this member, or staff."""
    if principal is None:
        return False
    return principal.role.reads_members or (member_uid is not None and principal.uid == member_uid)


@strawberry.type(description="A rung of the VIP ladder.")
class Tier:
    code: str = strawberry.field(description="Stable identifier, e.g. `gold`.")
    name: str = strawberry.field(description="Display name.")
    position: int = strawberry.field(description="Order on the ladder, 0 for the entry tier.")
    threshold: int = strawberry.field(
        description="Points to earn within the rolling window to reach this tier."
    )
    multiplier: Decimal = strawberry.field(description="Purchase points are multiplied by this.")
    perks: list[str] = strawberry.field(description="What members of this tier enjoy.")

    @classmethod
    def of(cls, rule: TierRule) -> Tier:
        """Convert a tier rule."""
        return cls(
            code=rule.code,
            name=rule.name,
            position=rule.position,
            threshold=rule.threshold,
            multiplier=rule.multiplier,
            perks=list(rule.perks),
        )


@strawberry.type(description="Where the member stands on the VIP ladder.")
class TierStatus:
    current: Tier = strawberry.field(description="The tier the member has now.")
    next: Tier | None = strawberry.field(description="The next tier up, null at the top.")
    qualifying_points: int = strawberry.field(
        description="Points earned (released, net of refunds; not pending, not staff adjustments) "
        "in the window: the current UTC calendar month and the 11 before it (with the default "
        "12-month `tier_window_months`)."
    )
    points_to_next: int = strawberry.field(description="Points still to earn for the next tier.")
    reached_at: datetime = strawberry.field(description="When the current tier was reached.")
    retained_until: datetime = strawberry.field(
        description="The current tier is kept at least until then, whatever is earned."
    )
    next_tier_by: datetime | None = strawberry.field(
        description="Earn `pointsToNext` before this moment: then the oldest month with qualifying "
        "points leaves the rolling window (month granularity: always the start of a UTC calendar "
        "month). Null when no points count yet."
    )


@strawberry.type(description="Points that will expire soon unless spent.")
class ExpiringPoints:
    points: int = strawberry.field(description="Points expiring within the warning window.")
    first_date: datetime | None = strawberry.field(
        description="When the first of them expire; null when none do."
    )
    window_days: int = strawberry.field(description="How far ahead this looks, in days.")


@strawberry.type(description="The member's points at a glance.")
class Points:
    balance: int = strawberry.field(
        description="Spendable points. Negative only after a refund took back spent points."
    )
    pending: int = strawberry.field(
        description="Points from recent purchases, spendable once their return window ends."
    )
    expiring_soon: ExpiringPoints = strawberry.field(description="Points about to expire.")


@strawberry.enum(description="Whether an entry's points can be spent yet.")
class LedgerEntryStatus(enum.Enum):
    PENDING = strawberry.enum_value(
        "PENDING",
        description="Purchase points waiting for the return window; spendable from `availableAt`.",
    )
    POSTED = strawberry.enum_value(
        "POSTED", description="Final: the points count in (or left) the spendable balance."
    )


_entry_kind, _source = by_value(EntryKind), by_value(Source)


@strawberry.type(description="One append-only movement of points in the member's history.")
class LedgerEntry(relay.Node):
    id: relay.NodeID[int]
    kind: LedgerEntryKind = strawberry.field(description="What the entry did.")  # type: ignore[valid-type]
    status: LedgerEntryStatus = strawberry.field(
        description="PENDING while a purchase's points wait for the return window, POSTED otherwise."
    )
    points: int = strawberry.field(
        description="Points this entry moved (signed): what a purchase earned, also while they are "
        "pending; what a release made spendable; what was spent, expired, reversed or adjusted."
    )
    available_at: datetime | None = strawberry.field(
        description="When the pending points become spendable; null unless `status` is PENDING."
    )
    pending_points: int = strawberry.field(
        description="Change of the pending points (signed): up for a pending purchase, down when "
        "its points are released or reversed; 0 for entries that never touch pending points."
    )
    balance_after: int = strawberry.field(description="Spendable balance right after this entry.")
    pending_after: int = strawberry.field(description="Pending points right after this entry.")
    reason: str = strawberry.field(description="Why, in words.")
    source: PointsSource = strawberry.field(description="Where the points came from or went.")  # type: ignore[valid-type]
    source_ref: str | None = strawberry.field(
        description="The source's reference: order id, game session, campaign or key."
    )
    created_at: datetime = strawberry.field(description="When it was written.")
    member_id: strawberry.Private[int]
    related_entry_id: strawberry.Private[int | None]

    @strawberry.field(description="The entry this one corrects or completes, if any.")
    async def related_entry(self, info: Info) -> LedgerEntry | None:
        """Load the linked entry through the request's loader."""
        if self.related_entry_id is None:
            return None
        row = await info.context.loaders.entry.load(self.related_entry_id)
        return LedgerEntry.of(row, now=info.context.loaders.now) if row else None

    @classmethod
    def of(cls, row: Any, *, now: datetime) -> LedgerEntry:
        """Convert an entry row joined with its lot's state (`queries.ENTRY_WITH_LOT`) as of `now`."""
        pending = row.lot_released is False and row.lot_available_at > now
        return cls(
            id=row.id,
            kind=_entry_kind(row.kind),
            status=LedgerEntryStatus.PENDING if pending else LedgerEntryStatus.POSTED,
            # Only entries on pending points (a pending earn, its reversal) move no spendable ones.
            points=row.amount or row.pending_delta,
            available_at=row.lot_available_at if pending else None,
            pending_points=row.pending_delta,
            balance_after=row.balance_after,
            pending_after=row.pending_after,
            reason=row.reason,
            source=_source(row.source),
            source_ref=row.source_ref,
            created_at=row.created_at,
            member_id=row.member_id,
            related_entry_id=row.related_entry_id,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[LedgerEntry | None]:
        """Entries by id, only the caller's own (or any for staff)."""
        rows = await _with_owners(info, info.context.loaders.entry, node_ids)
        now = info.context.loaders.now
        return [
            cls.of(r, now=now) if r and owns(info.context.principal, uid) else None
            for r, uid in rows
        ]


async def _with_owners(
    info: Info, loader: Any, node_ids: Iterable[str]
) -> list[tuple[Any, str | None]]:
    """Rows by global-id number, each with its member's uid, in two batched loads."""
    rows = await loader.load_many([_int_id(i) for i in node_ids])
    members = await info.context.loaders.member.load_many([r.member_id if r else 0 for r in rows])
    return [(r, m.uid if m else None) for r, m in zip(rows, members, strict=True)]


def money(amount: Decimal | str) -> Decimal:
    """Show money with two decimals, or more where the amount has them (120.50, 9.125)."""
    value = Decimal(amount)
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


def parse_pk(node_id: str) -> int | None:
    """The row id in a global id: ASCII digits without a leading zero, within PostgreSQL `integer`."""
    if not PK.fullmatch(node_id):
        return None
    pk = int(node_id)
    return pk if pk <= MAX_PK else None


def parse_global_id(value: str) -> tuple[str, int] | None:
    """The type name and row id of a global id, or None for anything this API never gave out."""
    try:
        parsed = relay.GlobalID.from_id(value)
    except ValueError:
        return None
    pk = parse_pk(parsed.node_id)
    return None if pk is None else (parsed.type_name, pk)


def _int_id(node_id: str) -> int:
    """Parse the numeric part of a global id; malformed or out-of-range ones match nothing."""
    return parse_pk(node_id) or 0


def encode_cursor(row_id: int, kind: str = "entry") -> str:
    """An opaque cursor for a position in a list of `kind` (entries, offers…) ordered by id."""
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_cursor(cursor: str | None, kind: str = "entry") -> int | None:
    """Read a cursor of `kind` made by encode_cursor; refuse anything else."""
    if cursor is None:
        return None
    try:
        found, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except ValueError:  # also binascii.Error, UnicodeEncodeError and UnicodeDecodeError
        found, value = "", ""
    row_id = parse_pk(value) if found == kind else None
    if row_id is None:
        raise PublicError("BAD_USER_INPUT", "That cursor is not one this API gave out.")
    return row_id


SCORE = re.compile(r"0|[1-9][0-9]{0,9}")


def encode_rank_cursor(score: int, row_id: int, kind: str) -> str:
    """A cursor for a position in a ranked list of `kind`: the row's (score, id)."""
    return encode_cursor(row_id, f"{kind}:{score}")


def decode_rank_cursor(cursor: str | None, kind: str) -> tuple[int, int] | None:
    """Read a cursor made by encode_rank_cursor, as (score, id); refuse anything else."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:  # as in decode_cursor
        text = ""
    parts = text.split(":")
    found, score, value = parts if len(parts) == 3 else ("", "", "")
    row_id = parse_pk(value) if found == kind and SCORE.fullmatch(score) else None
    if row_id is None:
        raise PublicError("BAD_USER_INPUT", "That cursor is not one this API gave out.")
    return int(score), row_id


def page_size(first: int) -> int:
    """A page size a list accepts (1 to MAX_PAGE), or a top-level BAD_USER_INPUT."""
    if not 1 <= first <= MAX_PAGE:
        raise PublicError("BAD_USER_INPUT", f"`first` must be between 1 and {MAX_PAGE}.")
    return first


def connection(
    nodes: list[tuple[int, T]], *, more: bool, after: str | None, kind: str = "entry"
) -> relay.Connection[T]:
    """A Relay connection of (id, node) pairs of one page, with cursors of `kind`."""
    return page(
        [relay.Edge(cursor=encode_cursor(pk, kind), node=n) for pk, n in nodes], more, after
    )


def page(edges: list[relay.Edge[T]], more: bool, after: str | None) -> relay.Connection[T]:
    """A Relay connection of one page of edges; `after` is the cursor the page started after."""
    return relay.Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


HISTORY_PAGE = 20  # `history(first:)` when not given


def history_page(first: int = HISTORY_PAGE, after: str | None = None) -> tuple[int, int | None]:
    """`history`'s page size and the id its cursor points at; BAD_USER_INPUT if either is bad."""
    return page_size(first), decode_cursor(after)


@dataclass(frozen=True)
class MemberReads:
    """The reads member fields send, built one way for their resolvers and for `me`, which runs
    them ahead with the member row (`queries.MemberWith`): equal reads are answered once.

    A new `Member` field (spins left, a leaderboard rank…) in three steps:
    1. a `Read` for it in the domain (`backend/rewards/.../queries.py`), or a method here if it
       needs the rules or the clock;
    2. its name and read in `AHEAD` below, so `me` reads it with the member (a count or
       other scalar of the member: also a `queries.Fold` in `folds`, so it comes as columns
       of the member's own statement; a few rows of the member: a `queries.MemberRows`
       statement, whose `fold` carries them as one JSON column of it);
    3. a plain (not async) resolver returning `member.answer(info, read_of, then)`, where
       `read_of(reads)` builds the same read and `then(answer, reads)` makes the field's value
       (see `Member.points`, `unread_notification_count`). Under `me` it resolves at once from
       the answer read ahead; elsewhere (staff lookups, payloads) it returns an awaitable.
    `tests/api/test_query_counts.py` pins the statements and checkouts of the opening query.
    """

    now: datetime
    rules: ProgramRules

    @property
    def warning_days(self) -> int:
        """The expiry warning window of `points`."""
        return int(self.rules.setting("expiry_warning_days"))

    @property
    def window_months(self) -> int:
        """The tier-qualifying window of `tier`."""
        return int(self.rules.setting("tier_window_months"))

    def points(self, member: Any) -> queries.PointsAsOf:
        """`points`: the cached balances settled as of now, with the warning window."""
        return queries.PointsAsOf.of(member, now=self.now, warning_days=self.warning_days)

    def tier(self, member: Any) -> QualifyingNow:
        """`tier`: the qualifying points in the program's window."""
        return QualifyingNow(member.id, self.now, self.window_months)

    def offers(self, member: Any) -> MemberOffers:
        """The offer figures (`activeVoucherCount`, `redeemableOfferCount`, `featuredOffer`)."""
        return MemberOffers(member.id, member.tier_code, self.now)

    def style_profile(self, member: Any) -> ProfilesOf:
        """`styleProfile`: the stored StyleID profile."""
        return ProfilesOf((member.id,))

    def unread(self, member: Any) -> UnreadCount:
        """`unreadNotificationCount`: the inbox badge."""
        return UnreadCount(member.id)

    def rank(self, member: Any) -> RankOf:
        """`leaderboardRank`: the member's place on this month's board."""
        return RankOf(member.id, period_month(Period.CURRENT_MONTH, self.now))

    def wheel(self, member: Any) -> queries.Read[Any]:
        """`spinsLeftToday`, `nextFreeSpinAt`: the wheel and the member's spins as of now."""
        return wheel_read(member, self.now)

    def folds(
        self, planned: Iterable[Callable[..., Any]], pages: Iterable[tuple[int, int | None]]
    ) -> tuple[queries.Fold, ...]:
        """The folds (`queries.Fold`) that answer the planned reads (methods of `AHEAD`) and the
        history pages from the member's own statement, in `FOLDS`' fixed order (one statement
        per set of folds)."""
        wanted = set(planned)
        folds = [fold for read, make in FOLDS.items() if read in wanted for fold in make(self)]
        folds += [queries.EntriesPage.fold(*page) for page in pages]
        return tuple(folds)

    def hunts(self, member: Any) -> queries.Read[Any]:
        """`mascotHuntsLeftToday`: the hunts started on the member's local day."""
        return hunts_started(member, self.now)

    def referrals(self, member: Any) -> ReferralCounts:
        """`referrals`: the friends the member's code brought."""
        return ReferralCounts(member.id)

    def ahead(
        self, fields: Iterable[tuple[str, dict[str, Any]]]
    ) -> tuple[Callable[[Any], list[queries.Read[Any]]], tuple[queries.Fold, ...]]:
        """The reads of the selected member fields as a function of the member row, and the
        folds that answer some of them with the member's statement.

        A field with bad arguments is left out: its resolver answers the error.
        """
        planned: list[Callable[[MemberReads, Any], queries.Read[Any]]] = []
        pages: list[tuple[int, int | None]] = []
        for name, arguments in fields:
            if name in AHEAD:
                planned.extend(AHEAD[name])
            elif name == "history":
                with suppress(PublicError):
                    pages.append(history_page(**arguments))
        planned += [
            lambda _reads, member, page=page: queries.EntriesPage(member.id, *page)
            for page in pages
        ]
        # The offers' facts go first: they read the StyleID profile too and leave it as the
        # answer of `styleProfile`'s read, which then sends nothing (see `queries.learn`).
        planned.sort(key=lambda plan: plan is not MemberReads.offers)
        folds = self.folds(planned, pages)
        return (lambda member: [plan(self, member) for plan in planned]), folds


# The reads (methods of `MemberReads`) of each member field `me` reads ahead, but `history`.
_RANKED = (MemberReads.offers, MemberReads.points)  # ranking weighs offers against the balance
AHEAD: dict[str, tuple[Callable[[MemberReads, Any], queries.Read[Any]], ...]] = {
    "points": (MemberReads.points,),
    "tier": (MemberReads.tier,),
    "styleProfile": (MemberReads.style_profile,),
    "activeVoucherCount": (MemberReads.offers,),
    "redeemableOfferCount": _RANKED,
    "featuredOffer": _RANKED,
    "unreadNotificationCount": (MemberReads.unread,),
    "mascotHuntsLeftToday": (MemberReads.hunts,),
    "leaderboardRank": (MemberReads.rank,),
    "spinsLeftToday": (MemberReads.wheel,),
    "nextFreeSpinAt": (MemberReads.wheel,),
    "referrals": (MemberReads.referrals,),
}
# The folds answering each read of `AHEAD` from the member's statement (its columns), in the
# statement's order; reads without one (`styleProfile`, `referrals`) send their own.
FOLDS: dict[Callable[..., Any], Callable[[MemberReads], tuple[queries.Fold, ...]]] = {
    MemberReads.offers: lambda r: (FactsFold(r.now), *MemberOffers.folds(r.now)),
    MemberReads.points: lambda r: (
        queries.PointsAsOf.fold(now=r.now, warning_days=r.warning_days),
    ),
    MemberReads.tier: lambda r: (QualifyingNow.fold(r.now, r.window_months),),
    MemberReads.unread: lambda _r: (UnreadFold(),),
    MemberReads.hunts: lambda r: (HuntsFold(r.now),),
    MemberReads.rank: lambda r: (RankFold(period_month(Period.CURRENT_MONTH, r.now)),),
    MemberReads.wheel: lambda r: (WheelFold(r.now),),
}


def _points(now: queries.PointsNow, reads: MemberReads) -> Points:
    """The `points` field from the member's points as of now."""
    return Points(
        balance=now.balance,
        pending=now.pending,
        expiring_soon=ExpiringPoints(
            points=now.expiring,
            first_date=now.first_expiry,
            window_days=int(reads.rules.setting("expiry_warning_days")),
        ),
    )


SELECTIONS_KEPT = 1024  # selections of documents without variables kept, then forgotten at once
# ids of the return type and field nodes -> (them, kept so that nothing else takes their ids;
# the selection)
_selections: dict[tuple[int, ...], tuple[list[Any], list[tuple[str, dict[str, Any]]]]] = {}


def selected(info: Info) -> list[tuple[str, dict[str, Any]]]:
    """The fields selected on the object the current field returns, with their arguments as
    the resolvers get them (variables and defaults applied), fragments included.

    Without variables they depend only on the document: worked out once per document (each
    call gets its own argument dicts)."""
    raw = info._raw_info
    if raw.operation.variable_definitions:
        return list(_selected(info))
    objects = [raw.return_type, *raw.field_nodes]
    key = tuple(map(id, objects))
    kept = _selections.get(key)
    if kept is None:
        if len(_selections) >= SELECTIONS_KEPT:
            _selections.clear()
        kept = _selections[key] = (objects, list(_selected(info)))
    return [(name, dict(arguments)) for name, arguments in kept[1]]


def _selected(info: Info) -> Iterator[tuple[str, dict[str, Any]]]:
    """`selected`, worked out from the field nodes."""
    raw = info._raw_info
    fields = get_named_type(raw.return_type).fields  # type: ignore[union-attr]
    variables = VariableValues({}, info.variable_values)  # strawberry keeps the coerced values
    for field_node in raw.field_nodes:
        for node in _field_nodes(field_node.selection_set, raw.fragments):
            if node.name.value in fields:
                field = fields[node.name.value]
                arguments = get_argument_values(field, node, variables) if field.args else {}
                yield node.name.value, arguments


def _field_nodes(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The field nodes of a selection set, those inside its fragments included."""
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            yield node
        elif isinstance(node, FragmentSpreadNode):
            yield from _field_nodes(fragments[node.name.value].selection_set, fragments)
        elif isinstance(node, InlineFragmentNode):
            yield from _field_nodes(node.selection_set, fragments)


@strawberry.type(description="A loyalty member. Members only ever see their own membership.")
class Member(relay.Node):
    id: relay.NodeID[int]
    card_number: str = strawberry.field(
        description="Membership card number: shown as a barcode, scanned in store, used by integrations."
    )
    referral_code: str = strawberry.field(description="Code a friend enters when enrolling.")
    display_name: str | None = strawberry.field(description="Name shown in the app.")
    email: str | None = strawberry.field(description="E-mail address from the sign-in.")
    birth_date: date | None = strawberry.field(description="Birth date (members are 18+).")
    locale: str = strawberry.field(description="Language tag for texts, e.g. `nl-NL`, `uk`, `ar`.")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. `Europe/Amsterdam`.")
    marketing_consent: bool = strawberry.field(
        description="Whether marketing pushes may be sent (off by default)."
    )
    status: str = strawberry.field(description="`active`, `suspended` or `erased`.")
    leaderboard_opt_in: bool = strawberry.field(
        description="Whether the leaderboard shows your display name (otherwise an anonymous "
        "name); off by default, changed with `updateProfile`."
    )
    enrolled_at: datetime = strawberry.field(description="When the membership began.")
    tier_code: strawberry.Private[str]
    tier_reached_at: strawberry.Private[datetime]
    balance: strawberry.Private[int]
    pending: strawberry.Private[int]
    debt: strawberry.Private[int]
    uid: strawberry.Private[str | None]
    reads: strawberry.Private[MemberReads | None]  # `me`'s: its fields' reads, answered ahead
    style_profile: StyleProfile = strawberry.field(
        resolver=style_profile_of, description="The member's StyleID answers and completion."
    )
    active_voucher_count: int = strawberry.field(
        resolver=active_voucher_count, description="Vouchers usable now (unused, unexpired)."
    )
    redeemable_offer_count: int = strawberry.field(
        resolver=redeemable_offer_count, description="Offers in `offers` the member can redeem now."
    )
    featured_offer = strawberry.field(
        resolver=featured_offer,
        description="One offer the member can redeem now, picked for them; each visit features "
        "the next of their five best-ranked (another than the last visit's while there is "
        "another; with several server processes, a visit within a second of the last may "
        "repeat it); null when none is redeemable.",
    )
    unread_notification_count: int = strawberry.field(
        resolver=unread_notification_count, description="Notifications in the inbox not read yet."
    )
    mascot_hunts_left_today: int = strawberry.field(
        resolver=mascot_hunts_left_today,
        description="Hunts of catch the mascot the member may still start today (their local "
        "day, in `timeZone`).",
    )
    leaderboard_rank: int | None = strawberry.field(
        resolver=leaderboard_rank,
        description="Your rank on this month's leaderboard (see `leaderboard`); null while you "
        "have earned no points this month.",
    )
    spins_left_today: int = strawberry.field(
        resolver=spins_left_today,
        description="Spins of the wheel the member can take today without paying (free and "
        "extra); 0 while there is no wheel.",
    )
    next_free_spin_at: datetime = strawberry.field(
        resolver=next_free_spin_at,
        description="When the wheel's free spins refill: the member's next local midnight.",
    )
    referrals: Referrals = strawberry.field(
        resolver=member_referrals,
        description="Your referral code, its share link, and the friends it brought.",
    )

    @classmethod
    def of(cls, row: Any, reads: MemberReads | None = None) -> Member:
        """Convert a member row; `me` passes the reads it ran ahead for the fields."""
        return cls(
            id=row.id,
            card_number=row.card_number,
            referral_code=row.referral_code,
            display_name=row.display_name,
            email=row.email,
            birth_date=row.birth_date,
            locale=row.locale,
            time_zone=row.time_zone,
            marketing_consent=row.marketing_consent,
            status=row.status,
            leaderboard_opt_in=row.leaderboard_opt_in,
            enrolled_at=row.enrolled_at,
            tier_code=row.tier_code,
            tier_reached_at=row.tier_reached_at,
            balance=row.balance,
            pending=row.pending,
            debt=row.debt,
            uid=row.uid,
            reads=reads,
        )

    def answer(
        self,
        info: Info,
        read_of: Callable[[MemberReads], queries.Read[A]],
        then: Callable[[A, MemberReads], R],
    ) -> R | Awaitable[R]:
        """A field's value from its read: at once when `me` read it ahead, else awaitable."""
        if self.reads is not None:
            reads = self.reads
            return info.context.loaders.answer(read_of(reads), lambda found: then(found, reads))
        return self._answer_later(info, read_of, then)

    async def _answer_later(
        self,
        info: Info,
        read_of: Callable[[MemberReads], queries.Read[A]],
        then: Callable[[A, MemberReads], R],
    ) -> R:
        """A field's value read through the request's batch (nothing was read ahead)."""
        loaders = info.context.loaders
        reads = MemberReads(loaders.now, await loaders.rules())
        return then(await loaders.read(read_of(reads)), reads)

    @strawberry.field(description="Spendable, pending and soon-expiring points.")
    def points(self, info: Info) -> Points:
        """The cached balances as of now (due releases and expiries applied) in one read."""
        return self.answer(info, lambda reads: reads.points(self), _points)  # type: ignore[return-value]

    @strawberry.field(description="Current tier and progress to the next one.")
    def tier(self, info: Info) -> TierStatus:
        """Combine the ladder with the member's qualifying points."""
        return self.answer(info, lambda reads: reads.tier(self), self._tier)  # type: ignore[return-value]

    def _tier(self, counted: Any, reads: MemberReads) -> TierStatus:
        """The tier status for the qualifying points counted."""
        rules = reads.rules
        state = progress(
            ladder=rules.tiers,
            current=rules.tier(self.tier_code),
            reached_at=self.tier_reached_at,
            qualifying=counted.points,
            grace_months=int(rules.setting("tier_grace_months")),
        )
        return TierStatus(
            current=Tier.of(state.current),
            next=Tier.of(state.next) if state.next else None,
            qualifying_points=state.qualifying_points,
            points_to_next=state.points_to_next,
            reached_at=self.tier_reached_at,
            retained_until=state.retained_until,
            next_tier_by=counted.oldest_leaves_at,
        )

    @strawberry.field(description="Points history, newest first (Relay connection).")
    def history(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="Page size, 1 to 100.")
        ] = HISTORY_PAGE,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last entry already seen.")
        ] = None,
    ) -> relay.Connection[LedgerEntry]:
        """Keyset-paginate the member's entries."""
        page = queries.EntriesPage(self.id, *history_page(first, after))
        now = info.context.loaders.now

        def entries(found: tuple[list[Any], bool], _reads: MemberReads) -> Any:
            rows, more = found
            nodes = [(r.id, LedgerEntry.of(r, now=now)) for r in rows]
            return connection(nodes, more=more, after=after)

        return self.answer(info, lambda _reads: page, entries)  # type: ignore[return-value]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Member | None]:
        """Members by id: a member gets only themself, staff anyone."""
        rows = await info.context.loaders.member.load_many([_int_id(i) for i in node_ids])
        return [cls.of(r) if r and owns(info.context.principal, r.uid) else None for r in rows]


@strawberry.type(description="An order reported by a store or e-commerce system.")
class Purchase(relay.Node):
    id: relay.NodeID[int]
    order_id: str = strawberry.field(description="The reporting system's order id.")
    amount: Decimal = strawberry.field(description="Amount paid.")
    currency: str = strawberry.field(description="ISO 4217 currency of the amount.")
    channel: str = strawberry.field(description="Store or channel that sold it.")
    occurred_at: datetime = strawberry.field(description="When the purchase happened.")
    points: int = strawberry.field(description="Points the order earned.")
    refunded_amount: Decimal = strawberry.field(description="Amount refunded so far.")
    reversed_points: int = strawberry.field(description="Points taken back by refunds so far.")
    member_id: strawberry.Private[int]
    card_number: strawberry.Private[str | None] = None

    @strawberry.field(description="Card number of the member who bought.")
    async def member_reference(self, info: Info) -> str:
        """The card number a write answered with; otherwise the member's, loaded."""
        if self.card_number is not None:
            return self.card_number
        row = await info.context.loaders.member.load(self.member_id)
        return str(row.card_number)

    @classmethod
    def of(cls, row: Any, *, card_number: str | None = None) -> Purchase:
        """Convert a purchase row (or ORM object or write answer); the buyer's card if known."""
        return cls(
            id=row.id,
            order_id=row.order_id,
            amount=money(row.amount),
            currency=row.currency,
            channel=row.channel,
            occurred_at=row.occurred_at,
            points=row.points,
            refunded_amount=money(row.refunded_amount),
            reversed_points=row.reversed_points,
            member_id=row.member_id,
            card_number=card_number,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Purchase | None]:
        """Purchases by id, for integrations, staff and the buyer."""
        principal = info.context.principal
        integration = principal is not None and principal.role == Role.INTEGRATION
        rows = await _with_owners(info, info.context.loaders.purchase, node_ids)
        return [
            cls.of(r) if r and (integration or owns(principal, uid)) else None for r, uid in rows
        ]

"""SQLModel tables: persistence only; the API converts rows to its own types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Numeric,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlmodel import Field, SQLModel

from backend.db.types import UTCDateTime


def _utc(**kwargs: Any) -> Any:
    """A non-null UTC timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class Member(SQLModel, table=True):
    """A loyalty member; the cached balances are kept in the same transaction as the ledger."""

    __table_args__ = (
        # Staff look members up by e-mail case-insensitively; the oldest membership first.
        Index("ix_member_email_lower", func.lower(text("email")), "id"),
        # The settle job's members above the lowest tier whose grace may be over.
        Index("ix_member_tier_reached", "tier_code", "tier_reached_at"),
        # The birthday automation looks up the birth dates celebrated today, year by year.
        Index("ix_member_birth_date", "birth_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str | None = Field(default=None, unique=True, max_length=128)
    card_number: str = Field(unique=True, max_length=20)
    referral_code: str = Field(unique=True, max_length=16)
    referred_by_id: int | None = Field(default=None, foreign_key="member.id")
    display_name: str | None = Field(default=None, max_length=80)
    email: str | None = Field(default=None, max_length=254)
    birth_date: date | None = None
    locale: str = Field(default="en", max_length=16)
    time_zone: str = Field(default="UTC", max_length=64)
    marketing_consent: bool = False
    status: str = Field(default="active", max_length=16)
    enrolled_at: datetime = _utc()
    tier_code: str = Field(default="member", max_length=32)
    tier_reached_at: datetime = _utc()
    balance: int = Field(default=0, sa_type=BigInteger)
    pending: int = Field(default=0, sa_type=BigInteger)
    debt: int = Field(default=0, sa_type=BigInteger)
    # The member's display name shows on the leaderboard only when they opt in.
    leaderboard_opt_in: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class LedgerEntry(SQLModel, table=True):
    """One movement of points: `amount` on the spendable account, `pending_delta` on pending.

    Append-only: database triggers (migration 0003) refuse UPDATE and DELETE.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_member_id", "member_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=16)
    amount: int = Field(sa_type=BigInteger)
    pending_delta: int = Field(default=0, sa_type=BigInteger)
    balance_after: int = Field(sa_type=BigInteger)
    pending_after: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=200)
    source: str = Field(max_length=16)
    source_ref: str | None = Field(default=None, max_length=128)
    related_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    actor: str | None = Field(default=None, max_length=128)
    created_at: datetime = _utc(index=True)


class TierMonth(SQLModel, table=True):
    """Tier-qualifying points a member earned in one UTC calendar month (net of reversals).

    Kept in the same transaction as the ledger entries that count, so tier progress reads a
    handful of rows instead of summing a member's history; unlike entries, rows are updated.
    """

    __tablename__ = "tier_month"
    # The tier-nudge automation's members who earned in a month.
    __table_args__ = (Index("ix_tier_month_month", "month", "member_id"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first day of the month
    points: int = Field(default=0, sa_type=BigInteger)


class EarnedMonth(SQLModel, table=True):
    """Points a member earned in one UTC calendar month, as the leaderboard counts them.

    An earn counts in its month (pending purchase points too); a reversal or expiry of an earn's
    points takes them back from that earn's month, so reversed and expired points never count.
    Staff adjustments never count. Kept in the same transaction as the ledger entries.
    """

    __tablename__ = "earned_month"
    # The board of a month, highest first, and a member's rank (members with more points).
    __table_args__ = (Index("ix_earned_month_rank", "month", "points", "member_id"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first day of the month
    points: int = Field(default=0, sa_type=BigInteger)


class EarnedScore(SQLModel, table=True):
    """How many members of a month's leaderboard have points in [points, points + width):
    `earned_month` rows above zero counted per score (width 1) and per band of scores (width
    `SCORE_BAND`, from a multiple of it).

    Kept in the same transaction as `earned_month`, so a rank is 1 + the members of the bands
    above the member's band and of the scores above theirs within it: a bounded sum, however
    many members. A score or band nobody has any more keeps its row with zero members.
    """

    __tablename__ = "earned_score"
    # Clustered on its key on SQLite: a rank sums `members` straight from the key's order.
    __table_args__ = {"sqlite_with_rowid": False}

    month: date = Field(primary_key=True)  # the first day of the month
    width: int = Field(primary_key=True)  # 1: one score; SCORE_BAND: a band of scores
    points: int = Field(primary_key=True, sa_type=BigInteger)  # the lowest score counted
    members: int = Field(default=0)


class Lot(SQLModel, table=True):
    """Points from one earn: spendable from `available_at`, gone at `expires_at`, spent oldest first."""

    __table_args__ = (
        Index("ix_lot_member_open", "member_id", "remaining", "expires_at"),
        # The settle job's due lots, wherever they are: partial, so each holds only the few lots
        # still waiting (pending ones; spendable ones with points left). Queries must repeat
        # the condition literally (`released = 0` on SQLite, which stores booleans as 0 and 1).
        Index(
            "ix_lot_unreleased",
            "available_at",
            postgresql_where=text("NOT released"),
            sqlite_where=text("released = 0"),
        ),
        Index(
            "ix_lot_open_expiry",
            "expires_at",
            postgresql_where=text("released AND remaining > 0"),
            sqlite_where=text("released = 1 AND remaining > 0"),
        ),
        # The expiry-warning automation's open lots not yet warned about (same literal rule).
        Index(
            "ix_lot_unwarned_expiry",
            "expires_at",
            postgresql_where=text("released AND remaining > 0 AND NOT expiry_warned"),
            sqlite_where=text("released = 1 AND remaining > 0 AND expiry_warned = 0"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    entry_id: int = Field(foreign_key="ledger_entry.id", unique=True)
    amount: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    expired: int = Field(default=0, sa_type=BigInteger)
    earned_at: datetime = _utc()
    available_at: datetime = _utc()
    expires_at: datetime = _utc()
    released: bool = True
    # The member was told (or the lot was looked at) before it expires: set once, never cleared.
    expiry_warned: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class LotAllocation(SQLModel, table=True):
    """How many points of a lot one debit entry took (redemption, expiry, reversal, debt); append-only."""

    __tablename__ = "lot_allocation"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)
    lot_id: int = Field(foreign_key="lot.id", index=True)
    amount: int = Field(sa_type=BigInteger)


class IdempotencyKey(SQLModel, table=True):
    """The first answer of a retriable write (a snapshot of its result), keyed by scope and key."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=64)
    key: str = Field(max_length=300)  # room for a refund's order id and refund id (128 each)
    fingerprint: str = Field(max_length=64)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class Purchase(SQLModel, table=True):
    """An order reported by a store or e-commerce system, with the points it earned."""

    # Segments ask for a member's last purchase, and campaigns for purchases after a send.
    __table_args__ = (Index("ix_purchase_member_occurred", "member_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(unique=True, max_length=128)
    member_id: int = Field(foreign_key="member.id", index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    currency: str = Field(max_length=3)
    channel: str = Field(max_length=64)
    occurred_at: datetime = _utc()
    lines: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    points: int = Field(sa_type=BigInteger)
    earn_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    refunded_amount: Decimal = Field(
        default=Decimal(0), sa_column=Column(Numeric(18, 4), nullable=False)
    )
    reversed_points: int = Field(default=0, sa_type=BigInteger)
    recorded_by: str = Field(max_length=128)
    created_at: datetime = _utc()


class Tier(SQLModel, table=True):
    """A VIP tier: reached by points earned in a rolling window; multiplies purchase points."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=64)
    position: int = Field(unique=True)
    threshold: int = Field(sa_type=BigInteger)
    multiplier: Decimal = Field(sa_column=Column(Numeric(6, 3), nullable=False))
    perks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CurrencyRate(SQLModel, table=True):
    """Purchase points per whole unit of a currency."""

    __tablename__ = "currency_rate"

    currency: str = Field(primary_key=True, max_length=3)
    points_per_unit: Decimal = Field(sa_column=Column(Numeric(12, 4), nullable=False))


class ProgramSetting(SQLModel, table=True):
    """A program rule stored in the database so staff can change it without a redeploy."""

    __tablename__ = "program_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(sa_column=Column(JSON, nullable=False))


class RulesVersion(SQLModel, table=True):
    """One row counting changes to the program rules (tiers, currency rates, settings).

    Database triggers on those tables bump it in the transaction of every change, whoever makes
    it, so a unit of work can tell with one read whether rules it holds in memory are current.
    """

    __tablename__ = "rules_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=1, sa_type=BigInteger)


class AuditLog(SQLModel, table=True):
    """Who did what to whom, when and why: every staff action that changes a balance."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_uid: str = Field(max_length=128)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    reason: str = Field(max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class StyleOption(SQLModel, table=True):
    """A published StyleID answer (a hair colour, a size, a product category…) with its labels.

    Marketing extends the lists by adding rows; a retired option stays for members who chose it
    but is no longer offered or accepted.
    """

    __tablename__ = "style_option"

    kind: str = Field(primary_key=True, max_length=16)
    code: str = Field(primary_key=True, max_length=64)  # as wide as a purchase line's category
    position: int
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    retired: bool = False


class StyleProfile(SQLModel, table=True):
    """A member's StyleID answers: option codes; lists are JSON arrays of codes."""

    __tablename__ = "style_profile"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    hair_colour: str | None = Field(default=None, max_length=64)
    body_shape: str | None = Field(default=None, max_length=64)
    top_size: str | None = Field(default=None, max_length=64)
    bottom_size: str | None = Field(default=None, max_length=64)
    shoe_size: str | None = Field(default=None, max_length=64)
    colours: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    styles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    favourite_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    disliked_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime = _utc()
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Club(SQLModel, table=True):
    """A special-interest club: bought for points for a term, or joined by invitation only.

    Texts are JSON maps from language (`en`, `ar`, `uk`, `nl`) to text, English always present;
    their widths are the club rules' (`backend/rewards/clubs/rules.py`), checked before a write.
    """

    __table_args__ = (
        CheckConstraint(
            "(invitation_only AND points_price IS NULL) OR "
            "(NOT invitation_only AND points_price IS NOT NULL)",
            name="ck_club_price_or_invitation",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    description: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    perks: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    points_price: int | None = Field(default=None, sa_type=BigInteger)
    term_months: int
    invitation_only: bool = False
    early_access_days: int = 3
    active: bool = True
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ClubMembership(SQLModel, table=True):
    """One term of a member in a club; a renewal is a new term starting where the last one ends.

    A member's terms in one club never overlap: joins of one member are serialised by the member's
    row lock, and a second term with the same start is refused by the unique constraint.
    """

    __tablename__ = "club_membership"
    __table_args__ = (
        UniqueConstraint("member_id", "club_id", "started_at", name="uq_club_membership_term"),
        Index("ix_club_membership_club", "club_id"),
        Index("ix_club_membership_ends", "ends_at"),  # the renewal reminders' terms ending soon
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    club_id: int = Field(foreign_key="club.id")
    started_at: datetime = _utc()
    ends_at: datetime = _utc()
    source: str = Field(max_length=16)
    points: int = Field(default=0, sa_type=BigInteger)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    invitation_id: int | None = Field(default=None, foreign_key="club_invitation.id")
    created_at: datetime = _utc()


class ClubInvitation(SQLModel, table=True):
    """Marketing's invitation of a member to a club; joining accepts it (no points spent)."""

    __tablename__ = "club_invitation"
    __table_args__ = (Index("ix_club_invitation_member", "member_id", "club_id"),)

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="club.id")
    member_id: int = Field(foreign_key="member.id")
    invited_by: str = Field(max_length=128)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Offer(SQLModel, table=True):
    """A reward members spend points on (or get as a gift), with its audience, window and stock."""

    __table_args__ = (Index("ix_offer_listed_window", "listed", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    # {language: {"title": …, "description": …}}; widths are the text policy's (offers/rules.py)
    texts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    points_cost: int = Field(sa_type=BigInteger)
    percent: int | None = None
    discount_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 4)))
    discount_currency: str | None = Field(default=None, max_length=3)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_tier: str | None = Field(default=None, max_length=32)
    club_id: int | None = None  # the club whose members get the offer early (or alone)
    # True: the club's members alone see and redeem it, for its whole window.
    club_only: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    style_tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    audience_categories: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    starts_at: datetime = _utc()
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    stock: int | None = None  # units left; None is unlimited
    # Units reserved for the club's early access; what is left joins `stock` at `starts_at`.
    club_stock: int | None = None
    per_member_limit: int | None = None
    image_url: str | None = Field(default=None, max_length=2048)
    voucher_valid_days: int
    listed: bool = True  # False: only given as a gift (welcome, milestones), never in `offers`
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class Voucher(SQLModel, table=True):
    """A code a member got for an offer (redeemed or gifted); a store consumes it once."""

    __table_args__ = (
        UniqueConstraint("code", name="uq_voucher_code"),
        UniqueConstraint("member_id", "grant_key", name="uq_voucher_member_grant"),
        Index("ix_voucher_member_id", "member_id", "id"),
        Index("ix_voucher_offer_member", "offer_id", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16)  # canonical Crockford base32, shown in groups of four
    offer_id: int = Field(foreign_key="offer.id")
    member_id: int = Field(foreign_key="member.id")
    origin: str = Field(max_length=16)
    # Gifts given once per member (welcome, a milestone): the unique pair makes "once" structural.
    grant_key: str | None = Field(default=None, max_length=32)
    points_spent: int = Field(default=0, sa_type=BigInteger)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    issued_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    used_by: str | None = Field(default=None, max_length=128)
    used_reference: str | None = Field(default=None, max_length=128)


class MemberCategory(SQLModel, table=True):
    """How often a member bought (or viewed) a product category: the facts offers target."""

    __tablename__ = "member_category"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    category: str = Field(primary_key=True, max_length=64)
    bought: int = Field(default=0, sa_type=BigInteger)
    viewed: int = Field(default=0, sa_type=BigInteger)
    last_viewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class FeaturedOffer(SQLModel, table=True):
    """The offer a member was last featured, so the next visit features another."""

    __tablename__ = "featured_offer"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    offer_id: int = Field(foreign_key="offer.id")
    shown_at: datetime = _utc()


class MascotHunt(SQLModel, table=True):
    """One session of catch the mascot: its seed and rules (so the plan can be recomputed), the
    member's local day it counts on, and once finished its stored result (answered to replays)."""

    __tablename__ = "mascot_hunt"
    __table_args__ = (
        Index("ix_mascot_hunt_member_day", "member_id", "local_day"),
        Index("ix_mascot_hunt_flagged", "flagged", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    seed: str = Field(max_length=64)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    local_day: date
    started_at: datetime = _utc()
    deadline: datetime = _utc()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    points: int = Field(default=0, sa_type=BigInteger)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    flagged: bool = False


metadata = SQLModel.metadata


class Device(SQLModel, table=True):
    """A phone or browser of a member that receives pushes through its FCM registration token.

    A token belongs to one member at most: `token_hash` (SHA-256 of the token) is unique, because
    PostgreSQL cannot index a 4096-character token itself. Moving a token to another member
    deletes the row and writes a new one, so queued pushes of the old member never reach it.
    """

    __table_args__ = (Index("ix_device_member_seen", "member_id", "last_seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    token: str = Field(max_length=4096)
    token_hash: str = Field(unique=True, max_length=64)
    platform: str = Field(max_length=8)
    app_version: str | None = Field(default=None, max_length=32)
    created_at: datetime = _utc()
    last_seen_at: datetime = _utc()


class Notification(SQLModel, table=True):
    """One message in a member's inbox, rendered in their language when it was created.

    `push_status` says at creation what became of the push: QUEUED (rows in `push_outbox`, due
    from `push_at`), NO_DEVICE, NO_CONSENT or CAPPED; the inbox keeps the message either way.
    """

    __table_args__ = (
        Index("ix_notification_member", "member_id", "id"),
        Index("ix_notification_member_unread", "member_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    kind: str = Field(max_length=32)
    category: str = Field(max_length=16)
    language: str = Field(max_length=8)
    title: str = Field(max_length=120)
    body: str = Field(max_length=500)
    deep_link: str = Field(max_length=512)
    reward: str | None = Field(default=None, max_length=200)
    push_status: str = Field(max_length=16)
    push_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = _utc()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class PushOutbox(SQLModel, table=True):
    """One push message (a notification to one device), written in the transaction that caused it.

    Senders claim due PENDING rows for a lease (`claimed_until`, `claim`), send them and record
    SENT, a retry (PENDING again with a later `not_before`), FAILED or DROPPED (device gone).
    `device_id` has no foreign key on purpose: a device may be deleted while its pushes wait, and
    the sender then drops them instead of the writer of the notification failing.
    """

    __tablename__ = "push_outbox"
    __table_args__ = (Index("ix_push_outbox_due", "status", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    device_id: int
    status: str = Field(max_length=16)
    not_before: datetime = _utc()
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    claim: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=500)
    fcm_message_id: str | None = Field(default=None, max_length=256)
    created_at: datetime = _utc()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class PrizeDraw(SQLModel, table=True):
    """A prize draw: members take tickets until `closes_at`; then the seed picks the winners.

    `seed` (hex) stays secret until the draw (`drawn_at`); its SHA-256 `seed_commitment` is
    public from creation. `tickets` counts the tickets taken (the last ticket's number).
    """

    __tablename__ = "prize_draw"
    __table_args__ = (Index("ix_prize_draw_due", "drawn_at", "closes_at"),)

    id: int | None = Field(default=None, primary_key=True)
    prize: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))  # by language
    min_tier: str | None = Field(default=None, max_length=32)
    entry_cost: int = Field(default=0, sa_type=BigInteger)
    max_entries: int = 1  # tickets per member
    winners: int = 1
    closes_at: datetime = _utc()
    seed: str = Field(max_length=64)
    seed_commitment: str = Field(max_length=64)
    tickets: int = 0
    drawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    winning_tickets: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()


class WheelConfig(SQLModel, table=True):
    """One version of the wheel of points; the newest is the wheel, spins keep theirs.

    `segments` is a list of {kind, weight, points, offer_id} in the published order.
    """

    __tablename__ = "wheel_config"

    id: int | None = Field(default=None, primary_key=True)
    segments: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    free_spins_per_day: int
    extra_spin_price: int | None = None
    daily_points_budget: int | None = Field(default=None, sa_type=BigInteger)
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()


class DrawTicket(SQLModel, table=True):
    """One entry of a member in a draw: ticket `ticket` (1, 2, … in the order taken).

    `holder` is the member's first ticket in this draw: equal for the same member, so the
    published (ticket, holder) list lets anyone recompute the draw without member ids.
    """

    __tablename__ = "draw_ticket"
    __table_args__ = (
        UniqueConstraint("draw_id", "ticket", name="uq_draw_ticket"),
        Index("ix_draw_ticket_member", "member_id", "draw_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="prize_draw.id")
    ticket: int
    holder: int
    member_id: int = Field(foreign_key="member.id")
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    created_at: datetime = _utc()


class Occasion(SQLModel, table=True):
    """One thing an automation did for a member: a birthday year, an expiry date, a nudge, a term.

    Written in the unit of work of the gift or notification it stands for; the unique triple makes
    "at most once per member per occasion" structural, however often or widely the job runs.
    """

    __tablename__ = "automation_occasion"
    __table_args__ = (UniqueConstraint("kind", "member_id", "key", name="uq_automation_occasion"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    member_id: int = Field(foreign_key="member.id")
    key: str = Field(max_length=64)
    created_at: datetime = _utc()


class WheelPlayer(SQLModel, table=True):
    """A member's wheel state: the committed seed of the next spin, its nonce and their spins.

    `free_used` counts the free spins taken on the member's local day `free_day`. Changed only
    under the member's row lock.
    """

    __tablename__ = "wheel_player"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    seed: str = Field(max_length=64)  # hex of 32 secret bytes; revealed by the spin that uses it
    commitment: str = Field(max_length=64)  # SHA-256 of the seed, shown before the spin
    nonce: int = 0
    extra_spins: int = 0
    free_day: date | None = None
    free_used: int = 0


class WheelSpin(SQLModel, table=True):
    """One spin: the revealed seed and nonce, the segment landed on and what it paid."""

    __tablename__ = "wheel_spin"
    __table_args__ = (UniqueConstraint("member_id", "nonce", name="uq_wheel_spin_nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    config_id: int = Field(foreign_key="wheel_config.id")
    nonce: int
    seed: str = Field(max_length=64)
    commitment: str = Field(max_length=64)
    segment_index: int
    kind: str = Field(max_length=16)  # what it paid
    void: str | None = Field(default=None, max_length=24)
    points: int = 0
    voucher_id: int | None = Field(default=None, foreign_key="voucher.id")
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    paid_with: str = Field(max_length=8)
    points_spent: int = 0
    local_day: date
    created_at: datetime = _utc()


class WheelGrant(SQLModel, table=True):
    """Extra spins given to a member (a surprise, an EXTRA_SPIN voucher), once per source_ref."""

    __tablename__ = "wheel_grant"
    __table_args__ = (UniqueConstraint("member_id", "source_ref", name="uq_wheel_grant_source"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    spins: int
    reason: str = Field(max_length=200)
    source_ref: str = Field(max_length=64)
    created_at: datetime = _utc()


class WheelBudget(SQLModel, table=True):
    """Points the wheel paid out program-wide on one UTC day (checked against the daily budget)."""

    __tablename__ = "wheel_budget"

    day: date = Field(primary_key=True)
    points: int = Field(default=0, sa_type=BigInteger)


class Segment(SQLModel, table=True):
    """Marketing's saved filter over members (see `rewards/marketing/segments.py` for its keys)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    filter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()
    updated_by: str = Field(max_length=128)
    updated_at: datetime = _utc()


class Campaign(SQLModel, table=True):
    """A surprise: a reward and a message for the members of a segment, sent from `send_at`.

    The segment's filter is copied here when the campaign is made, so later edits of the segment
    do not change whom it reaches. The job walks the matching members in id order from
    `cursor_member_id`, writing one `campaign_recipient` row per member.
    """

    __table_args__ = (Index("ix_campaign_due", "status", "send_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    segment_id: int = Field(foreign_key="segment.id")
    filter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reward_kind: str = Field(max_length=16)
    points: int | None = Field(default=None, sa_type=BigInteger)
    offer_id: int | None = Field(default=None, foreign_key="offer.id")
    message: str = Field(max_length=500)
    send_at: datetime = _utc()
    holdout_percent: int = 0
    seed: str = Field(max_length=64)  # keys the holdout draw: reproducible, not guessable
    status: str = Field(max_length=16)
    cursor_member_id: int = Field(default=0, sa_type=BigInteger)
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class CampaignRecipient(SQLModel, table=True):
    """A member a campaign reached: rewarded, held out or not rewarded (offer gone), once each.

    The unique pair is written in the transaction of the reward: a member cannot be rewarded
    twice by one campaign, whoever runs the job and however often.
    """

    __tablename__ = "campaign_recipient"
    __table_args__ = (UniqueConstraint("campaign_id", "member_id", name="uq_campaign_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    member_id: int = Field(foreign_key="member.id")
    held_out: bool = False
    outcome: str = Field(max_length=16)
    entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    voucher_id: int | None = Field(default=None, foreign_key="voucher.id")
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    created_at: datetime = _utc()


class EarningRule(SQLModel, table=True):
    """What one action that is not a purchase earns, its caps and who may report it.

    Caps are in points (None: no cap), counted in the member's local day and over their
    membership. `unit` is the quantity one award is for (1,000 for fitness steps, else 1).
    """

    __tablename__ = "earning_rule"

    action: str = Field(primary_key=True, max_length=32)
    points: int
    unit: int = 1
    daily_cap: int | None = Field(default=None, sa_type=BigInteger)
    lifetime_cap: int | None = Field(default=None, sa_type=BigInteger)
    reporter: str = Field(max_length=16)  # member (claimAction) or integration only
    streak_days: int | None = None  # consecutive local days that earn `streak_bonus`
    streak_bonus: int = 0
    updated_by: str | None = Field(default=None, max_length=128)
    updated_at: datetime = _utc()


class ActionTally(SQLModel, table=True):
    """Points a member earned from one action in one local day (`period` YYYY-MM-DD) or in all
    (`period` "lifetime"): what caps are checked against, under the member's lock."""

    __tablename__ = "action_tally"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    action: str = Field(primary_key=True, max_length=32)
    period: str = Field(primary_key=True, max_length=10)
    points: int = Field(default=0, sa_type=BigInteger)
    claims: int = 0
    streak: int = 0  # consecutive local days up to this one (daily rows)


class BonusEvent(SQLModel, table=True):
    """A window in which purchase points are multiplied, optionally for some categories, tiers or
    a segment.

    A change bumps `rules_version` (triggers, migration 0019): events are program rules.
    `segment_filter` is a copy of the segment's filter made when the event is created (as
    campaigns copy it), so editing the segment later does not change an event already announced.
    """

    __tablename__ = "bonus_event"
    __table_args__ = (Index("ix_bonus_event_window", "ends_at", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    multiplier: Decimal = Field(sa_column=Column(Numeric(6, 3), nullable=False))
    starts_at: datetime = _utc()
    ends_at: datetime = _utc()
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    segment_filter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_by: str = Field(max_length=128)
    created_at: datetime = _utc()


class Referral(SQLModel, table=True):
    """A friend who enrolled with a member's code, and what came of it.

    `status`: joined (waiting for the friend's first kept purchase), rewarded, limit_reached
    (the referrer had their yearly number of rewarded referrals), reversed (the qualifying
    purchase was refunded), closed (a member was no longer active). A friend is referred at most once (unique `friend_id`).
    """

    __table_args__ = (Index("ix_referral_referrer", "referrer_id", "status", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    referrer_id: int = Field(foreign_key="member.id")
    friend_id: int = Field(foreign_key="member.id", unique=True)
    status: str = Field(max_length=16, index=True)
    purchase_id: int | None = Field(default=None, foreign_key="purchase.id", index=True)
    referrer_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    friend_entry_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    joined_at: datetime = _utc()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

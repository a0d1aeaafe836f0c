"""Offer use cases: the catalogue (staff), redemption, consumption and gifts; one unit of work each."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import (
    AuditLog,
    IdempotencyKey,
    LedgerEntry,
    Member,
    Offer,
    ProgramSetting,
    Voucher,
)
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.games.wheel.players import grant_spins
from backend.rewards.ledger import Posting, Source, debit, settle
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.offers import repository
from backend.rewards.offers.drafts import Catalogue, OfferDraft, clean_draft
from backend.rewards.offers.facts import MemberOffers
from backend.rewards.offers.rules import (
    WELCOME_KEY,
    Milestone,
    OfferKind,
    OfferTerms,
    Unavailable,
    VoucherOrigin,
    check_ladder,
    due_milestones,
    early_access,
    milestone_key,
    new_voucher_code,
    parse_code,
    read_ladder,
    refusal,
    refuse,
    window_refusal,
)
from backend.rewards.ports import Principal
from backend.rewards.program import ProgramRules
from backend.rewards.text import TextField, clean, clip, width
from backend.rewards.uow import LockedMember, UnitOfWork

log = logging.getLogger(__name__)

# The source of voucher codes' randomness (a CSPRNG); tests swap it to force a collision.
random_bytes: Callable[[int], bytes] = secrets.token_bytes
REDEEM_KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
REFERENCE = TextField(
    "INVALID_REFERENCE", "reference", "The order reference", width(Voucher, "used_reference")
)
# A redemption's key is stored with the member's id in front of it.
assert REDEEM_KEY.width + 12 <= width(IdempotencyKey, "key")


def catalogue_of(program: ProgramRules) -> Catalogue:
    """What offers are checked against, from the program rules."""
    return Catalogue(
        tiers=[t.code for t in program.tiers],
        currencies=frozenset(program.rates),
        default_language=str(program.setting("default_language")),
    )


def _audit(uow: UnitOfWork, staff: Principal, action: str, details: dict[str, Any]) -> None:
    """Write what a staff member changed in the program to the audit trail."""
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action=action,
            reason=action.replace("_", " "),
            details=details,
            created_at=uow.now,
        )
    )


async def create_offer(uow: UnitOfWork, *, draft: OfferDraft, staff: Principal) -> Offer:
    """Add an offer to the catalogue (audited)."""
    program = await uow.rules()
    draft = clean_draft(draft, catalogue=catalogue_of(program), now=uow.now)
    offer = Offer(**draft.columns(), created_by=staff.uid, created_at=uow.now, updated_at=uow.now)
    uow.session.add(offer)
    await uow.session.flush()
    _audit(uow, staff, "create_offer", {"offer_id": offer.id})
    await uow.commit()
    return offer


async def update_offer(
    uow: UnitOfWork, *, offer_id: int, changes: Mapping[str, Any], staff: Principal
) -> Offer:
    """Change some fields of an offer; the whole result is checked as a new one would be (audited)."""
    offer = await uow.session.get(Offer, offer_id, with_for_update=True)
    if offer is None:
        raise NotFound("UNKNOWN_OFFER", "No offer has that id.", field="id")
    program = await uow.rules()
    draft = replace(OfferDraft.of(offer), **changes)
    columns = clean_draft(draft, catalogue=catalogue_of(program), now=uow.now).columns()
    changed = sorted(k for k, v in columns.items() if getattr(offer, k) != v)
    for key in changed:  # only these: a concurrent redemption's stock decrement is kept
        setattr(offer, key, columns[key])
    offer.updated_at = uow.now
    _audit(uow, staff, "update_offer", {"offer_id": offer_id, "changed": changed})
    await uow.commit()
    return offer


async def _member_id(uow: UnitOfWork, uid: str) -> int:
    """The id of a signed-in user's membership, or NOT_ENROLLED."""
    stmt = select(col(Member.id)).where(col(Member.uid) == uid)
    member_id = (await uow.session.execute(stmt)).scalar()
    if member_id is None:
        raise NotFound("NOT_ENROLLED", "Enrol before redeeming offers.")
    return member_id


async def redeem_offer(
    uow: UnitOfWork, *, uid: str, offer_id: int, idempotency_key: str
) -> Voucher:
    """Spend points on an offer: one unit of stock, a ledger debit and a voucher, all or nothing.

    A replay of the key answers with the first voucher, whatever changed since.
    """
    key = clean(idempotency_key, REDEEM_KEY)
    member_id = await _member_id(uow, uid)
    scope, stored_key, payload = "redeem", idempotency.pair_key(str(member_id), key), offer_id
    earlier = await idempotency.replay(
        uow, scope=scope, key=stored_key, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(Voucher, int(earlier["voucher_id"]))
    member = await uow.lock_member(member_id)
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")
    claimed = await idempotency.claim(uow, scope=scope, key=stored_key, payload=payload)
    offer = await uow.session.get(Offer, offer_id)
    if offer is None or not offer.listed:
        raise NotFound("UNKNOWN_OFFER", "No offer has that id.", field="offerId")
    early = await _check_redeemable(uow, member, offer)
    entry = await _pay(uow, member, offer)
    voucher = await _issue(
        uow, offer=offer, member_id=member_id, origin=VoucherOrigin.REDEMPTION, entry=entry
    )
    # Last, so the offer's row (every redemption's hot spot) stays locked only until the commit.
    limited = offer.stock is not None or offer.club_stock is not None
    if limited and not await repository.take_stock(uow.session, offer_id, early=early):
        raise refuse(Unavailable.OUT_OF_STOCK)  # another member took the last unit meanwhile
    idempotency.remember(claimed, {"voucher_id": voucher.id})
    await uow.commit()
    return voucher


async def _check_redeemable(uow: UnitOfWork, member: LockedMember, offer: Offer) -> bool:
    """Refuse with the first reason the member cannot redeem the offer now (points as of now).

    True when the member redeems during their club's early access (from the club's stock).
    """
    program = await uow.rules()
    await settle(uow, member=member)  # expired points do not count, matured ones do
    read = MemberOffers(cast(int, member.id), member.tier_code, uow.now, offer_id=offer.id)
    found = await uow.session.run_sync(lambda session: read.run(session.connection()))
    (candidate,) = found.offers
    terms, facts = candidate.terms, found.facts
    reason = refusal(
        terms,
        facts,
        now=uow.now,
        ladder=[t.code for t in program.tiers],
        balance=member.balance,
        taken=candidate.taken,
    )
    if reason is not None:
        raise refuse(reason)
    return early_access(terms, facts, uow.now)


async def _pay(uow: UnitOfWork, member: LockedMember, offer: Offer) -> LedgerEntry | None:
    """Debit the offer's points through the ledger (gifts cost nothing)."""
    if offer.points_cost == 0:
        return None
    title = clip(f"Offer: {_title(offer)}", width(LedgerEntry, "reason"))
    posting = Posting(title, Source.OFFER, str(offer.id))
    return await debit(uow, member=member, points=offer.points_cost, posting=posting)


def _title(offer: Offer) -> str:
    """The offer's title in the language it was first written in."""
    return str(next(iter(offer.texts.values()))["title"])


async def _issue(
    uow: UnitOfWork,
    *,
    offer: Offer,
    member_id: int,
    origin: VoucherOrigin,
    entry: LedgerEntry | None = None,
    grant_key: str | None = None,
    kind: Kind | None = Kind.VOUCHER_ISSUED,
) -> Voucher:
    """Write a voucher with a new random code; a code collision re-runs the unit of work.

    `kind` is the notification that tells the member; a caller that tells them otherwise (a
    surprise's marketing message) passes None.
    """
    voucher = Voucher(
        code=new_voucher_code(random_bytes),
        offer_id=cast(int, offer.id),
        member_id=member_id,
        origin=origin.value,
        grant_key=grant_key,
        points_spent=-entry.amount if entry else 0,
        entry_id=entry.id if entry else None,
        issued_at=uow.now,
        expires_at=uow.now + timedelta(days=offer.voucher_valid_days),
    )
    uow.session.add(voucher)
    await uow.session.flush()
    if offer.kind == OfferKind.EXTRA_SPIN:
        await _credit_spin(uow, voucher, offer)
    if kind is not None:
        await notify(
            uow,
            member_id=member_id,
            kind=kind,
            params={"voucher_id": voucher.id},
            reward=offer_titles(offer),
        )
    return voucher


def offer_titles(offer: Offer) -> dict[str, str]:
    """An offer's title by language: how a notification names the voucher a member got."""
    return {language: str(text["title"]) for language, text in offer.texts.items()}


async def _credit_spin(uow: UnitOfWork, voucher: Voucher, offer: Offer) -> None:
    """An EXTRA_SPIN voucher is used at once: it banks one spin of the wheel for its member."""
    member = await uow.lock_member(voucher.member_id)  # held already by every caller
    reason = clip(f"Voucher: {_title(offer)}", width(LedgerEntry, "reason"))
    await grant_spins(
        uow, member=member, count=1, reason=reason, source_ref=f"voucher:{voucher.id}"
    )
    voucher.used_at, voucher.used_by, voucher.used_reference = uow.now, "wheel", "extra spin"


async def consume_voucher(
    uow: UnitOfWork, *, code: str, reference: str, integration: str
) -> Voucher:
    """Mark a voucher used once; the same integration replaying the same reference gets that answer."""
    reference = clean(reference, REFERENCE)
    canonical = parse_code(code)
    row = await repository.voucher_by_code(uow.session, canonical) if canonical else None
    if row is None:
        raise NotFound("UNKNOWN_CODE", "No voucher has that code.", field="code")
    if row.used_at is None and not await repository.mark_used(
        uow.session, voucher_id=row.id, now=uow.now, by=integration, reference=reference
    ):
        row = await repository.voucher_by_code(uow.session, row.code)  # changed meanwhile
        assert row is not None
    voucher = await uow.session.get_one(Voucher, row.id, populate_existing=True)
    if voucher.used_at is None:
        raise DomainError("EXPIRED", "This voucher has expired.", field="code")
    if (voucher.used_by, voucher.used_reference) != (integration, reference):
        raise DomainError("ALREADY_CONSUMED", "This voucher was already used.", field="code")
    await uow.commit()
    return voucher


async def issue_gift(
    uow: UnitOfWork,
    *,
    member_id: int,
    offer_id: int,
    origin: VoucherOrigin,
    grant_key: str,
    kind: Kind | None = Kind.VOUCHER_ISSUED,
) -> Voucher | None:
    """Give a member a voucher of a gift offer once per `grant_key`; None if given before or closed.

    `kind` is the notification that tells the member (its template names `voucher_id`); None
    when the caller tells them otherwise.

    A gift that cannot be given (offer gone, closed or out of stock) is skipped and logged: the
    purchase or enrolment it rides on must not fail for it.
    """
    given = select(col(Voucher.id)).where(
        col(Voucher.member_id) == member_id, col(Voucher.grant_key) == grant_key
    )
    if (await uow.session.execute(given)).first() is not None:
        return None
    offer = await uow.session.get(Offer, offer_id)
    open_now = offer is not None and window_refusal(OfferTerms.of(offer), uow.now) is None
    limited = offer is not None and (offer.stock is not None or offer.club_stock is not None)
    if (
        offer is None
        or not open_now
        or (limited and not await repository.take_stock(uow.session, offer_id))
    ):
        log.warning("gift offer %s could not be given (%s)", offer_id, grant_key)
        return None
    return await _issue(
        uow, offer=offer, member_id=member_id, origin=origin, grant_key=grant_key, kind=kind
    )


async def welcome(uow: UnitOfWork, *, member_id: int, program: ProgramRules) -> Voucher | None:
    """Give a new member the welcome gift, if the program has one."""
    offer_id = program.settings.get("welcome_offer_id")
    if offer_id is None:
        return None
    return await issue_gift(
        uow,
        member_id=member_id,
        offer_id=int(offer_id),
        origin=VoucherOrigin.WELCOME,
        grant_key=WELCOME_KEY,
    )


async def purchase_recorded(
    uow: UnitOfWork,
    *,
    member: LockedMember,
    program: ProgramRules,
    categories: set[str],
    bought: int,
) -> list[Voucher]:
    """Count the categories bought and give the milestone gifts this purchase reaches; `bought`
    is the member's purchases the ladder counts, this one included (`repository.BOUGHT_BESIDES`
    + 1)."""
    member_id = cast(int, member.id)
    await repository.record_bought(uow.session, member_id, categories)
    ladder = read_ladder(program.settings.get("milestones", []))
    if not ladder:
        return []
    given = []
    for step in due_milestones(ladder, bought):
        voucher = await issue_gift(
            uow,
            member_id=member_id,
            offer_id=step.offer_id,
            origin=VoucherOrigin.MILESTONE,
            grant_key=milestone_key(step),
        )
        given += [voucher] if voucher else []
    return given


async def configure_milestones(
    uow: UnitOfWork,
    *,
    steps: Sequence[Milestone],
    welcome_offer_id: int | None,
    staff: Principal,
) -> tuple[tuple[Milestone, ...], int | None]:
    """Replace the milestone ladder and the welcome gift; every offer named must be a gift (audited)."""
    ladder = check_ladder(steps)
    named = [(f"steps.{i}.offerId", s.offer_id) for i, s in enumerate(steps)]
    if welcome_offer_id is not None:
        named.append(("welcomeOfferId", welcome_offer_id))
    for field, offer_id in named:
        await _check_gift(uow, offer_id, field)
    await _set(uow, "milestones", [step.as_json() for step in ladder])
    await _set(uow, "welcome_offer_id", welcome_offer_id)
    details = {"milestones": [s.as_json() for s in ladder], "welcome_offer_id": welcome_offer_id}
    _audit(uow, staff, "configure_milestones", details)
    await uow.commit()
    return ladder, welcome_offer_id


async def _check_gift(uow: UnitOfWork, offer_id: int, field: str) -> None:
    """Refuse an offer that does not exist or costs points."""
    offer = await uow.session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("UNKNOWN_OFFER", "No offer has that id.", field=field)
    if offer.points_cost != 0:
        raise DomainError("NOT_A_GIFT", "Gifts must be offers that cost 0 points.", field=field)


async def _set(uow: UnitOfWork, key: str, value: Any) -> None:
    """Write one program setting."""
    await uow.session.merge(ProgramSetting(key=key, value=value))


async def store_featured(uow: UnitOfWork, *, picks: Sequence[tuple[int, int, datetime]]) -> None:
    """Remember the offers members were featured, (member id, offer id, shown at) each, so their
    next visits feature others (see `featured.FeaturedPicks`)."""
    await repository.remember_featured(uow.session, picks)
    await uow.commit()

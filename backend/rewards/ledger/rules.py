"""Pure ledger decisions: how a debit is spread over lots, how a reversal splits, what is due."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class OpenLot:
    """A lot that still has spendable points, in spending order."""

    id: int
    remaining: int


def allocate_fifo(lots: list[OpenLot], points: int) -> tuple[list[tuple[int, int]], int]:
    """Take `points` from lots in the given (oldest-first) order; return takes and what is left."""
    takes: list[tuple[int, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        if take > 0:
            takes.append((lot.id, take))
            left -= take
    return takes, left


@dataclass(frozen=True)
class ReversalSplit:
    """Where the points of a reversal come from."""

    from_lot: int
    from_expired: int
    from_elsewhere: int

    @property
    def balance_effect(self) -> int:
        """Points the reversal takes off the member's balance (expired ones are already gone)."""
        return self.from_lot + self.from_elsewhere


def split_reversal(*, points: int, remaining: int, expired: int) -> ReversalSplit:
    """Reverse a lot's points: first unspent ones, then expired ones, the rest were spent."""
    from_lot = min(points, remaining)
    from_expired = min(points - from_lot, expired)
    return ReversalSplit(from_lot, from_expired, points - from_lot - from_expired)


def debt_repaid(*, debt: int, points: int) -> int:
    """Points of a newly spendable lot that go to paying back debt (a reversal of spent points)."""
    return min(debt, points)


@dataclass(frozen=True)
class LotState:
    """What settling needs to know of a lot."""

    id: int
    remaining: int
    released: bool
    available_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Release:
    """A pending lot whose return window is over: `points` become spendable, `repaid` pay debt."""

    lot_id: int
    points: int
    repaid: int


@dataclass(frozen=True)
class Expiry:
    """A spendable lot past its date: its `points` are written off."""

    lot_id: int
    points: int


@dataclass(frozen=True)
class Settlement:
    """The releases and expiries due at a moment, and the balances and lots once they are done."""

    releases: tuple[Release, ...]
    expiries: tuple[Expiry, ...]
    balance: int
    pending: int
    debt: int
    lots: tuple[LotState, ...]


def settle_lots(
    *, balance: int, pending: int, debt: int, lots: list[LotState], now: datetime
) -> Settlement:
    """Release matured pending lots (repaying debt first), then expire lots past their date.

    The settle job writes this plan as entries; the read side applies it to the cached balances,
    so a balance never shows points that have expired or hides points that have matured.
    """
    releases: list[Release] = []
    settled: list[LotState] = []
    for lot in sorted(lots, key=lambda lot: lot.id):
        if not lot.released and lot.available_at <= now:
            repaid = debt_repaid(debt=debt, points=lot.remaining)
            releases.append(Release(lot.id, lot.remaining, repaid))
            balance, pending, debt = balance + lot.remaining, pending - lot.remaining, debt - repaid
            lot = replace(lot, released=True, remaining=lot.remaining - repaid)
        settled.append(lot)
    expiries: list[Expiry] = []
    for i, lot in enumerate(settled):
        if lot.released and lot.remaining > 0 and lot.expires_at <= now:
            expiries.append(Expiry(lot.id, lot.remaining))
            balance -= lot.remaining
            settled[i] = replace(lot, remaining=0)
    return Settlement(tuple(releases), tuple(expiries), balance, pending, debt, tuple(settled))


def expiring_within(
    lots: tuple[LotState, ...], *, now: datetime, until: datetime
) -> tuple[int, datetime | None]:
    """Spendable points of settled lots that expire after `now` and by `until`, and the first date."""
    due = [
        lot for lot in lots if lot.released and lot.remaining > 0 and now < lot.expires_at <= until
    ]
    return sum(lot.remaining for lot in due), min((lot.expires_at for lot in due), default=None)

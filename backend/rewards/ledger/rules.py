"""Pure ledger decisions: how a debit is spread over lots, how a reversal splits."""

from __future__ import annotations

from dataclasses import dataclass


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

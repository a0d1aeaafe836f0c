"""The points ledger: append-only entries, lots with expiry, pending points, FIFO spending."""

from backend.rewards.ledger.services import (
    EntryKind,
    Posting,
    Source,
    credit,
    credit_each,
    debit,
    reverse_credit,
    settle,
)

__all__ = [
    "EntryKind",
    "Posting",
    "Source",
    "credit",
    "credit_each",
    "debit",
    "reverse_credit",
    "settle",
]

"""Prize draws: which tickets win, reproducibly from the revealed seed and the ordered tickets.

`winning_tickets(seed, holders, winners)` is the whole rule. Tickets are numbered 0 … n-1 in the
order they were taken (the API shows them as 1 … n); `holders[i]` names the member holding ticket
i (any labels that are equal exactly for the same member). The stream is
`SeededRng(seed, "draw")` (see `games/rng.py`). A Fisher–Yates shuffle of the ticket numbers is
run one step at a time: step i swaps position i with position `i + below(n - i)`; the ticket that
lands at position i is the next one drawn. A drawn ticket wins unless its holder already won
(one prize per member); drawing stops once `winners` holders won or every ticket was drawn. The
answer is the winning ticket numbers in the order they were drawn, so with fewer holders than
prizes every holder wins once. Every ticket is equally likely to be drawn at each step.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from games.rng import SeededRng

MESSAGE = "draw"


def winning_tickets(seed: bytes, holders: Sequence[Hashable], winners: int) -> list[int]:
    """The winning tickets (0-based, in draw order), at most one per holder."""
    if winners < 0:
        raise ValueError("winners must not be negative")
    rng = SeededRng(seed, MESSAGE)
    order = list(range(len(holders)))
    won: set[Hashable] = set()
    picked: list[int] = []
    for i in range(len(order)):
        if len(picked) == winners:
            break
        j = i + rng.below(len(order) - i)
        order[i], order[j] = order[j], order[i]
        ticket = order[i]
        if holders[ticket] not in won:
            won.add(holders[ticket])
            picked.append(ticket)
    return picked

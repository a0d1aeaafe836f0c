"""Leaderboard ranks: standard competition ranking ("1224"), tied scores share the best rank.

A member's rank is 1 + the number of members with strictly more points, so scores 50, 40, 40, 10
rank 1, 2, 2, 4. A page of the board ordered by points (highest first) is ranked from the rank
and position of its first row alone, so no page needs the rows before it; those two follow from
how many members have more points than the page's cursor and how many have exactly its points.
"""

from __future__ import annotations

from collections.abc import Sequence


def rank_of(higher: int) -> int:
    """The rank of a score that `higher` scores beat."""
    return higher + 1


def page_ranks(points: Sequence[int], *, first_rank: int, first_position: int) -> list[int]:
    """Ranks of a page of scores in board order, given the first row's rank and 1-based position."""
    ranks: list[int] = []
    for offset, score in enumerate(points):
        if offset and score == points[offset - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(first_rank if offset == 0 else first_position + offset)
    return ranks


def page_start(
    points: Sequence[int], *, cursor: int | None, above: int, at: int
) -> tuple[int, int]:
    """The first rank and 1-based position of a page of scores (board order) that follows a
    cursor at score `cursor` (None: the top of the board), which `above` members beat and `at`
    members share. Members at the cursor's score not on the page come before it (if some came
    after it, the page holds that score only and positions do not matter)."""
    if not points or cursor is None:
        return 1, 1
    first_rank = rank_of(above if points[0] == cursor else above + at)
    return first_rank, above + at - sum(score == cursor for score in points) + 1

"""Prize draws and leaderboard ranks: pure, reproducible rules."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from games.draw import winning_tickets
from games.leaderboard import page_ranks, page_start

holders = st.lists(st.integers(0, 30), max_size=60)


@given(st.binary(min_size=1, max_size=32), holders, st.integers(0, 10))
def test_the_same_seed_and_tickets_draw_the_same_distinct_winners(seed, owners, winners):
    """Reproducible; each winner holds a real ticket; no member wins twice; as many as can win."""
    drawn = winning_tickets(seed, owners, winners)
    assert drawn == winning_tickets(seed, owners, winners)
    assert all(0 <= t < len(owners) for t in drawn)
    assert len({owners[t] for t in drawn}) == len(drawn)
    assert len(drawn) == min(winners, len(set(owners)))


def test_fewer_entries_than_prizes_make_everyone_a_winner_once():
    """Three members, one of them with two tickets, five prizes: three winners."""
    drawn = winning_tickets(b"seed", ["a", "b", "b", "c"], 5)
    assert sorted({["a", "b", "b", "c"][t] for t in drawn}) == ["a", "b", "c"]
    assert winning_tickets(b"seed", [], 3) == []


def test_every_ticket_is_about_equally_likely_to_win():
    """Over 6,000 seeded draws of one winner among six tickets, each wins about 1,000 times."""
    wins = Counter(winning_tickets(f"s{i}".encode(), list(range(6)), 1)[0] for i in range(6000))
    assert all(880 < wins[t] < 1120 for t in range(6)), wins


def test_a_negative_number_of_winners_is_a_programming_error():
    with pytest.raises(ValueError):
        winning_tickets(b"k", [1], -1)


def test_ties_share_the_best_rank_and_the_next_rank_skips():
    """50, 40, 40, 10 rank 1, 2, 2, 4; a later page continues from its first row."""
    assert page_ranks([50, 40, 40, 10], first_rank=1, first_position=1) == [1, 2, 2, 4]
    assert page_ranks([40, 10], first_rank=2, first_position=3) == [2, 4]
    assert page_ranks([], first_rank=1, first_position=1) == []


@given(st.lists(st.integers(1, 5), min_size=1, max_size=30), st.data())
def test_a_page_after_any_cursor_ranks_as_the_whole_board_does(scores, data):
    """From the members above and at the cursor's score alone, a page gets the board's ranks."""
    board = sorted(scores, reverse=True)
    whole = page_ranks(board, first_rank=1, first_position=1)
    start = data.draw(st.integers(0, len(board) - 1))  # the page's first row
    page = board[start : start + data.draw(st.integers(1, 5))]
    cursor = board[start - 1] if start else None
    above = sum(s > cursor for s in board) if cursor else 0
    at = board.count(cursor) if cursor else 0
    first_rank, first_position = page_start(page, cursor=cursor, above=above, at=at)
    ranked = page_ranks(page, first_rank=first_rank, first_position=first_position)
    assert ranked == whole[start : start + len(page)]

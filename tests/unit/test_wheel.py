"""The wheel's pure rules: spins follow the weights exactly, anyone can recompute them, odds are exact."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from games.rng import commitment
from games.wheel import (
    Allowance,
    Payment,
    Segment,
    SegmentKind,
    Void,
    Wheel,
    WheelRuleError,
    chances_by_kind,
    check_wheel,
    land,
    odds,
    payment,
    verify,
)
from scripts import verify_spin

P, OF, X, T = SegmentKind.POINTS, SegmentKind.OFFER, SegmentKind.EXTRA_SPIN, SegmentKind.TRY_AGAIN
WHEEL = Wheel(
    (
        Segment(P, 50, points=10),
        Segment(P, 20, points=50),
        Segment(P, 5, points=500),
        Segment(OF, 3, offer_id=7),
        Segment(X, 12),
        Segment(T, 110),
    ),
    free_spins_per_day=1,
    extra_spin_price=25,
    daily_points_budget=1000,
)


def chi_square_p(observed: list[int], expected: list[float]) -> float:
    """Upper-tail p-value of Pearson's statistic (Wilson-Hilferty approximation of chi-square)."""
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    k = len(observed) - 1
    z = ((statistic / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_100000_seeded_spins_land_as_the_weights_say():
    """Given fixed seeds, the landing frequencies pass a chi-square test at p > 0.001."""
    weights = [s.weight for s in WHEEL.segments]
    counts = [0] * len(weights)
    seeds = [f"seed-{i}".encode() for i in range(100)]
    for seed in seeds:  # 100 committed seeds, 1000 nonces each: as members would spin
        for nonce in range(1000):
            counts[land(seed, nonce, weights)] += 1
    total = sum(weights)
    expected = [100_000 * w / total for w in weights]
    assert chi_square_p(counts, expected) > 0.001
    assert sum(counts) == 100_000


def test_the_chi_square_check_can_fail():
    """A wheel that ignored its weights would be caught."""
    assert chi_square_p([25_000] * 4, [40_000, 20_000, 20_000, 20_000]) < 0.001


segments = st.lists(
    st.builds(
        Segment,
        st.just(P),
        st.integers(1, 1_000_000),
        points=st.integers(1, 1_000_000),
    )
    | st.builds(Segment, st.sampled_from([X, T]), st.integers(1, 1_000_000)),
    min_size=2,
    max_size=24,
)


@given(segments, st.binary(min_size=32, max_size=32), st.integers(0, 2**31 - 1))
def test_verification_recomputes_every_spin(wheel_segments, seed, nonce):
    """Given the revealed seed and nonce and the published segments, anyone lands where the server did."""
    index = land(seed, nonce, [s.weight for s in wheel_segments])
    outcome = verify(seed, nonce, wheel_segments)
    assert (outcome.index, outcome.segment, outcome.kind) == (
        index,
        wheel_segments[index],
        wheel_segments[index].kind,
    )
    assert 0 <= index < len(wheel_segments)


@given(segments, st.one_of(st.none(), st.integers(0, 2_000_000)))
def test_odds_are_exact_and_add_up_to_one(wheel_segments, points_left):
    """Given any wheel and budget left, each chance is weight/total and the payouts sum to 1."""
    wheel = Wheel(tuple(wheel_segments))
    chances = odds(wheel, points_left)
    assert [c.chance for c in chances] == [
        Fraction(s.weight, wheel.total_weight) for s in wheel_segments
    ]
    assert sum(chances_by_kind(chances).values()) == 1
    for chance in chances:
        unpaid = (
            chance.segment.kind == P
            and points_left is not None
            and chance.segment.points > points_left
        )
        assert chance.pays == (T if unpaid else chance.segment.kind)


def test_a_spent_budget_moves_the_points_chances_to_try_again():
    assert chances_by_kind(odds(WHEEL, None)) == {
        P: Fraction(75, 200),
        OF: Fraction(3, 200),
        X: Fraction(12, 200),
        T: Fraction(110, 200),
    }
    assert chances_by_kind(odds(WHEEL, 60)) == {  # 500 no longer fits
        P: Fraction(70, 200),
        OF: Fraction(3, 200),
        X: Fraction(12, 200),
        T: Fraction(115, 200),
    }
    assert chances_by_kind(odds(WHEEL, 0)) == {
        OF: Fraction(3, 200),
        X: Fraction(12, 200),
        T: Fraction(185, 200),
    }


def test_a_void_spin_pays_try_again_and_must_fit_its_segment():
    seed = bytes(32)
    index = land(seed, 0, [s.weight for s in WHEEL.segments])
    landed = WHEEL.segments[index]
    void = Void.BUDGET_SPENT if landed.kind == P else None
    outcome = verify(seed, 0, WHEEL.segments, void)
    assert outcome.kind == (T if void else landed.kind)
    assert outcome.points == (0 if void else landed.points)
    wrong = Void.OFFER_UNAVAILABLE if landed.kind != OF else Void.BUDGET_SPENT
    with pytest.raises(ValueError):
        verify(seed, 0, WHEEL.segments, wrong)


@pytest.mark.parametrize(
    ("wheel", "code", "field"),
    [
        (Wheel((Segment(T, 1),)), "INVALID_SEGMENTS", "segments"),
        (Wheel((Segment(T, 1),) * 25), "INVALID_SEGMENTS", "segments"),
        (Wheel((Segment(T, 0), Segment(T, 1))), "INVALID_WEIGHT", "segments.0.weight"),
        (Wheel((Segment(T, 1), Segment(T, 1_000_001))), "INVALID_WEIGHT", "segments.1.weight"),
        (Wheel((Segment(T, 1), Segment(P, 1, points=0))), "INVALID_POINTS", "segments.1.points"),
        (Wheel((Segment(T, 1, points=5), Segment(T, 1))), "INVALID_POINTS", "segments.0.points"),
        (Wheel((Segment(T, 1), Segment(OF, 1))), "INVALID_OFFER", "segments.1.offerId"),
        (Wheel((Segment(T, 1, offer_id=3), Segment(T, 1))), "INVALID_OFFER", "segments.0.offerId"),
        (Wheel((Segment(T, 1), Segment(X, 1)), -1), "INVALID_FREE_SPINS", "freeSpinsPerDay"),
        (Wheel((Segment(T, 1), Segment(X, 1)), 1, 0), "INVALID_PRICE", "extraSpinPrice"),
        (Wheel((Segment(T, 1), Segment(X, 1)), 1, None, -1), "INVALID_BUDGET", "dailyPointsBudget"),
    ],
)
def test_every_wheel_outside_its_limits_is_refused(wheel, code, field):
    with pytest.raises(WheelRuleError) as refused:
        check_wheel(wheel)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_limits_themselves_are_accepted():
    wheel = Wheel(
        (Segment(P, 1_000_000, points=1_000_000), *(Segment(T, 1),) * 23), 100, 1_000_000, 0
    )
    assert check_wheel(wheel) is wheel


def test_spins_are_paid_free_first_then_extra_then_bought():
    assert payment(WHEEL, Allowance(1, 2), buy=True) == Payment.FREE
    assert payment(WHEEL, Allowance(0, 2), buy=True) == Payment.EXTRA
    assert payment(WHEEL, Allowance(0, 0), buy=True) == Payment.BOUGHT
    with pytest.raises(WheelRuleError, match="No spins left"):
        payment(WHEEL, Allowance(0, 0), buy=False)
    with pytest.raises(WheelRuleError, match="not sold"):
        payment(Wheel(WHEEL.segments), Allowance(0, 0), buy=True)


def documented_landing(seed: bytes, nonce: int, weights: list[int]) -> int:
    """The README's description, written out independently of games/: HMAC-SHA256 blocks over
    "wheel:{nonce}:{counter}" as big-endian 64-bit words, rejection below the largest multiple."""
    total, words = sum(weights), []
    limit = 2**64 - 2**64 % total
    counter = 0
    while True:
        block = hmac.new(seed, f"wheel:{nonce}:{counter}".encode(), hashlib.sha256).digest()
        words = [int.from_bytes(block[i : i + 8], "big") for i in range(0, 32, 8)]
        accepted = [w for w in words if w < limit]
        if accepted:
            ticket = accepted[0] % total
            break
        counter += 1
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if ticket < running:
            return index
    raise AssertionError("unreachable")


@given(segments, st.binary(min_size=32, max_size=32), st.integers(0, 2**31 - 1))
def test_the_landing_is_the_documented_function(wheel_segments, seed, nonce):
    """Given any wheel, seed and nonce, the README's recipe lands where the server does."""
    weights = [s.weight for s in wheel_segments]
    assert land(seed, nonce, weights) == documented_landing(seed, nonce, weights)


def test_the_verify_script_accepts_a_true_spin_and_refuses_a_forged_one(tmp_path, capsys):
    seed = bytes(range(32))
    published = [
        {"kind": s.kind.value, "weight": s.weight, "points": s.points} for s in WHEEL.segments
    ]
    index = land(seed, 5, [s.weight for s in WHEEL.segments])
    spin = {
        "serverSeed": seed.hex(),
        "commitment": commitment(seed),
        "nonce": 5,
        "segmentIndex": index,
        "kind": WHEEL.segments[index].kind.value,
        "void": None,
        "segments": published,
    }
    true, forged = tmp_path / "true.json", tmp_path / "forged.json"
    true.write_text(json.dumps(spin))
    forged.write_text(json.dumps({**spin, "segmentIndex": (index + 1) % 6}))
    assert verify_spin.main(["--commitment", commitment(seed), str(true)]) == 0
    assert verify_spin.main([str(forged)]) == 1
    assert verify_spin.main(["--commitment", "0" * 64, str(true)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("OK: nonce 5 lands on segment")
    assert printed[1].startswith("MISMATCH: the seed lands on segment")
    assert printed[2] == "MISMATCH: the spin used another seed than the one committed before it"

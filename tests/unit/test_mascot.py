"""Catch the mascot's rules: plans follow from their seed; only real, timely, first catches count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from games.mascot import Catch, HuntConfig, Rejection, Spawn, capped, judge, plan

CONFIG = HuntConfig()
seeds = st.binary(min_size=32, max_size=32)


def a_plan(seed: bytes) -> tuple[Spawn, ...]:
    """The default hunt's plan of a seed."""
    return plan(seed, CONFIG)


@given(seeds)
def test_a_plan_is_the_same_for_the_same_seed_and_fits_the_hunt(seed: bytes) -> None:
    spawns = a_plan(seed)
    assert a_plan(seed) == spawns
    assert [s.mascot_id for s in spawns] == list(range(1, CONFIG.spawns + 1))
    assert [s.appear_ms for s in spawns] == sorted(s.appear_ms for s in spawns)
    for s in spawns:
        assert 0 <= s.appear_ms < s.disappear_ms <= CONFIG.duration_ms
        assert 100 <= s.visible_ms <= CONFIG.visible_max_ms
        assert 0 <= s.x <= 1 and 0 <= s.y <= 1


@given(seeds, seeds)
def test_different_seeds_give_different_plans(first: bytes, second: bytes) -> None:
    if first != second:
        assert a_plan(first) != a_plan(second)


def test_golden_mascots_are_rare_and_fleeting() -> None:
    spawns = [s for i in range(200) for s in a_plan(i.to_bytes(32, "big"))]
    golden = [s for s in spawns if s.golden]
    assert 0.04 < len(golden) / len(spawns) < 0.12  # 8% expected of 2,400
    assert max(s.visible_ms for s in golden) <= CONFIG.visible_max_ms * 2 // 3


@st.composite
def timely_catches(draw: st.DrawFn) -> tuple[tuple[Spawn, ...], list[Catch]]:
    """A plan and a catch inside the window of some of its mascots, each once, in any order."""
    spawns = a_plan(draw(seeds))
    chosen = draw(st.lists(st.sampled_from(spawns), unique=True))
    catches = [
        Catch(
            s.mascot_id,
            draw(
                st.integers(s.appear_ms + CONFIG.reaction_ms, s.disappear_ms + CONFIG.tolerance_ms)
            ),
        )
        for s in chosen
    ]
    return spawns, draw(st.permutations(catches))


@given(timely_catches())
def test_timely_first_catches_of_real_mascots_all_count(
    case: tuple[tuple[Spawn, ...], list[Catch]],
) -> None:
    spawns, catches = case
    verdict = judge(spawns, catches, CONFIG)
    assert sorted(verdict.accepted, key=lambda c: c.mascot_id) == sorted(
        catches, key=lambda c: c.mascot_id
    )
    assert verdict.rejected == () and not verdict.suspicious
    golden = {s.mascot_id for s in spawns if s.golden}
    bonus = sum(CONFIG.golden_bonus for c in catches if c.mascot_id in golden)
    assert verdict.points == CONFIG.points_per_catch * len(catches) + bonus


@given(seeds, st.data())
def test_every_forged_duplicated_too_fast_or_out_of_window_catch_is_refused(
    seed: bytes, data: st.DataObject
) -> None:
    spawns = a_plan(seed)
    spawn = data.draw(st.sampled_from(spawns))
    forged = data.draw(st.integers(-(2**31), 2**31 - 1).filter(lambda i: i > len(spawns) or i < 1))
    too_fast = data.draw(st.integers(-(2**31), spawn.appear_ms + CONFIG.reaction_ms - 1))
    late = data.draw(st.integers(spawn.disappear_ms + CONFIG.tolerance_ms + 1, 2**31 - 1))
    good = spawn.appear_ms + CONFIG.reaction_ms
    cases = {
        Rejection.UNKNOWN_MASCOT: [Catch(forged, good)],
        Rejection.TOO_FAST: [Catch(spawn.mascot_id, too_fast)],
        Rejection.OUT_OF_WINDOW: [Catch(spawn.mascot_id, late)],
    }
    for reason, catches in cases.items():
        verdict = judge(spawns, catches, CONFIG)
        assert (verdict.accepted, verdict.points) == ((), 0)
        assert verdict.rejected == ((catches[0], reason),)
    twice = judge(spawns, [Catch(spawn.mascot_id, good + 1), Catch(spawn.mascot_id, good)], CONFIG)
    assert twice.accepted == (Catch(spawn.mascot_id, good),)
    assert twice.rejected == ((Catch(spawn.mascot_id, good + 1), Rejection.ALREADY_CAUGHT),)


def test_a_hunt_with_enough_forged_or_too_fast_catches_is_suspicious() -> None:
    spawns = a_plan(b"s" * 32)
    first, second = spawns[0], spawns[1]
    cheats = [Catch(99, 5_000), Catch(first.mascot_id, first.appear_ms)]
    assert not judge(spawns, cheats, CONFIG).suspicious
    assert judge(
        spawns, [*cheats, Catch(second.mascot_id, second.appear_ms + 10)], CONFIG
    ).suspicious
    duplicates = [Catch(first.mascot_id, first.disappear_ms)] * 4
    assert not judge(spawns, duplicates, CONFIG).suspicious  # a double tap is not cheating


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_the_daily_cap_never_lets_the_day_total_pass_it(points: int, earned: int, cap: int) -> None:
    awarded = capped(points, earned_today=earned, daily_cap=cap)
    assert 0 <= awarded <= points
    assert earned + awarded <= max(cap, earned)
    assert awarded == points or earned + awarded == cap or earned >= cap


@pytest.mark.parametrize(
    "fields",
    [{"spawns": 0}, {"spawns": 51}, {"duration_ms": 999}, {"visible_min_ms": 2_000},
     {"golden_per_mille": 1001}, {"reaction_ms": -1}, {"suspicious_rejections": 0}],
)  # fmt: skip
def test_a_configuration_no_plan_can_follow_is_refused(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        HuntConfig(**fields)

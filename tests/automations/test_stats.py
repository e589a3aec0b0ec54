"""The holdout comparison: Newcombe's interval and what the page says."""

import pytest

from automations.stats import MIN_GROUP, lift, newcombe_difference, wilson


def test_wilson_matches_the_published_example():
    # Newcombe (1998), Table I: 81/263 → 0.2553 to 0.3662.
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize(
    ("r1", "n1", "r2", "n2", "expected"),
    # Newcombe (1998), Table II, method 10.
    [(56, 70, 48, 80, (0.0524, 0.3339)), (9, 10, 3, 10, (0.1705, 0.8090))],
)
def test_newcombe_matches_the_published_intervals(r1, n1, r2, n2, expected):
    _, low, high = newcombe_difference(r1, n1, r2, n2)
    assert (round(low, 4), round(high, 4)) == expected


def test_the_page_says_when_there_is_no_holdout_or_too_little_data():
    assert (
        lift(contacted=500, contacted_recovered=50, held_out=0, held_out_recovered=0, holdout_percent=0).verdict
        == "no-holdout"
    )
    few = lift(contacted=500, contacted_recovered=50, held_out=MIN_GROUP - 1, held_out_recovered=2, holdout_percent=10)
    assert few.verdict == "too-few" and f"at least {MIN_GROUP} in each group" in few.message


def test_an_interval_spanning_zero_is_reported_as_not_yet_known():
    result = lift(contacted=300, contacted_recovered=36, held_out=40, held_out_recovered=4, holdout_percent=10)
    assert result.verdict == "unclear" and result.lower < 0 < result.upper
    assert result.message.startswith("Not enough data to tell yet")


def test_a_clear_lift_is_stated_with_its_interval():
    result = lift(contacted=2000, contacted_recovered=300, held_out=500, held_out_recovered=40, holdout_percent=20)
    assert result.verdict == "positive" and result.lower > 0
    assert "+7.0 points" in result.message and "95% confidence" in result.message

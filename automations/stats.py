"""Did the automation work? Recovery of contacted vs held-out checkouts, with a 95% interval.

The lift is the difference of two proportions, p_contacted − p_held_out. Its interval is
Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the two Wilson score
intervals. The simpler Wald interval (p ± 1.96·SE) is known to cover badly exactly where we
live: small held-out groups and recovery rates near 0 (10–15%), where it can even run below
0% — Newcombe's interval keeps close to its nominal 95% there and never leaves [-1, 1].
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
# Below this many checkouts in either group the interval is too wide to say anything useful.
MIN_GROUP = 30


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(r1: int, n1: int, r2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(p1 − p2, lower, upper): Newcombe's hybrid score interval for a difference of proportions."""
    p1, p2 = r1 / n1, r2 / n2
    l1, u1 = wilson(r1, n1, z)
    l2, u2 = wilson(r2, n2, z)
    difference = p1 - p2
    lower = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, lower, upper


@dataclass
class Lift:
    """What the holdout says, in plain words for the automation's page."""

    verdict: str  # "no-holdout", "too-few", "unclear", "positive", "negative"
    message: str
    difference: float | None = None
    lower: float | None = None
    upper: float | None = None


def _points(value: float) -> str:
    return f"{value * 100:+.1f} points"


def lift(
    *, contacted: int, contacted_recovered: int, held_out: int, held_out_recovered: int, holdout_percent: int
) -> Lift:
    if holdout_percent == 0 and held_out == 0:
        return Lift(
            "no-holdout",
            "No holdout is set, so there is nothing to compare against. Set a holdout share "
            "(10% is a good start) to measure what this automation really earns.",
        )
    if contacted < MIN_GROUP or held_out < MIN_GROUP:
        return Lift(
            "too-few",
            f"Not enough data yet: {contacted} contacted and {held_out} held-out checkouts so far. "
            f"The comparison needs at least {MIN_GROUP} in each group.",
        )
    difference, lower, upper = newcombe_difference(contacted_recovered, contacted, held_out_recovered, held_out)
    span = f"somewhere between {_points(lower)} and {_points(upper)}"
    return _verdict(
        difference,
        lower,
        upper,
        unclear=f"Not enough data to tell yet: the effect on the recovery rate is {span} (95% confidence), "
        "which includes no effect at all.",
        clear=f"Contacting buyers changed the recovery rate by {_points(difference)} (95% confidence: {span}).",
    )


def variant_difference(*, a_recipients: int, a_recovered: int, b_recipients: int, b_recovered: int) -> Lift:
    """What an A/B step says: B's recovery rate minus A's, with the holdout's own interval
    (`newcombe_difference`, Newcombe's hybrid score interval at 95%).

    A variant's rate is the recoveries credited to its emails over the checkouts it went to.
    The rule for "not enough data yet" is the holdout's: fewer than MIN_GROUP (30) recipients
    of either variant, where any interval would be too wide to act on."""
    if a_recipients < MIN_GROUP or b_recipients < MIN_GROUP:
        return Lift(
            "too-few",
            f"Not enough data yet: {a_recipients} buyers got variant A and {b_recipients} variant B. "
            f"The comparison needs at least {MIN_GROUP} of each.",
        )
    difference, lower, upper = newcombe_difference(b_recovered, b_recipients, a_recovered, a_recipients)
    span = f"somewhere between {_points(lower)} and {_points(upper)}"
    better = "B" if difference > 0 else "A"
    return _verdict(
        difference,
        lower,
        upper,
        unclear=f"No clear winner yet: B's recovery rate differs from A's by {span} (95% confidence), "
        "which includes no difference at all.",
        clear=f"Variant {better} recovers more: B's rate differs from A's by {_points(difference)} "
        f"(95% confidence: {span}).",
    )


def _verdict(difference: float, lower: float, upper: float, *, unclear: str, clear: str) -> Lift:
    """An interval that spans zero says nothing yet; otherwise its sign is the verdict."""
    if lower <= 0 <= upper:
        return Lift("unclear", unclear, difference, lower, upper)
    return Lift("positive" if difference > 0 else "negative", clear, difference, lower, upper)

"""What strategies do to customers, and how the effects of several strategies combine.

A strategy never changes a hazard, a bill or a satisfaction score itself: it
returns a :class:`Plan` (this month's price and acquisition terms) and
:class:`Effects` (what it does to each of the month's customers), and the
model applies them. Effects are pure: asking twice gives the same answer and
changes nothing, so the same effects serve the books and expected CLV.

How the effects of the running strategies (the firm's and the competitor's
alike) combine is decided here, in one place:

- multipliers (churn, spend, per-reason hazards, the chance of coming back)
  multiply, in the order the strategies are listed (firm first);
- values (value units) add up;
- costs (currency) stay apart by strategy, so the books can say what each
  strategy cost; only the firm's strategies spend the firm's money (what the
  competitor spends is its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crmsim.vocabulary import DEFECTION_REASONS

SWITCHING_REASONS: tuple[str, ...] = ("price", "product", "service")
"""Reasons whose hazards strategies may scale one by one (``Effects.reasons``)."""


@dataclass(frozen=True)
class Plan:
    """A strategy's settings for this month, before anyone acts.

    Attributes:
        price_factor: Multiplier of the firm's price index.
        budget_factor: Multiplier of the acquisition budget.
        budget_shares: Share of the budget per channel name (channels not named keep theirs).
        referral_factor: Multiplier of word-of-mouth referrals.
        referral_conversion_factor: Multiplier of the conversion rate of referred prospects.
        referral_reward: Paid for each referred prospect who makes a first purchase,
            currency per customer (charged to that customer as acquisition cost).

    Each referral term is one number for everyone, or an array with one value per
    person of the table, read for each referral by who made it (a referral programme
    that holds some referrers out gives them 1, 1 and 0).
    """

    price_factor: float = 1.0
    budget_factor: float = 1.0
    budget_shares: Mapping[str, float] = field(default_factory=dict)
    referral_factor: float | np.ndarray = 1.0
    referral_conversion_factor: float | np.ndarray = 1.0
    referral_reward: float | np.ndarray = 0.0

    def check_aligned(self, people: int, strategy: str) -> None:
        """Raise ValueError unless every per-person term has one value per row of the
        customer table (``view.size``)."""
        arrays = {
            "referral_factor": self.referral_factor,
            "referral_conversion_factor": self.referral_conversion_factor,
            "referral_reward": self.referral_reward,
        }
        check_lengths(
            {k: v for k, v in arrays.items() if np.ndim(v) > 0},
            people,
            f"strategy {strategy!r}: Plan",
            "row of the customer table (view.size)",
        )


@dataclass(frozen=True)
class Effects:
    """What one strategy does this month to each customer of a set of rows.

    Every array is aligned with the rows it was asked about; None means "no
    effect" (1 for a multiplier, 0 for a value or a cost).

    Attributes:
        churn: Multiplier of every switching hazard (own churn, price, product, service).
        spend: Multiplier of the share of wallet.
        value: Value the customer experiences on top of what the firm delivers, value units.
        cost_per_month: Cost of each customer who pays this month, currency.
        cost_share_of_revenue: Share of each paying customer's revenue spent on them
            (rewards, rebates).
        reasons: Multipliers of particular switching hazards, by reason
            (``price``, ``product``, ``service``).
    """

    churn: np.ndarray | None = None
    spend: np.ndarray | None = None
    value: np.ndarray | None = None
    cost_per_month: np.ndarray | None = None
    cost_share_of_revenue: np.ndarray | None = None
    reasons: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.reasons) - set(SWITCHING_REASONS))
        if unknown:
            raise ValueError(
                f"Effects.reasons: unknown reason(s) {', '.join(unknown)}; allowed: "
                + ", ".join(SWITCHING_REASONS)
            )

    def check_aligned(self, customers: int, strategy: str) -> None:
        """Raise ValueError unless every array has one value per customer asked about.

        (The month's rules read them in compiled loops, which do not check lengths.)
        """
        arrays = {
            "churn": self.churn,
            "spend": self.spend,
            "value": self.value,
            "cost_per_month": self.cost_per_month,
            "cost_share_of_revenue": self.cost_share_of_revenue,
            **{f"reasons[{r!r}]": factor for r, factor in self.reasons.items()},
        }
        check_lengths(arrays, customers, f"strategy {strategy!r}: Effects", "customer asked about")

    @property
    def has_cost(self) -> bool:
        """Whether the strategy spends anything on these customers."""
        return self.cost_per_month is not None or self.cost_share_of_revenue is not None

    def cost(self, revenue: np.ndarray) -> np.ndarray | None:
        """Cost of each customer given their revenue this month, currency (None = nothing)."""
        if self.cost_share_of_revenue is None:
            return self.cost_per_month
        variable = self.cost_share_of_revenue * revenue
        return variable if self.cost_per_month is None else self.cost_per_month + variable

    def subset(self, picked: np.ndarray) -> Effects:
        """The effects on a subset of the rows (``picked`` indexes into them)."""
        take = _taker(picked)
        return Effects(
            churn=take(self.churn),
            spend=take(self.spend),
            value=take(self.value),
            cost_per_month=take(self.cost_per_month),
            cost_share_of_revenue=take(self.cost_share_of_revenue),
            reasons={reason: factor[picked] for reason, factor in self.reasons.items()},
        )


@dataclass(frozen=True)
class Combined:
    """The effects of every running strategy on the month's customers, combined.

    Attributes:
        churn: Product of the strategies' churn multipliers (None = 1).
        spend: Product of their spend multipliers (None = 1).
        value: Sum of the value they add (None = 0).
        reasons: Per reason, the strategies' multipliers in order; each is applied in
            turn and the hazard capped at 1 after each.
        costs: Each spending firm strategy's effects by its name, for the books.
    """

    churn: np.ndarray | None = None
    spend: np.ndarray | None = None
    value: np.ndarray | None = None
    reasons: Mapping[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    costs: Mapping[str, Effects] = field(default_factory=dict)

    def subset(self, picked: np.ndarray) -> Combined:
        """The combined effects on a subset of the rows (``picked`` indexes into them)."""
        take = _taker(picked)
        return Combined(
            churn=take(self.churn),
            spend=take(self.spend),
            value=take(self.value),
            reasons={r: tuple(f[picked] for f in fs) for r, fs in self.reasons.items()},
            costs={name: effects.subset(picked) for name, effects in self.costs.items()},
        )

    def apply_to_hazards(self, hazards: dict[str, np.ndarray]) -> None:
        """Scale the switching hazards by reason in place, each factor in turn, capped at 1."""
        for reason, factors in self.reasons.items():
            for factor in factors:
                hazards[reason] = np.minimum(hazards[reason] * factor, 1.0)


NO_EFFECTS = Combined()


def combine(
    firm: Iterable[tuple[str, Effects | None]],
    competitor: Iterable[tuple[str, Effects | None]] = (),
) -> Combined:
    """Combine the effects of the running strategies on the same rows.

    Args:
        firm: (strategy name, effects) of the firm's strategies, in the order they run.
        competitor: The same for the competitor's strategies.

    Returns:
        The combined effects: multipliers multiplied (firm first, then competitor),
        values added, the firm's costs kept by strategy.
    """
    churn = spend = value = None
    reasons: dict[str, list[np.ndarray]] = {}
    costs: dict[str, Effects] = {}
    for player, (name, effects) in [
        *(("firm", e) for e in firm),
        *(("competitor", e) for e in competitor),
    ]:
        if effects is None:
            continue
        churn = _multiply(churn, effects.churn)
        spend = _multiply(spend, effects.spend)
        value = _add(value, effects.value)
        for reason, factor in effects.reasons.items():
            reasons.setdefault(reason, []).append(factor)
        if effects.has_cost and player == "firm":
            costs[name] = effects
    return Combined(
        churn=churn,
        spend=spend,
        value=value,
        reasons={r: tuple(reasons[r]) for r in DEFECTION_REASONS if r in reasons},
        costs=costs,
    )


def combine_factors(factors: Iterable[np.ndarray | None]) -> np.ndarray | None:
    """Product of optional multipliers (None = 1), e.g. of the chance of coming back."""
    result = None
    for factor in factors:
        if factor is not None:
            result = factor if result is None else result * factor
    return result


def _multiply(total: np.ndarray | None, part: np.ndarray | None) -> np.ndarray | None:
    if part is None:
        return total
    return part.astype(np.float32) if total is None else total * part


def _add(total: np.ndarray | None, part: np.ndarray | None) -> np.ndarray | None:
    if part is None:
        return total
    return part.astype(np.float32) if total is None else total + part


def _taker(picked: np.ndarray):
    def take(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[picked]

    return take


def check_lengths(arrays: Mapping[str, Any], size: int, owner: str, each: str) -> None:
    """Raise one ValueError naming every array of ``arrays`` (None: left out) that is not
    ``size`` long: what a strategy hands the month's compiled loops, which do not check.

    Args:
        arrays: The arrays by name.
        size: The length each must have.
        owner: Who gave them, for the message (e.g. "strategy 'win_back': Effects").
        each: What each value stands for, for the message (e.g. "customer asked about").
    """
    wrong = [
        f"{name} has {np.size(values)}"
        for name, values in arrays.items()
        if values is not None and np.shape(values) != (size,)
    ]
    if wrong:
        raise ValueError(
            f"{owner}: {', '.join(wrong)} values; each array must have one value per {each} "
            f"({size})"
        )

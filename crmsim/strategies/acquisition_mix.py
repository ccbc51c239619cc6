"""Acquisition mix: targeted look-alike acquisition against mass marketing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from crmsim.config.fields import Field, ScenarioError
from crmsim.measures import Measure
from crmsim.strategies.base import TIMING, Strategy, measure, register
from crmsim.strategies.effects import Plan

if TYPE_CHECKING:
    from crmsim.strategies.view import MarketView


@register
class AcquisitionMix(Strategy):
    """Split the acquisition budget between look-alike and mass channels.

    Course concept: target quality prospects. Look-alike targeting studies the
    profile of the firm's best customers and contacts people who resemble them;
    mass marketing contacts everyone alike. The scenario's channels say which
    is which: a channel with ``lookalike_strength`` > 0 is a look-alike channel,
    one with 0 a mass channel. From ``start_month`` the firm puts
    ``lookalike_share`` of its channel budget on the look-alike channels (split
    among them in proportion to their budget shares in the scenario, equally if
    those are all 0) and the rest on the mass channels (likewise), keeping the
    share of the budget spent on channels as the scenario has it; the whole
    budget is multiplied by ``budget_factor``.

    What it changes and what it costs: only the channels' spend, which the
    model charges to the customers each channel brings that month (or books
    as unattributed when it brings nobody). The trade-off to look for: a
    look-alike contact costs more and the people most like the best customers
    are used up first, so the cost per acquisition rises as the look-alike share
    grows, but those it brings spend more and are worth more (compare realised
    CLV by ``source`` in ``model.customer_frame()``).

    Measures: ``acquisition_mix_lookalike_spend`` and ``acquisition_mix_mass_spend``
    (currency this month), ``acquisition_mix_lookalike_acquired`` and
    ``acquisition_mix_mass_acquired`` (first purchases this month from prospects
    each kind of channel found).

    Raises:
        ScenarioError: At the first month it runs, when the scenario has no
            look-alike channel (and lookalike_share > 0) or no mass channel
            (and lookalike_share < 1).
    """

    name: ClassVar[str] = "acquisition_mix"
    concept: ClassVar[str] = "Acquisition: look-alike targeting versus mass marketing"
    parameters: ClassVar[dict[str, Field]] = {
        **TIMING,
        "lookalike_share": Field(
            "share",
            0.8,
            "share of channel budget",
            "Share of the channel budget spent on look-alike channels; the rest goes to mass "
            "channels.",
        ),
        "budget_factor": Field(
            "nonnegative", 1.0, "x", "Multiplier of the monthly acquisition budget."
        ),
    }
    measures: ClassVar[tuple[Measure, ...]] = (
        measure(
            "acquisition_mix_lookalike_spend", "Look-alike channel spend", "currency per month"
        ),
        measure("acquisition_mix_mass_spend", "Mass channel spend", "currency per month"),
        measure(
            "acquisition_mix_lookalike_acquired",
            "New customers from look-alike channels",
            "customers",
        ),
        measure("acquisition_mix_mass_acquired", "New customers from mass channels", "customers"),
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._shares: dict[str, float] | None = None

    def plan(self, view: MarketView) -> Plan:
        """This month's budget and its split between look-alike and mass channels (the split
        is worked out, and checked against the scenario's channels, when it first runs)."""
        if self._shares is None:
            self._shares = self._shares_for(view)
        return Plan(budget_factor=self.params["budget_factor"], budget_shares=self._shares)

    def _shares_for(self, view: MarketView) -> dict[str, float]:
        share = self.params["lookalike_share"]
        channels = view.channels
        lookalike = [c for c in channels if c.lookalike_strength > 0]
        mass = [c for c in channels if c.lookalike_strength == 0]
        path = f"strategies.{self.name}.lookalike_share"
        if share > 0 and not lookalike:
            raise ScenarioError(
                f"{view.scenario_source}: {path}: is {share:g} but acquisition.channels has no "
                "look-alike channel (lookalike_strength > 0)"
            )
        if share < 1 and not mass:
            raise ScenarioError(
                f"{view.scenario_source}: {path}: is {share:g} but acquisition.channels has no "
                "mass channel (lookalike_strength 0)"
            )
        total = sum(c.budget_share for c in channels)
        shares = {c.name: 0.0 for c in channels}
        for group, group_share in ((lookalike, share), (mass, 1.0 - share)):
            weights = np.array([c.budget_share for c in group], np.float64)
            if weights.size == 0:
                continue
            weights = (
                weights / weights.sum()
                if weights.sum() > 0
                else np.full(weights.size, 1.0 / weights.size)
            )
            for channel, weight in zip(group, weights, strict=True):
                shares[channel.name] = float(total * group_share * weight)
        return shares

    def report(self, view: MarketView) -> dict[str, float]:
        kinds = np.array([c.lookalike_strength > 0 for c in view.channels], bool)
        budget = view.acquisition_budget
        spend = np.array([budget * c.budget_share for c in view.channels_this_month])
        # This month's first purchases by the kind of channel that found them.
        source = view.customers.source[view.new_customers]
        paid = source < len(view.channels)
        lookalike = kinds[source[paid]]
        return {
            "acquisition_mix_lookalike_spend": float(spend[kinds].sum()),
            "acquisition_mix_mass_spend": float(spend[~kinds].sum()),
            "acquisition_mix_lookalike_acquired": float(lookalike.sum()),
            "acquisition_mix_mass_acquired": float((~lookalike).sum()),
        }

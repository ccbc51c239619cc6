"""The acquisition funnel of a month: new people, suspects, prospects, first purchases.

New people enter a renewing market as suspects; prospects make a first purchase
or lose interest; the firm's paid channels (mass and look-alike) contact
suspects, charging each channel's spend to the customers it brought; advocates
and raving fans bring prospects by word of mouth. The rules are in
``crmsim.rules.acquisition``; this module runs them in the month's order and
keeps the funnel's running totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from crmsim.config.scenario import market_capacity
from crmsim.rules import acquisition
from crmsim.vocabulary import ACTIVE, INITIAL_BASE, REFERRAL

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel

FUNNEL_TOTALS = ("contacts", "new_prospects", "prospects_at_start", "conversions", "spend")
"""Running totals kept per source (each paid channel, then referral)."""


class Funnel:
    """The firm's acquisition channels and what they have done so far.

    Args:
        model: The model whose market the funnel works on.

    Attributes:
        channels: The scenario's paid channels (codes 0..k-1).
        source_names: Names of the sources of a customer, by code: the channels,
            then referral, then the initial base.
        referral_code: Source code of referred customers.
        initial_base_code: Source code of the customers of month 0.
        totals: Running totals by source (``FUNNEL_TOTALS``).
    """

    def __init__(self, model: CRMModel) -> None:
        self._model = model
        p = model.scenario.params
        self.channels = [
            acquisition.Channel(code=code, name=name, **spec)
            for code, (name, spec) in enumerate(model.scenario.channels().items())
        ]
        self.source_names = [*(c.name for c in self.channels), REFERRAL, INITIAL_BASE]
        self.referral_code = len(self.channels)
        self.initial_base_code = len(self.channels) + 1
        self._conversion_rates = acquisition.conversion_rates(
            self.channels, p.acquisition.referral_conversion_rate
        )
        self._lapse_per_month = p.acquisition.prospect_lapse_per_month
        self._entry_rate = p.market.entry_rate_per_month
        self._price_elasticity = p.acquisition.conversion_price_elasticity
        self._channel_weights: list[np.ndarray | None] = []
        self.totals = {key: np.zeros(len(self.channels) + 1) for key in FUNNEL_TOTALS}
        self.closed = False
        """Whether the market takes no new people and the firm no new customers (a
        run-off, ``crmsim.engine.run_off``)."""

    def revise_budget_shares(self, channels: Mapping[str, Mapping[str, Any]]) -> None:
        """Each channel's share of the acquisition budget from now on (``CRMModel.revise``):
        ``channels`` are the scenario's channels by name, with their settings."""
        self.channels = [
            replace(c, budget_share=float(channels[c.name]["budget_share"])) for c in self.channels
        ]

    def weigh_the_market(self) -> None:
        """Each look-alike channel's weight of each person (once the traits are drawn)."""
        resemblance = self._model.customers.resemblance
        self._channel_weights = [
            resemblance ** np.float32(c.lookalike_strength) if c.lookalike_strength > 0 else None
            for c in self.channels
        ]

    def release(self) -> None:
        """Let go of the per-person weights."""
        self._channel_weights = []

    def deter_prospects(self, rng: np.random.Generator, people: int, per_person: float) -> int:
        """What ``people`` say puts prospects off (``per_person`` each on average)."""
        deterred = acquisition.deter_prospects(self._model.customers, rng, people, per_person)
        self._model.record.add("deterred_prospects", deterred)
        return deterred

    def close(self) -> None:
        """From now on nobody enters the market and nobody makes a first purchase: the
        funnel spends nothing and the month's customers are those already active."""
        self.closed = True

    def renew(self) -> None:
        """New people enter the market at the start of the month, as suspects.

        ``market.entry_rate_per_month`` x ``simulation.customers`` enter each month,
        the total rounded once (so by the start of month m, after its entrants, the
        market holds ``market_capacity(customers, rate, m + 1)`` people): the same
        people every month in every scenario of a comparison, with no draw.
        """
        model = self._model
        table = model.customers
        if self.closed or table.people == table.size:
            return
        people = market_capacity(table.initial_people, self._entry_rate, model.month + 1)
        model.record.stats["entered"] = table.enter(people).size

    def month(self, joining: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the month's funnel on everyone's "joining" draw.

        Returns:
            The rows of this month's first purchases, and of the month's customers
            (everyone active after acquisition).
        """
        model = self._model
        table = model.customers
        if self.closed:
            return np.zeros(0, np.int64), (table.stage == ACTIVE).nonzero()[0]
        firm = model.firm
        plan = firm.plan
        # Prospects and suspects are different people, so one draw per person serves both
        # steps (a prospect who lapses this month is not contacted again this month).
        rates = self._conversion_rates
        referral = self.referral_code
        # A plan's referral terms are one number, or one per person as a referrer.
        by_referrer = _per_person(plan.referral_conversion_factor)
        if not by_referrer and plan.referral_conversion_factor != 1.0:
            rates = rates.copy()
            rates[referral] = min(1.0, rates[referral] * plan.referral_conversion_factor)
        conversions = acquisition.convert_prospects(
            table,
            joining,
            rates,
            self._lapse_per_month,
            firm.price_index,
            self._price_elasticity,
            plan.referral_conversion_factor if by_referrer else None,
        )
        converted = conversions.converted
        budget = firm.acquisition_budget_per_month
        reached = acquisition.contact_suspects(
            table, joining, firm.channels, budget, self._channel_weights, conversions.suspects
        )
        contacts, new_prospects = reached.contacts, reached.new_prospects
        sources = table.prospect_source[converted]
        model.relationships.welcome(converted, source=sources)
        # A customer keeps a referrer only when the first purchase came from the referral.
        table.referred_by[converted[sources != referral]] = -1
        books = model.books
        for channel, spend, brought in acquisition.channel_spend(
            firm.channels, budget, contacts, converted, sources
        ):
            self.totals["spend"][channel.code] += spend
            if brought.size:
                books.charge(brought, spend / brought.size, "acquisition")
            elif spend > 0:
                books.charge_unattributed(spend, "acquisition")
        reward = plan.referral_reward
        if _per_person(reward):
            brought = converted[sources == referral]
            referrer = table.referred_by[brought]
            paid = np.where(referrer >= 0, reward[np.maximum(referrer, 0)], 0.0)
            books.charge(brought, paid, "acquisition")
        elif reward:
            books.charge(converted[sources == referral], reward, "acquisition")
        # Referrals turn suspects into prospects: the month's customers are known now.
        customers = conversions.customers
        factor = plan.referral_factor
        per_person = _per_person(factor)
        referrals_by_rung = model.ladder.referrals_per_month
        if not per_person and factor != 1.0:
            referrals_by_rung = referrals_by_rung * np.float32(factor)
        referred = acquisition.word_of_mouth_referrals(
            table,
            model.streams["word_of_mouth"],
            customers,
            referrals_by_rung,
            referral,
            referrer_rng=model.streams["referrers"],
            referral_factor=factor if per_person else None,
            suspects=reached.suspects,
        )
        new_prospects = np.concatenate((new_prospects, [referred]))
        contacts = np.concatenate((contacts, [referred]))
        by_source = np.bincount(sources, minlength=len(self.channels) + 1)
        for key, value in (
            ("contacts", contacts),
            ("new_prospects", new_prospects),
            ("prospects_at_start", conversions.prospects_at_start),
            ("conversions", by_source),
        ):
            self.totals[key] += value
        stats = model.record.stats
        stats["acquired"] = converted.size
        stats["new_prospects"] = float(new_prospects.sum())
        stats["referrals"] = referred
        stats["lapsed_prospects"] = conversions.lapsed
        return converted, customers


def _per_person(term: Any) -> bool:
    """Whether a plan's term is one per person (an array) rather than one number."""
    return isinstance(term, np.ndarray) and term.ndim > 0

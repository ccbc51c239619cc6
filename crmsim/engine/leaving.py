"""Defection in a month: why each customer might leave, who does, and what they say.

The hazards of leaving (own churn, price, product, service, and the market's
own pressures) come from the rules of ``crmsim.rules.defection``; this module
gathers what they need from the market (the competitor's offer, the ladder,
the strategies' effects) and runs them in the month's order, the way
``crmsim.engine.funnel`` runs acquisition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from crmsim.engine.record import DEFECTION_COUNTS
from crmsim.rules import defection
from crmsim.vocabulary import DEFECTION_REASONS, PRICE, REASONS, SERVICE_OR_PRODUCT

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel
    from crmsim.strategies.effects import Combined


class Leaving:
    """The market's pressures on the firm's customers and the month's defections.

    Args:
        model: The model whose customers may leave.

    Attributes:
        background_mix: Shares of the reasons behind a customer's own churn (sums to 1).
    """

    def __init__(self, model: CRMModel) -> None:
        self._model = model
        mix = model.scenario.params.customers.background_reason_mix
        self.background_mix = _normalised([getattr(mix, r) for r in DEFECTION_REASONS])

    def pressures(self, rows: np.ndarray) -> defection.Pressures:
        """This month's market pressures on customers ``rows``."""
        model = self._model
        params = model.scenario.params
        market = params.market
        technological = market.obsolescence_rate_per_month
        shock = market.technology_shock_month
        if shock is not None and model.month >= shock:
            technological = 1.0 - (1.0 - technological) * (
                1.0 - market.technology_shock_rate_per_month
            )
        competitor = model.competitor
        return defection.Pressures(
            poaching_chance=competitor.poaching_chance
            * model.firm.price_index
            * competitor.attention(rows),
            product_rate=competitor.product_advantage_rate_per_month,
            service_sensitivity=params.firm.service_defection_sensitivity,
            market_rate=market.exit_rate_per_month,
            technological_rate=technological,
            organisational_rate=params.firm.organisational_failure_rate_per_month,
            churn_scale=params.firm.churn_scale,
        )

    def hazards(self, rows: np.ndarray, effects: Combined) -> defection.Hazards:
        """This month's hazards of leaving of customers ``rows``, by reason and in all,
        with the strategies' ``effects``."""
        model = self._model
        table = model.customers
        pressures = self.pressures(rows)
        if not effects.reasons:  # (no strategy's factor by reason comes between them)
            return defection.hazards_on_rungs(
                table,
                rows,
                model.ladder,
                pressures,
                churn_factor=effects.churn,
                contractual=not model.non_contractual,
            )
        own, price, product, service = defection.switching_hazards(
            table,
            rows,
            model.effective_price_sensitivity(rows),
            model.ladder.churn_multiplier,
            pressures,
            churn_factor=effects.churn,
            contractual=not model.non_contractual,
        )
        hazards = {"price": price, "product": product, "service": service}
        effects.apply_to_hazards(hazards)
        price, product, service = hazards["price"], hazards["product"], hazards["service"]
        leave = defection.leave_probability(own, price, product, service, pressures)
        return defection.Hazards(own, price, product, service, leave, pressures)

    def month(
        self,
        rows: np.ndarray,
        draws: np.ndarray,
        dropped: np.ndarray | None,
        effects: Combined,
    ) -> None:
        """The month's customers ``rows`` leave or stay; unhappy leavers deter prospects.

        Args:
            rows: The month's customers.
            draws: This month's "leaving" draw of every person in the market.
            dropped: Non-contractual: who silently dropped out after buying (else None).
            effects: The strategies' effects on ``rows``.
        """
        model = self._model
        table = model.customers
        hazards = self.hazards(rows, effects)
        leavers, reasons = defection.leave_or_stay(
            draws, rows, hazards, self.background_mix, dropped
        )
        if dropped is not None:
            # A silent dropout (BG/NBD) leaves for one of the background reasons.
            silent = dropped[leavers]
            reasons[silent] = defection.draw_background_reasons(
                model.streams["purchasing"], int(silent.sum()), self.background_mix
            )
        table.churn_hazard[rows] = hazards.leave
        leaving = rows[leavers]
        model.knowledge.relationships_ended(leaving, churned=True)
        defection.record_defections(table, leaving, reasons, model.month)
        counts = np.bincount(reasons, minlength=len(REASONS)).tolist()
        stats = model.record.stats
        # Firing, the last reason, is counted when the firm ends relationships.
        for code in range(len(DEFECTION_REASONS)):
            stats[DEFECTION_COUNTS[code]] = counts[code]
        model.competitor.poached_total += counts[PRICE]
        if model.funnel.closed:
            # A run-off's prospects never buy: putting them off would change nothing.
            return
        unhappy = sum(counts[code] for code in SERVICE_OR_PRODUCT)
        model.funnel.deter_prospects(
            model.streams["word_of_mouth"],
            unhappy,
            model.scenario.params.acquisition.deterrence_per_defector,
        )


def _normalised(weights: list[float]) -> np.ndarray:
    array = np.asarray(weights, np.float64)
    total = array.sum()
    if total <= 0:
        return np.full(array.size, 1.0 / array.size)
    return array / total

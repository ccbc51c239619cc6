"""The crmsim lifecycle rules written the usual Mesa way: one agent per customer.

:class:`PerAgentCRMModel` is the yardstick of the vectorised
:class:`~crmsim.engine.model.CRMModel`. It reads the same
:class:`~crmsim.config.scenario.Scenario` and applies the same rules with the same
parameters, but every person in the market is a :class:`Customer` agent who
holds their own traits and state as Python attributes, and each month
``self.agents.shuffle_do("step")`` lets the customers live their month one
after the other, drawing from ``model.random``.

A customer's ``step`` follows the order of ``CRMModel.step``:

1. a prospect makes a first purchase or lapses to suspect (one draw);
2. a suspect may be contacted by the paid channels and become a prospect
   (each channel spends budget x share / cost per contact contacts over the
   suspects, a look-alike channel in proportion to resemblance ** strength),
   or be referred by word of mouth;
3. an active customer sees the value delivered and updates satisfaction and
   expectation, moves on the loyalty ladder, pays the monthly bill
   (contractual) or buys at their own Poisson rate until they silently drop
   out (non-contractual), and survives or not the competing defection
   hazards, drawing a reason when leaving;
4. a defector may come back, less likely the longer they have been gone,
   and starts again at the bottom of the ladder;
5. the customer's own accounts (revenue, margin, cost to serve, cost of a
   return) are booked as they happen.

Market-wide quantities that depend on all customers come from the model.
Before the agents step, it turns the suspect pool (its size and summed
look-alike weights, tallied by the customers at the end of last month) into
each channel's contact chance, and the advocates' referral rates into a
chance per suspect; after they step, it shares each channel's spend among
the customers the channel brought (acquisition cost) and lets unhappy
defectors put prospects off. These are the only places where the two
implementations differ beyond their random draws: the vectorised model
spreads the contacts over the suspects left after this month's prospect
lapses, where this one uses the expected size of that pool, and it draws the
exact number of referrals (Poisson, without replacement), where this one
gives each suspect the same expected chance. This model also records fewer
monthly measures (no customer equity, no followed histories), which only
flatters its speed.

Firm strategies (a scenario's ``strategies:``) are not implemented here.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np

from crmsim import economics
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.vocabulary import (
    ACTIVE,
    DEFECTED,
    DEFECTION_REASONS,
    MARKET,
    ORGANISATIONAL,
    PRICE,
    PRODUCT,
    PROSPECT,
    REASONS,
    SERVICE,
    SUSPECT,
    TECHNOLOGICAL,
)

MAX_PURCHASES_LEFT = 2**31 - 1
"""Cap of the purchases before dropout (the vectorised table stores int32)."""

REPORTED: tuple[str, ...] = (
    "month",
    "active_at_start",
    "acquired",
    "new_prospects",
    "deterred_prospects",
    "promoted",
    "demoted",
    *(f"defections_{reason}" for reason in DEFECTION_REASONS),
    "defected_this_month",
    "returned",
    "paying_customers",
    "revenue",
    "cost_of_sales",
    "acquisition_cost",
    "service_cost",
    "return_cost",
    "profit",
    "suspect",
    "prospect",
    "active",
    "defected",
)
"""Monthly measures collected by the per-agent model (same names as ``CRMModel``'s)."""


COLD_START = {"market.warm_start_months": 0, "market.entry_rate_per_month": 0.0}
"""The change that makes a scenario start cold in a closed market, as the per-agent model
does (both models then run the same rules from the same brand-new base, and nobody enters
the market later)."""


class Customer(mesa.Agent):
    """One person in the market, with their own traits and state.

    Traits are drawn once, from the scenario's distributions, with the model's
    ``random``; the state changes as the customer lives month by month.

    Attributes:
        order_value: Spend per purchase (contractual: the monthly bill) at the basic
            share of wallet, currency.
        churn_probability: Own monthly churn probability (contractual).
        purchase_rate: Own purchases per month while alive (non-contractual).
        dropout_probability: Own chance of dropping out after a purchase (non-contractual).
        base_share_of_wallet: Share of the customer's category spend won at first.
        price_sensitivity: 0..1, how readily the customer follows a cheaper offer.
        taste: Personal offset to the value the customer sees, value units.
        resemblance: How much the person resembles the firm's best customers (mean 1).
        channel_weights: Weight of the person for each paid channel's contacts.
        stage: Stage code (suspect, prospect, active, defected).
        tier: Rung of the loyalty ladder (0 = shopper .. 4 = raving fan).
        tenure_months: Months as an active customer in the current relationship.
        months_since_defection: Months since the customer last left.
        defection_reason: Code of the last defection reason (-1 = never left).
        source: How the customer was first acquired (channel, referral or initial base).
        prospect_source: Channel (or referral) that made the person a prospect.
        acquired_month: Month of first purchase (-1 = never bought).
        first_defected_month: Month the first relationship ended (-1 = not yet).
        times_returned: How often the customer came back.
        purchases_left: Purchases before the (unobserved) dropout (non-contractual).
        expectation: What the customer expects, value units.
        satisfaction: Delivered value minus expectation, value units.
        churn_hazard: This month's total chance of leaving.
        purchases: Purchases this month.
        revenue: Revenue this month, currency.
        months_since_purchase: Recency, months.
        new: Made their first purchase this month (a trial purchase, non-contractual).
        value_at_start: Profit brought, discounted to month 0, currency.
        revenue_total, acquisition_cost, service_cost, return_cost: Undiscounted
            totals, currency.
    """

    def __init__(self, model: PerAgentCRMModel) -> None:
        super().__init__(model)
        c = model.params.customers
        rnd = model.random
        sigma = c.order_value_spread
        if c.order_value_mean > 0:
            mu = math.log(c.order_value_mean) - 0.5 * sigma**2
            self.order_value = rnd.lognormvariate(mu, sigma)
        else:
            self.order_value = 0.0
        self.churn_probability = _beta(
            rnd, c.churn_probability_mean, c.churn_probability_polarization
        )
        self.purchase_rate = rnd.gammavariate(c.purchase_rate_r, 1.0 / c.purchase_rate_alpha)
        self.dropout_probability = rnd.betavariate(c.dropout_a, c.dropout_b)
        self.base_share_of_wallet = _beta(
            rnd, c.share_of_wallet_mean, c.share_of_wallet_polarization
        )
        self.price_sensitivity = _beta(
            rnd, c.price_sensitivity_mean, c.price_sensitivity_polarization
        )
        self.taste = rnd.uniform(-c.taste_spread, c.taste_spread)
        self.resemblance = 1.0
        self.channel_weights: tuple[float, ...] = ()

        self.stage = SUSPECT
        self.tier = 0
        self.tenure_months = 0
        self.months_since_defection = 0
        self.defection_reason = -1
        self.source = 0
        self.prospect_source = 0
        self.acquired_month = -1
        self.first_defected_month = -1
        self.times_returned = 0
        self.purchases_left = 0
        self.expectation = 0.0
        self.satisfaction = 0.0
        self.churn_hazard = 0.0
        self.purchases = 0
        self.revenue = 0.0
        self.months_since_purchase = 0
        self.new = False

        self.value_at_start = 0.0
        self.revenue_total = 0.0
        self.acquisition_cost = 0.0
        self.service_cost = 0.0
        self.return_cost = 0.0

    # ------------------------------------------------------------- a month
    def step(self) -> None:
        """Live one month: buy or lapse, be contacted, be a customer, leave, come back."""
        lapsed_now = False
        if self.stage == PROSPECT:
            self._consider_first_purchase()
            lapsed_now = self.stage == SUSPECT
        # A prospect who loses interest is not contacted again in the same month.
        if self.stage == SUSPECT and not lapsed_now:
            self._be_contacted()
        was_active = self.stage == ACTIVE
        if was_active:
            self._live_as_customer()
        if self.stage == DEFECTED:
            self._consider_returning()
        self._age(was_active)
        self.tally()

    def _consider_first_purchase(self) -> None:
        """A prospect buys (their channel's conversion rate), lapses, or keeps thinking."""
        m = self.model
        u = m.random.random()
        if u < m.conversion_rates[self.prospect_source]:
            self.welcome(self.prospect_source, m.expectation_before_drift)
            m.first_buyers[self.prospect_source].append(self)
            m.month_stats["acquired"] += 1
        elif u >= 1.0 - m.prospect_lapse:
            # The same draw decides lapsing, from the other end of [0, 1).
            self.stage = SUSPECT

    def _be_contacted(self) -> None:
        """Paid channels may reach this suspect; otherwise an advocate may refer them."""
        m = self.model
        u = m.random.random()
        upper = 0.0
        for code, contacts_per_weight, prospect_rate in m.contact_offers:
            chance = self.channel_weights[code] * contacts_per_weight
            upper += (chance if chance < 1.0 else 1.0) * prospect_rate
            if u < upper:
                self.stage = PROSPECT
                self.prospect_source = code
                m.month_stats["new_prospects"] += 1
                return
        if m.referral_chance > 0.0 and m.random.random() < m.referral_chance:
            self.stage = PROSPECT
            self.prospect_source = m.referral_code
            m.month_stats["new_prospects"] += 1

    def _live_as_customer(self) -> None:
        """Satisfaction, the ladder, paying, and the defection hazards of one month."""
        m = self.model
        rnd = m.random
        stats = m.month_stats
        stats["active_at_start"] += 1

        tier = self.tier
        sensitivity = self.price_sensitivity * m.price_multiplier[tier]
        value = self.taste + m.firm_value - m.price_penalty * sensitivity + m.value_bonus[tier]
        satisfaction = value - self.expectation
        self.satisfaction = satisfaction
        # Expectations catch up with the market's (as it stood before this month's rise).
        self.expectation += m.adaptation * (m.expectation_before_drift - self.expectation)

        rate = self.purchase_rate if m.non_contractual else 1.0
        spend = self.order_value * rate * self._spend_factor(tier)
        u = rnd.random()
        if tier < m.top_tier:
            rung = tier + 1
            if (
                u < m.promotion_probability
                and self.tenure_months >= m.tenure_needed[rung]
                and satisfaction >= m.satisfaction_needed[rung]
                and spend >= m.spend_needed[rung]
            ):
                tier = rung
                stats["promoted"] += 1
        if self.tier > 0 and satisfaction < m.demotion_satisfaction and u < m.demotion_probability:
            tier -= 1
            stats["demoted"] += 1
        self.tier = tier

        revenue, dropped, paid = 0.0, False, False
        if m.pays_at_start:
            revenue, dropped = self._purchase(tier)
            paid = True
        leaving = self._face_hazards(tier, satisfaction, dropped)
        if not m.pays_at_start and not leaving:
            revenue, _ = self._purchase(tier)
            paid = True
        if paid:
            self._book_payment(revenue)

    def _spend_factor(self, tier: int) -> float:
        """Multiplier of the basic share of wallet on this rung, capped at the whole wallet."""
        cap = 1.0 / max(self.base_share_of_wallet, 1e-6)
        factor = self.model.spend_multiplier[tier]
        return factor if factor < cap else cap

    def _purchase(self, tier: int) -> tuple[float, bool]:
        """This month's revenue and, non-contractual, whether the customer dropped out."""
        m = self.model
        factor = self._spend_factor(tier)
        if not m.non_contractual:
            revenue = self.order_value * factor * m.price_index
            self.purchases = 1
            self.revenue = revenue
            return revenue, False
        wanted = _poisson(m, self.purchase_rate)
        bought = min(wanted, self.purchases_left)
        self.purchases_left -= bought
        self.purchases = bought
        self.months_since_purchase = 0 if bought > 0 else self.months_since_purchase + 1
        revenue = bought * self.order_value * factor * m.price_index
        dropped = self.purchases_left == 0
        if self.new:
            # Newcomers make their first (trial) purchase this month; repeat buying starts next.
            self.purchases_left += bought
            self.purchases = 1
            self.months_since_purchase = 0
            revenue = self.order_value * factor * m.price_index
            dropped = False
        self.revenue = revenue
        return revenue, dropped

    def _face_hazards(self, tier: int, satisfaction: float, dropped: bool) -> bool:
        """Survive every defection hazard, or leave with a reason; True when leaving."""
        m = self.model
        rnd = m.random
        loyalty = m.churn_multiplier[tier]
        sensitivity = self.price_sensitivity * m.price_multiplier[tier]
        own = 0.0 if m.non_contractual else min(self.churn_probability * loyalty, 1.0)
        price = min(m.poaching_chance * sensitivity * loyalty, 1.0)
        product = min(m.product_rate * loyalty, 1.0)
        service = min(m.service_sensitivity * max(-satisfaction, 0.0) * loyalty, 1.0)
        stay = (1.0 - own) * (1.0 - price) * (1.0 - product) * (1.0 - service)
        leave = 1.0 - stay * m.stay_market
        if m.churn_scale != 1.0:
            leave = min(leave * m.churn_scale, 1.0)
        self.churn_hazard = leave
        leaving = rnd.random() < leave
        if not (leaving or dropped):
            return False
        if dropped:
            # A silent dropout (BG/NBD) leaves for one of the background reasons.
            reason = _categorical(rnd, m.background_mix, 1.0)
        else:
            weights = [own * share for share in m.background_mix]
            weights[PRICE] += price
            weights[PRODUCT] += product
            weights[SERVICE] += service
            weights[MARKET] += m.market_rate
            weights[TECHNOLOGICAL] += m.technological_rate
            weights[ORGANISATIONAL] += m.organisational_rate
            reason = _categorical(rnd, weights, sum(weights))
        self.stage = DEFECTED
        self.defection_reason = reason
        self.months_since_defection = 0
        if self.first_defected_month < 0:
            self.first_defected_month = m.month
        m.month_stats[m.defection_keys[reason]] += 1
        if reason in (SERVICE, PRODUCT):
            m.unhappy_defectors += 1
        if reason == PRICE:
            m.poached_total += 1
        return True

    def _book_payment(self, revenue: float) -> None:
        """Book this month's revenue, gross margin and cost to serve on the customer."""
        m = self.model
        stats = m.month_stats
        discount = m.discount_factor
        gross = revenue * m.gross_margin
        self.revenue_total += revenue
        self.value_at_start += gross * discount
        stats["revenue"] += revenue
        stats["cost_of_sales"] += revenue - gross
        stats["paying_customers"] += 1
        cost = m.cost_to_serve
        if cost:
            self.service_cost += cost
            self.value_at_start -= cost * discount
            stats["service_cost"] += cost

    def _consider_returning(self) -> None:
        """Come back with a chance that fades with the months gone and depends on the reason."""
        m = self.model
        months = min(self.months_since_defection, len(m.return_chance) - 1)
        chance = m.return_chance[months] * m.recoverability[self.defection_reason]
        if m.random.random() < chance:
            self.stage = ACTIVE
            self.months_since_defection = 0
            self.times_returned += 1
            self.start_relationship(m.market_expectation)
            self.charge(m.cost_per_return, "return")
            m.month_stats["returned"] += 1

    def _age(self, was_active: bool) -> None:
        """Customers who were active this month and still are gain a month of tenure."""
        if self.stage == ACTIVE:
            if was_active:
                self.tenure_months += 1
        elif self.stage == DEFECTED:
            self.months_since_defection += 1
        self.new = False

    def tally(self) -> None:
        """Add the end-of-month state to the model's tallies for next month."""
        m = self.model
        stage = self.stage
        if stage == SUSPECT:
            m.pool_suspects += 1
            weights = m.pool_weights
            for code, weight in enumerate(self.channel_weights):
                weights[code] += weight
        elif stage == PROSPECT:
            m.prospects.append(self)
            # Contacts are spread over the suspects after next month's lapses: count the
            # prospects who will lapse at their expected share.
            lapse = m.lapse_chance[self.prospect_source]
            m.pool_suspects += lapse
            for code, weight in enumerate(self.channel_weights):
                m.pool_weights[code] += lapse * weight
            # Next month's first buyers stand on the bottom rung when referrals are counted.
            m.pool_referral_rate += (
                m.conversion_rates[self.prospect_source] * m.referrals_per_month[0]
            )
        elif stage == ACTIVE:
            m.pool_referral_rate += m.referrals_per_month[self.tier]
        m.month_stats[m.stage_keys[stage]] += 1

    # ---------------------------------------------------- called by the model
    def welcome(self, source: int, expectation: float) -> None:
        """A first purchase this month: the customer starts on the bottom rung."""
        self.stage = ACTIVE
        self.acquired_month = self.model.month
        self.source = source
        self.start_relationship(expectation)
        self.new = True

    def start_relationship(self, expectation: float) -> None:
        """A relationship (first or renewed) starts at the bottom of the ladder."""
        self.tier = 0
        self.tenure_months = 0
        self.expectation = expectation
        self.months_since_purchase = 0
        if self.model.non_contractual:
            self.purchases_left = _geometric(self.model.random, self.dropout_probability)

    def charge(self, amount: float, kind: str) -> None:
        """Spend ``amount`` (currency) of cost ``kind`` on this customer this month."""
        if not amount:
            return
        m = self.model
        setattr(self, f"{kind}_cost", getattr(self, f"{kind}_cost") + amount)
        self.value_at_start -= amount * m.discount_factor
        m.month_stats[f"{kind}_cost"] += amount

    def lose_interest(self) -> None:
        """A prospect put off by negative word of mouth lapses to suspect (after the month)."""
        m = self.model
        self.stage = SUSPECT
        m.pool_referral_rate -= m.conversion_rates[self.prospect_source] * m.referrals_per_month[0]
        stays = 1.0 - m.lapse_chance[self.prospect_source]
        m.pool_suspects += stays
        for code, weight in enumerate(self.channel_weights):
            m.pool_weights[code] += stays * weight
        m.month_stats["prospect"] -= 1
        m.month_stats["suspect"] += 1


class PerAgentCRMModel(mesa.Model):
    """The crmsim market with one Mesa agent per person.

    Args:
        scenario: A :class:`~crmsim.config.scenario.Scenario`, or a path / shipped name to load.
        rng: Seed of the run (an int >= 0); None draws a fresh one (kept in ``seed``).
        customers: Override of the market size (people).

    Attributes:
        crm_scenario: The crmsim scenario being run (``scenario`` is Mesa's own).
        params: The scenario's settings, e.g. ``params.firm.gross_margin``.
        seed: The seed.
        month: The month about to be simulated.
        profit_pv: All profit so far, discounted to month 0, currency.
        unattributed_pv: Channel spend that brought nobody, discounted, currency (negative).
        month_stats: This month's measures (see ``REPORTED``).
        datacollector: Mesa ``DataCollector`` of the monthly measures.

    Raises:
        ValueError: The seed is not a whole number >= 0, or the scenario turns on
            firm strategies, a warm start or a renewing market (not implemented in the
            per-agent model: compare with ``market.warm_start_months: 0`` and
            ``market.entry_rate_per_month: 0``, see ``COLD_START``).
    """

    def __init__(
        self,
        scenario: Scenario | str,
        rng: int | None = None,
        customers: int | None = None,
    ) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if customers is not None:
            scenario = scenario.with_changes({"simulation.customers": customers})
        if scenario.data["strategies"]:
            raise ValueError(
                f"{scenario.name}: the per-agent model does not implement firm strategies "
                f"({', '.join(scenario.data['strategies'])})"
            )
        if scenario.params.market.warm_start_months or scenario.params.market.entry_rate_per_month:
            raise ValueError(
                f"{scenario.name}: the per-agent model starts cold in a closed market; run it "
                "with market.warm_start_months: 0 and market.entry_rate_per_month: 0 "
                "(benchmarks.per_agent.COLD_START)"
            )
        if rng is None:
            rng = int(np.random.SeedSequence().entropy % 2**63)
        if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
            raise ValueError(f"rng must be a whole number >= 0 (the seed); got {rng!r}")
        super().__init__(rng=int(rng))
        self.crm_scenario = scenario
        self.params = p = scenario.params
        self.seed = int(rng)
        self.month = 0
        self.non_contractual = p.customers.behaviour == "non_contractual"
        self.pays_at_start = self.non_contractual or p.firm.margin_timing == "start"
        self.monthly_discount_rate = economics.monthly_discount_rate(p.firm.discount_rate_per_year)
        self._read_settings(scenario)

        n = p.simulation.customers
        people = [Customer(self) for _ in range(n)]
        rate = (lambda c: c.purchase_rate) if self.non_contractual else (lambda c: 1.0)
        worth = [c.order_value * rate(c) * (1.0 - c.churn_probability) for c in people]
        mean_worth = sum(worth) / n
        strengths = [channel["lookalike_strength"] for channel in self.channels]
        for customer, value in zip(people, worth, strict=True):
            customer.resemblance = value / mean_worth if mean_worth > 0 else 1.0
            customer.channel_weights = tuple(
                customer.resemblance**s if s > 0 else 1.0 for s in strengths
            )

        self.discount_factor = 1.0
        self.expectation_before_drift = self.market_expectation
        initial = int(round(p.market.initial_active_share * n))
        for customer in people[:initial]:
            customer.welcome(self.initial_base_code, self.market_expectation)

        self.profit_pv = 0.0
        self.unattributed_pv = 0.0
        self.poached_total = 0
        self.month_stats: dict[str, float] = dict.fromkeys(REPORTED, 0)
        self._reset_tallies()
        for customer in people:
            customer.tally()
        self.datacollector = mesa.DataCollector(
            model_reporters={key: _reporter(key) for key in REPORTED}
        )

    # ---------------------------------------------------------------- a month
    def step(self) -> None:
        """Simulate one month: the firm and competitor, every customer's month, the books."""
        self.month_stats = dict.fromkeys(REPORTED, 0)
        self.month_stats["month"] = self.month
        self._set_the_market()
        self._set_contact_chances()
        self._reset_tallies()
        self.first_buyers: list[list[Customer]] = [[] for _ in range(self.referral_code + 1)]
        self.unhappy_defectors = 0
        self.agents.shuffle_do("step")
        self._charge_acquisition()
        self._deter_prospects()
        self._record_month()
        self.month += 1

    def run(self, months: int | None = None) -> PerAgentCRMModel:
        """Simulate ``months`` months (default: the scenario's)."""
        months = self.params.simulation.months if months is None else months
        if months < 0:
            raise ValueError(f"months must be >= 0; got {months}")
        for _ in range(months):
            self.step()
        return self

    def monthly_series(self) -> Any:
        """The monthly measures, one row per month simulated (a pandas DataFrame)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    # ------------------------------------------------------- the month, by part
    def _set_the_market(self) -> None:
        """The firm improves, the competitor sets its offer, expectations rise."""
        p = self.params
        self.service_quality += self.quality_improvement
        growth = max(0.0, 1.0 + self.strength_growth_per_year)
        self.offer_strength = min(1.0, self.base_offer_strength * growth ** (self.month / 12.0))
        self.firm_value = self.service_quality + self.product_quality
        self.price_penalty = p.firm.price_weight * (self.price_index - 1.0)
        self.poaching_chance = self.reach_per_month * self.offer_strength * self.price_index
        technological = p.market.obsolescence_rate_per_month
        shock = p.market.technology_shock_month
        if shock is not None and self.month >= shock:
            technological = 1.0 - (1.0 - technological) * (
                1.0 - p.market.technology_shock_rate_per_month
            )
        self.technological_rate = technological
        self.stay_market = (
            (1.0 - self.market_rate)
            * (1.0 - self.technological_rate)
            * (1.0 - self.organisational_rate)
        )
        exponent = self.month if self.pays_at_start else self.month + 1
        self.discount_factor = (1.0 + self.monthly_discount_rate) ** -exponent
        # This month's first buyers start from the expectation before this month's rise.
        self.expectation_before_drift = self.market_expectation
        self.market_expectation += self.drift

    def _set_contact_chances(self) -> None:
        """Each channel's contacts per unit of weight, and the referral chance per suspect."""
        suspects = self.pool_suspects
        offers = []
        expected_prospects = 0.0
        if suspects > 0 and self.budget > 0:
            for code, channel in enumerate(self.channels):
                if channel["cost_per_contact"] > 0:
                    contacts = self.budget * channel["budget_share"] / channel["cost_per_contact"]
                else:
                    contacts = float(suspects) if channel["budget_share"] > 0 else 0.0
                contacts = min(contacts, float(suspects))
                weight = self.pool_weights[code]
                if contacts <= 0 or weight <= 0:
                    continue
                offers.append((code, contacts / weight, channel["prospect_rate"]))
                expected_prospects += contacts * channel["prospect_rate"]
        self.contact_offers: list[tuple[int, float, float]] = offers
        left = suspects - expected_prospects
        rate = self.pool_referral_rate
        self.referral_chance = min(rate / left, 1.0) if rate > 0 and left > 0 else 0.0

    def _reset_tallies(self) -> None:
        self.pool_suspects = 0.0
        self.pool_weights = [0.0] * len(self.channels)
        self.pool_referral_rate = 0.0
        self.prospects: list[Customer] = []

    def _charge_acquisition(self) -> None:
        """Each channel's spend is shared by the customers it brought this month."""
        for code, channel in enumerate(self.channels):
            spend = self.budget * channel["budget_share"]
            brought = self.first_buyers[code]
            if brought:
                for customer in brought:
                    customer.charge(spend / len(brought), "acquisition")
            elif spend > 0:
                self.unattributed_pv -= spend * self.discount_factor
                self.month_stats["acquisition_cost"] += spend

    def _deter_prospects(self) -> None:
        """Unhappy (service or product) defectors put prospects off."""
        expected = self.unhappy_defectors * self.deterrence_per_defector
        if expected <= 0 or not self.prospects:
            return
        n = min(int(self.rng.poisson(expected)), len(self.prospects))
        for customer in self.random.sample(self.prospects, n):
            customer.lose_interest()
        self.month_stats["deterred_prospects"] = n

    def _record_month(self) -> None:
        stats = self.month_stats
        stats["defected_this_month"] = sum(stats[key] for key in self.defection_keys)
        costs = stats["acquisition_cost"] + stats["service_cost"] + stats["return_cost"]
        stats["profit"] = stats["revenue"] - stats["cost_of_sales"] - costs
        self.profit_pv += stats["profit"] * self.discount_factor
        self.datacollector.collect(self)

    # -------------------------------------------------------------- set-up
    def _read_settings(self, scenario: Scenario) -> None:
        p = scenario.params
        ladder = p.ladder
        self.tenure_needed = [float(v) for v in ladder.promotion_tenure_months]
        self.satisfaction_needed = [float(v) for v in ladder.promotion_satisfaction]
        self.spend_needed = [float(v) for v in ladder.promotion_spend_per_month]
        self.churn_multiplier = [float(v) for v in ladder.churn_multiplier]
        self.spend_multiplier = [float(v) for v in ladder.spend_multiplier]
        self.price_multiplier = [float(v) for v in ladder.price_sensitivity_multiplier]
        self.referrals_per_month = [float(v) for v in ladder.referrals_per_month]
        self.value_bonus = [float(v) for v in ladder.value_bonus]
        self.top_tier = len(self.tenure_needed) - 1
        self.promotion_probability = ladder.promotion_probability_per_month
        self.demotion_satisfaction = ladder.demotion_satisfaction
        self.demotion_probability = ladder.demotion_probability_per_month

        acq = scenario.data["acquisition"]
        self.channels: list[dict[str, float]] = list(acq["channels"].values())
        self.channel_names = list(acq["channels"])
        self.referral_code = len(self.channels)
        self.initial_base_code = len(self.channels) + 1
        self.conversion_rates = [c["conversion_rate"] for c in self.channels] + [
            acq["referral_conversion_rate"]
        ]
        people = scenario.params.simulation.customers
        self.budget = acq["budget_per_month_per_1000_people"] * people / 1000.0
        self.prospect_lapse = acq["prospect_lapse_per_month"]
        # A prospect lapses when their one draw u is >= 1 - lapse and does not buy (u >= rate).
        self.lapse_chance = [min(self.prospect_lapse, 1.0 - r) for r in self.conversion_rates]
        self.deterrence_per_defector = acq["deterrence_per_defector"]

        firm = p.firm
        self.price_index = firm.price_index
        self.gross_margin = firm.gross_margin
        self.cost_to_serve = firm.cost_to_serve_per_month
        self.service_quality = firm.service_quality
        self.product_quality = firm.product_quality
        self.quality_improvement = firm.quality_improvement_per_month
        self.service_sensitivity = firm.service_defection_sensitivity
        self.organisational_rate = firm.organisational_failure_rate_per_month
        self.churn_scale = firm.churn_scale

        rival = p.competitor
        self.reach_per_month = rival.reach_per_month
        self.base_offer_strength = rival.offer_strength
        self.offer_strength = rival.offer_strength
        self.strength_growth_per_year = rival.strength_growth_per_year
        self.product_rate = rival.product_advantage_rate_per_month

        market = p.market
        self.market_expectation = market.expectation_start
        self.drift = market.expectation_drift_per_month
        self.adaptation = market.expectation_adaptation_per_month
        self.market_rate = market.exit_rate_per_month
        self.technological_rate = market.obsolescence_rate_per_month

        mix = [p.customers.background_reason_mix.__dict__[r] for r in DEFECTION_REASONS]
        total = sum(mix)
        self.background_mix = [w / total for w in mix] if total > 0 else [1 / len(mix)] * len(mix)
        self.defection_keys = [f"defections_{reason}" for reason in DEFECTION_REASONS]
        self.stage_keys = ("suspect", "prospect", "active", "defected")

        back = p.reacquisition
        recoverable = vars(back.reason_recoverability)
        # Customers the firm ended itself ("fired", the last reason) never come back.
        self.recoverability = [recoverable.get(reason, 0.0) for reason in REASONS[:-1]] + [0.0]
        # Nobody returns in the month they left; then the chance halves every half-life.
        self.return_chance = [0.0] + [
            back.return_probability_per_month * 0.5 ** ((month - 1) / back.half_life_months)
            for month in range(1, p.simulation.months + 2)
        ]
        self.cost_per_return = back.cost_per_return


def run_per_agent(
    scenario: Scenario | str, customers: int, months: int, seed: int
) -> PerAgentCRMModel:
    """Build a :class:`PerAgentCRMModel` and simulate ``months`` months.

    Args:
        scenario: A scenario, or a path / shipped name to load.
        customers: Market size (people).
        months: Months to simulate.
        seed: Seed of the run.

    Returns:
        The model after the run.
    """
    return PerAgentCRMModel(scenario, rng=seed, customers=customers).run(months)


def active_and_revenue(model: mesa.Model) -> tuple[list[int], list[float]]:
    """Monthly active customers (end of month) and revenue of a run of either model.

    Works for :class:`PerAgentCRMModel` and :class:`~crmsim.engine.model.CRMModel`, whose
    monthly series both report ``active`` and ``revenue``.

    Args:
        model: A model after its run.

    Returns:
        Active customers at the end of each month, and each month's revenue (currency).
    """
    frame = model.monthly_series()
    return [int(v) for v in frame["active"]], [float(v) for v in frame["revenue"]]


def _reporter(key: str):
    def report(model: PerAgentCRMModel) -> float:
        return model.month_stats[key]

    report.__name__ = key
    return report


def _beta(rnd: Any, mean: float, polarization: float) -> float:
    """A Beta draw with this mean and polarization 1 / (a + b + 1) (0 = everyone the mean)."""
    if polarization <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return mean
    concentration = (1.0 - polarization) / polarization
    if not math.isfinite(concentration):  # polarization so small that 1/polarization overflows
        return mean
    return rnd.betavariate(mean * concentration, (1.0 - mean) * concentration)


def _poisson(model: PerAgentCRMModel, mean: float) -> int:
    """A Poisson draw: Knuth's product of uniforms for small means, numpy otherwise."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return int(model.rng.poisson(mean))
    limit = math.exp(-mean)
    rnd = model.random
    k = 0
    product = rnd.random()
    while product > limit:
        k += 1
        product *= rnd.random()
    return k


def _geometric(rnd: Any, p: float) -> int:
    """Purchases before dropping out: geometric on 1, 2, ... with success chance ``p``."""
    p = min(max(p, 1e-9), 1.0)
    if p >= 1.0:
        return 1
    k = 1 + int(math.log(1.0 - rnd.random()) / math.log1p(-p))
    return min(k, MAX_PURCHASES_LEFT)


def _categorical(rnd: Any, weights: list[float], total: float) -> int:
    """Index drawn in proportion to ``weights`` (which sum to ``total``)."""
    u = rnd.random() * total
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if u < cumulative:
            return index
    return len(weights) - 1


__all__ = ["REPORTED", "Customer", "PerAgentCRMModel", "active_and_revenue", "run_per_agent"]

"""CRMModel: customers moving through acquisition, loyalty, defection and return.

One step is one month. A month's story, in the order ``step`` tells it:

1. The firm improves what it delivers and runs its strategies (a loyalty
   programme enrols members, a review ends marginal relationships...); the
   competitor sets its offer.
2. **Acquisition**: prospects make a first purchase or lose interest; paid
   channels (mass and look-alike) contact suspects; advocates and raving fans
   bring prospects by word of mouth.
3. **Satisfaction** = delivered value - expectation, and expectations rise.
4. **Loyalty ladder**: satisfied, long-standing, high-spending customers climb
   a rung; dissatisfied ones slip.
5. **Purchasing**: customers pay their bill (contractual) or buy at their own
   rate until they silently drop out (non-contractual); share of wallet grows
   up the ladder.
6. **Defection**: customers leave for price, product, service, market,
   technological or organisational reasons; unhappy leavers deter prospects.
7. **Reacquisition**: some of those who left come back, fewer the longer they
   have been gone, and start again at the bottom of the ladder.
8. **Accounts**: revenue, margins and every cost, attributed to the customer
   they were spent on, so each customer's realised lifetime value adds up.

Customers live in a columnar table (``crmsim.customers``); the firm and the
competitor are Mesa agents (``crmsim.firms``); monthly measures go through
Mesa's ``DataCollector``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd

from crmsim import economics
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.customers import Customer, CustomerTable, draw_purchases_left, draw_traits
from crmsim.firms import Competitor, Firm
from crmsim.rules import acquisition, defection, loyalty, purchasing, reacquisition, satisfaction
from crmsim.vocabulary import (
    ACTIVE,
    DEFECTED,
    DEFECTION_REASONS,
    FIRED,
    REASONS,
    SERVICE_OR_PRODUCT,
    STAGES,
    TIERS,
)

COST_KINDS = ("acquisition", "service", "programme", "return")
STREAMS = ("traits", "joining", "leaving", "word_of_mouth", "purchasing", "strategies")
"""Independent random streams of a run. Each month everyone gets one "joining" draw
(used by the funnel for suspects and prospects, by the ladder for customers) and one
"leaving" draw (defection for customers, return for those gone since an earlier month):
each person's draw serves at most one decision, and stays theirs across scenarios."""


@dataclass
class Accounts:
    """Running totals of the firm's books.

    Attributes:
        profit_pv: All profit so far, discounted to month 0, currency.
        unattributed_pv: Costs not spent on any one customer (e.g. channel spend
            that brought nobody), discounted to month 0, currency (negative).
    """

    profit_pv: float = 0.0
    unattributed_pv: float = 0.0


class CRMModel(mesa.Model):
    """A market of customers and the firm that wins, keeps and loses them.

    Args:
        scenario: A :class:`~crmsim.config.scenario.Scenario`, or a path / shipped name to load.
        rng: Seed of the run (an int); None draws a fresh one (kept in ``seed``).
        customers: Override of the market size (people).
        follow: Rows whose month-by-month history is recorded (default: a few
            initial customers and a few suspects, per the scenario).

    Attributes:
        scenario: The scenario being run.
        seed: The seed; the same seed and scenario give the same run.
        month: The month about to be simulated (0 before the first step).
        customers: The customer table.
        firm: The firm (a Mesa agent).
        competitor: The competitor (a Mesa agent).
        accounts: Discounted profit totals.
        datacollector: Mesa ``DataCollector`` of the monthly measures.
    """

    def __init__(
        self,
        scenario: Scenario | str,
        rng: int | None = None,
        customers: int | None = None,
        follow: list[int] | None = None,
    ) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if customers is not None:
            scenario = scenario.with_changes({"simulation.customers": customers})
        if rng is None:
            rng = int(np.random.SeedSequence().entropy % 2**63)
        if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
            raise ValueError(f"rng must be a whole number >= 0 (the seed); got {rng!r}")
        super().__init__(rng=int(rng))
        self._crm_scenario = scenario
        self.seed = int(rng)
        self.month = 0
        p = scenario.params
        self.non_contractual = p.customers.behaviour == "non_contractual"
        self.monthly_discount_rate = economics.monthly_discount_rate(p.firm.discount_rate_per_year)
        self.streams = dict(
            zip(
                STREAMS,
                (np.random.default_rng(s) for s in np.random.SeedSequence(rng).spawn(len(STREAMS))),
                strict=True,
            )
        )

        self._read_ladder(p)
        self._read_channels(scenario)
        self.market_expectation = p.market.expectation_start
        self.background_mix = _normalised(
            [p.customers.background_reason_mix.__dict__[r] for r in DEFECTION_REASONS]
        )
        self.recoverability = reacquisition.recoverability_table(
            vars(p.reacquisition.reason_recoverability), REASONS
        )
        self.return_chance = reacquisition.return_chance_by_month(
            p.reacquisition.return_probability_per_month,
            p.reacquisition.half_life_months,
            max_months=p.simulation.months + 1,
        )

        self.customers = CustomerTable(p.simulation.customers)
        draw_traits(self.customers, self.streams["traits"], p.customers)
        self.market_mean_order_value = float(self.customers.order_value.mean(dtype=np.float64))
        self.channel_weights = [
            self.customers.resemblance ** np.float32(c.lookalike_strength)
            if c.lookalike_strength > 0
            else None
            for c in self.channels
        ]
        self.firm = Firm(self)
        self.competitor = Competitor(self)
        self.accounts = Accounts()
        self._strategy_streams: dict[str, np.random.Generator] = {}
        self.funnel_totals = {
            key: np.zeros(len(self.channels) + 1)
            for key in ("contacts", "new_prospects", "prospects_at_start", "conversions", "spend")
        }
        self.month_stats: dict[str, float] = {}
        self._new_rows = np.zeros(0, np.int64)
        self._open_with_initial_base(p.market.initial_active_share)
        self.followed = (
            self._default_followed(p.simulation.follow_customers)
            if follow is None
            else [int(i) for i in follow]
        )
        self.history: dict[int, list[dict[str, Any]]] = {i: [] for i in self.followed}
        self._strategy_measures = [
            key
            for strategy in [*self.firm.strategies, *self.competitor.strategies]
            for key in strategy.measures
        ]
        self.datacollector = mesa.DataCollector(
            model_reporters={key: _reporter(key) for key in self._blank_stats()}
        )

    @property
    def scenario(self) -> Scenario:
        """The crmsim scenario being run."""
        return self._crm_scenario

    @scenario.setter
    def scenario(self, value: Any) -> None:
        # Mesa keeps an experimental scenario object of its own and points it back at the
        # model; keep that apart so a shared crmsim Scenario never holds on to a model.
        if isinstance(value, Scenario):
            self._crm_scenario = value
        else:
            self._scenario = value
            value.model = self

    # ----------------------------------------------------------------- a month
    def step(self) -> None:
        """Simulate one month."""
        self.month_stats = self._blank_stats()
        self.month_stats["month"] = self.month
        self._joining = self.draws("joining")
        self._leaving = self.draws("leaving")
        self.firm.step()
        self.competitor.step()
        self._acquire_customers()
        rows = np.flatnonzero(self.customers.stage == ACTIVE)
        # Customers the firm ended this month (at its review) were its customers too.
        self.month_stats["active_at_start"] = rows.size + self.month_stats["defections_fired"]
        value_seen = self._update_satisfaction(rows)
        self._climb_ladder(rows, value_seen)
        payers, revenue, dropped = self._purchase(rows, before_defection=True)
        self._defect(rows, dropped)
        if not self.pays_at_start:
            stayers = np.flatnonzero(self.customers.stage[rows] == ACTIVE)
            payers, revenue, _ = self._purchase(rows[stayers], before_defection=False)
        self._serve_and_account(payers, revenue)
        self._age(rows)
        self._reacquire_customers()
        self._record_month()
        self.month += 1

    def run(self, months: int | None = None, progress: bool = False) -> CRMModel:
        """Simulate ``months`` months (default: the scenario's), optionally with a progress bar."""
        months = self.scenario.params.simulation.months if months is None else months
        if months < 0:
            raise ValueError(f"months must be >= 0; got {months}")
        steps = range(months)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=self.scenario.name, unit="month", leave=False)
        for _ in steps:
            self.step()
        return self

    # ------------------------------------------------------- the month, by part
    def _acquire_customers(self) -> None:
        table = self.customers
        p = self.scenario.params.acquisition
        # Prospects and suspects are different people, so one draw per person serves both
        # steps (a prospect who lapses this month is not contacted again this month).
        draws = self._joining
        rates = self.conversion_rates.copy()
        rates[self.referral_code] = min(
            1.0, rates[self.referral_code] * self._strategy_scalar("referral_conversion_factor")
        )
        converted, lapsed, at_start = acquisition.convert_prospects(
            table, draws, rates, p.prospect_lapse_per_month
        )
        budget = self.firm.acquisition_budget_per_month
        channels = self.firm.channels
        contacts, new_prospects = acquisition.contact_suspects(
            table, draws, channels, budget, self.channel_weights
        )
        self._welcome(converted, source=table.prospect_source[converted])
        # Channel spend is shared by the customers the channel brought this month.
        sources = table.prospect_source[converted]
        for channel in channels:
            spend = budget * channel.budget_share
            brought = converted[sources == channel.code]
            self.funnel_totals["spend"][channel.code] += spend
            if brought.size:
                self.charge_customers(brought, spend / brought.size, "acquisition")
            elif spend > 0:
                self._charge_unattributed(spend, "acquisition")
        referred = acquisition.word_of_mouth_referrals(
            table,
            self.streams["word_of_mouth"],
            np.flatnonzero(table.stage == ACTIVE),
            self.referrals_per_month * np.float32(self._strategy_scalar("referral_factor")),
            self.referral_code,
        )
        for strategy in self.firm.running_strategies():
            strategy.after_acquisition(self, converted)
        new_prospects = np.append(new_prospects, referred)
        contacts = np.append(contacts, referred)
        conversions = np.bincount(sources, minlength=len(self.channels) + 1)
        for key, value in (
            ("contacts", contacts),
            ("new_prospects", new_prospects),
            ("prospects_at_start", at_start),
            ("conversions", conversions),
        ):
            self.funnel_totals[key] += value
        stats = self.month_stats
        stats["acquired"] = converted.size
        stats["new_prospects"] = float(new_prospects.sum())
        stats["referrals"] = referred
        stats["lapsed_prospects"] = lapsed

    def _update_satisfaction(self, rows: np.ndarray) -> np.ndarray:
        p = self.scenario.params
        extra = self._strategy_product(rows, "extra_value", add=True)
        value = satisfaction.delivered_value(
            self.customers,
            rows,
            firm_value=self.firm.delivered_quality,
            price_penalty=p.firm.price_weight * (self.firm.price_index - 1.0),
            price_sensitivity=self.effective_price_sensitivity(rows),
            value_bonus_by_tier=self.value_bonus,
            extra_value=extra,
        )
        satisfied = satisfaction.update_satisfaction(
            self.customers,
            rows,
            value,
            self.market_expectation,
            p.market.expectation_adaptation_per_month,
        )
        self.market_expectation += p.market.expectation_drift_per_month
        return satisfied

    def _climb_ladder(self, rows: np.ndarray, satisfaction_now: np.ndarray) -> None:
        ladder = self.scenario.params.ladder
        spend = self.expected_spend_per_month(rows)
        promoted, demoted = loyalty.move_on_ladder(
            self.customers,
            rows,
            # Newcomers' draws served the funnel; they cannot move on the ladder yet.
            self._joining,
            satisfaction_now,
            spend,
            self.tenure_needed,
            self.satisfaction_needed,
            self.spend_needed,
            ladder.promotion_probability_per_month,
            ladder.demotion_satisfaction,
            ladder.demotion_probability_per_month,
        )
        self.month_stats["promoted"] = promoted
        self.month_stats["demoted"] = demoted

    def _purchase(
        self, rows: np.ndarray, before_defection: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Who pays this month, what they pay, and (non-contractual) who dropped out."""
        empty = np.zeros(0, np.int64)
        if before_defection and not self.pays_at_start:
            return empty, np.zeros(0, np.float32), None
        table = self.customers
        factor = self.current_spend_factor(rows)
        price = self.firm.price_index
        if not self.non_contractual:
            return rows, purchasing.pay_monthly_bills(table, rows, factor, price), None
        revenue, dropped = purchasing.make_purchases(
            table, rows, self.streams["purchasing"], factor, price
        )
        # Newcomers make their first (trial) purchase this month; repeat buying starts next.
        new = np.isin(rows, self._new_rows, assume_unique=True) if self._new_rows.size else None
        if new is not None and new.any():
            first = rows[new]
            table.purchases_left[first] += table.purchases[first]
            table.purchases[first] = 1
            table.months_since_purchase[first] = 0
            revenue[new] = table.order_value[first] * factor[new] * np.float32(price)
            table.revenue[first] = revenue[new]
            dropped[new] = False
        return rows, revenue, dropped

    def _defect(self, rows: np.ndarray, dropped: np.ndarray | None) -> np.ndarray:
        table = self.customers
        pressures = self._pressures(rows)
        own_churn = (
            np.zeros(rows.size, np.float32)
            if self.non_contractual
            else table.churn_probability[rows]
        )
        own, price, product, service = defection.switching_hazards(
            own_churn,
            self.effective_price_sensitivity(rows),
            table.satisfaction[rows],
            self.loyalty_factor(rows),
            pressures,
        )
        hazards = {"price": price, "product": product, "service": service}
        for strategy in self.all_running_strategies():
            factors = strategy.reason_factors(self, rows)
            for reason, factor in (factors or {}).items():
                hazards[reason] = np.minimum(hazards[reason] * factor, 1.0)
        price, product, service = hazards["price"], hazards["product"], hazards["service"]
        leave = defection.leave_probability(own, price, product, service, pressures)
        churn_scale = self.scenario.params.firm.churn_scale
        if churn_scale != 1.0:
            leave = np.minimum(leave * np.float32(churn_scale), 1.0)
        u = self._leaving[rows]
        leaving = u < leave
        if dropped is not None:
            leaving |= dropped
        # Given that a customer leaves (u < leave), u / leave is a fresh uniform for the reason.
        reason_draw = np.minimum(u[leaving] / np.maximum(leave[leaving], 1e-12), 0.999999)
        reasons = defection.draw_reasons(
            reason_draw,
            own[leaving],
            price[leaving],
            product[leaving],
            service[leaving],
            pressures,
            self.background_mix,
        )
        if dropped is not None:
            # A silent dropout (BG/NBD) leaves for one of the background reasons.
            silent = dropped[leaving]
            reasons[silent] = defection.draw_background_reasons(
                self.streams["purchasing"], int(silent.sum()), self.background_mix
            )
        table.churn_hazard[rows] = leave
        leavers = rows[leaving]
        defection.record_defections(table, leavers, reasons, self.month)
        counts = np.bincount(reasons, minlength=len(REASONS))
        for code, reason in enumerate(DEFECTION_REASONS):
            self.month_stats[f"defections_{reason}"] = int(counts[code])
        self.competitor.poached_total += int(counts[defection.PRICE])
        unhappy = int(np.isin(reasons, SERVICE_OR_PRODUCT).sum())
        self.month_stats["deterred_prospects"] += acquisition.deter_prospects(
            table,
            self.streams["word_of_mouth"],
            unhappy,
            self.scenario.params.acquisition.deterrence_per_defector,
        )
        return leavers

    def _serve_and_account(self, payers: np.ndarray, revenue: np.ndarray) -> None:
        table = self.customers
        stats = self.month_stats
        gross = revenue * np.float32(self.firm.gross_margin)
        table.revenue_total[payers] += revenue
        self._book_value(payers, gross)
        stats["revenue"] += float(revenue.sum(dtype=np.float64))
        stats["cost_of_sales"] += float((revenue - gross).sum(dtype=np.float64))
        self.charge_customers(payers, self.firm.cost_to_serve_per_month, "service")
        for strategy in self.firm.running_strategies():
            cost = strategy.costs(self, payers, revenue)
            if cost is not None:
                self.charge_customers(payers, cost, "programme")
            fixed = strategy.fixed_cost(self)
            if fixed:
                self._charge_unattributed(fixed, "programme")
        stats["paying_customers"] = payers.size

    def _reacquire_customers(self) -> None:
        back = reacquisition.return_defectors(
            self.customers,
            # Only customers gone since an earlier month can return: their draws are unused.
            self._leaving,
            self.return_chance,
            self.recoverability,
            factor_of=self.return_factor,
        )
        self.reacquire(back, self.scenario.params.reacquisition.cost_per_return)

    def reacquire(self, rows: np.ndarray, cost_per_customer: Any, won_back: bool = False) -> None:
        """Customers in ``rows`` (defected) come back; the cost is charged to each of them.

        Used by the natural return of lost customers (at the end of a month, counted in
        ``returned``) and by win-back campaigns (at its start, counted in ``won_back``).
        """
        table = self.customers
        table.stage[rows] = ACTIVE
        table.months_since_defection[rows] = 0
        table.times_returned[rows] += 1
        self._start_relationship(rows)
        self.charge_customers(rows, cost_per_customer, "return")
        self.month_stats["won_back" if won_back else "returned"] += rows.size

    def end_relationships(self, rows: np.ndarray) -> None:
        """The firm ends the relationships with the active customers in ``rows`` (fired)."""
        defection.record_defections(
            self.customers, rows, np.full(rows.size, FIRED, np.int8), self.month
        )
        self.month_stats["defections_fired"] += rows.size

    def _age(self, rows: np.ndarray) -> None:
        """Customers who stayed the whole month are a month older in the relationship."""
        table = self.customers
        stayed = rows[table.stage[rows] == ACTIVE]
        table.tenure_months[stayed] += 1
        self._new_rows = np.zeros(0, np.int64)

    def _record_month(self) -> None:
        table = self.customers
        stats = self.month_stats
        counts = np.bincount(table.stage, minlength=len(STAGES))
        for code, stage in enumerate(STAGES):
            stats[stage] = int(counts[code])
        active = np.flatnonzero(table.stage == ACTIVE)
        tiers = np.bincount(table.tier[active], minlength=len(TIERS))
        for code, tier in enumerate(TIERS):
            stats[f"tier_{tier}"] = int(tiers[code])
        at_risk = stats["active_at_start"]
        stats["defected_this_month"] = sum(stats[f"defections_{r}"] for r in REASONS)
        stats["retained"] = at_risk - stats["defected_this_month"]
        stats["retention_rate"] = stats["retained"] / at_risk if at_risk else float("nan")
        stats["churn_rate"] = (
            (stats["defected_this_month"] - stats["defections_fired"]) / at_risk
            if at_risk
            else float("nan")
        )
        stats["members"] = int(table.member.sum())
        costs = sum(stats[f"{kind}_cost"] for kind in COST_KINDS)
        stats["profit"] = stats["revenue"] - stats["cost_of_sales"] - costs
        self.accounts.profit_pv += stats["profit"] * self.discount_factor
        stats["customer_equity"] = economics.customer_equity(self, active)
        stats["mean_satisfaction"] = (
            float(table.satisfaction[active].mean()) if active.size else float("nan")
        )
        stats["market_expectation"] = self.market_expectation
        stats["competitor_offer_strength"] = self.competitor.offer_strength
        stats["price_index"] = self.firm.price_index
        for strategy in [*self.firm.strategies, *self.competitor.strategies]:
            if strategy.measures:
                report = strategy.report(self) if strategy.is_running(self.month) else {}
                for key in strategy.measures:
                    stats[key] = report.get(key, float("nan"))
        self.datacollector.collect(self)
        for i in self.followed:
            self.history[i].append(self._snapshot(i))

    # ------------------------------------------------------------ bookkeeping
    def draws(self, stream: str) -> np.ndarray:
        """A fresh uniform draw in [0, 1) for every person in the market, from one stream.

        Drawing for everyone (not only for the customers a rule concerns) keeps
        person i's draw the same across the scenarios of a comparison, whatever
        happened to the others: common random numbers, person by person.
        """
        return self.streams[stream].random(self.customers.size, dtype=np.float32)

    def charge_customers(self, rows: np.ndarray, amount: Any, kind: str) -> None:
        """Spend ``amount`` (per customer, currency) of cost ``kind`` on the customers in rows.

        The cost is added to each customer's cost total and taken off their
        realised value, and booked in this month's accounts.
        """
        if np.ndim(amount) == 0 and (rows.size == 0 or amount == 0):
            return
        amount = np.broadcast_to(np.asarray(amount, np.float64), rows.shape)
        column = getattr(self.customers, f"{kind}_cost")
        column[rows] += amount
        self._book_value(rows, -amount)
        self.month_stats[f"{kind}_cost"] += float(amount.sum())

    def _charge_unattributed(self, amount: float, kind: str) -> None:
        self.accounts.unattributed_pv -= amount * self.discount_factor
        self.month_stats[f"{kind}_cost"] += amount

    def _book_value(self, rows: np.ndarray, amount: np.ndarray) -> None:
        self.customers.value_at_start[rows] += amount * self.discount_factor

    @property
    def discount_factor(self) -> float:
        """Discount from this month's cash flows to month 0 (margins paid in month t
        count at (1 + i)^-t; at (1 + i)^-(t+1) when paid at month end)."""
        exponent = self.month if self.pays_at_start else self.month + 1
        return (1.0 + self.monthly_discount_rate) ** -exponent

    @property
    def pays_at_start(self) -> bool:
        """Whether customers pay before deciding to leave (always, when non-contractual)."""
        return self.non_contractual or self.scenario.params.firm.margin_timing == "start"

    # ----------------------------------------------------- derived quantities
    def effective_price_sensitivity(self, rows: np.ndarray) -> np.ndarray:
        """Price sensitivity of each customer on their current rung."""
        table = self.customers
        return table.price_sensitivity[rows] * self.price_multiplier[table.tier[rows]]

    def loyalty_factor(self, rows: np.ndarray) -> np.ndarray:
        """Multiplier of switching hazards from the ladder rung and running strategies."""
        factor = self.churn_multiplier[self.customers.tier[rows]]
        strategies = self._strategy_product(rows, "churn_factor")
        return factor if strategies is None else factor * strategies

    def current_spend_factor(self, rows: np.ndarray) -> np.ndarray:
        """Multiplier of each customer's basic share of wallet (ladder and strategies)."""
        return purchasing.spend_factor(
            self.customers,
            rows,
            self.spend_multiplier,
            self._strategy_product(rows, "spend_factor"),
        )

    spend_factor_of = current_spend_factor

    def expected_spend_per_month(self, rows: np.ndarray) -> np.ndarray:
        """Expected spend with the firm next month at today's share of wallet, currency."""
        table = self.customers
        rate = table.purchase_rate[rows] if self.non_contractual else np.float32(1.0)
        return table.order_value[rows] * rate * self.current_spend_factor(rows)

    def all_running_strategies(self) -> list[Any]:
        """The firm's and the competitor's strategies that act this month."""
        return [*self.firm.running_strategies(), *self.competitor.running_strategies()]

    def return_factor(self, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier from running strategies of the chance that defected ``rows`` come back."""
        result = None
        for strategy in self.all_running_strategies():
            part = strategy.return_factor(self, rows)
            if part is not None:
                result = part if result is None else result * part
        return result

    def _strategy_scalar(self, hook: str) -> float:
        """Product of the running strategies' scalar factors for ``hook`` (1 = none)."""
        value = 1.0
        for strategy in self.firm.running_strategies():
            part = getattr(strategy, hook)(self)
            if part is not None:
                value *= part
        return value

    def strategy_rng(self, name: str) -> np.random.Generator:
        """A random stream of a strategy's own, the same whatever else runs (by seed and name)."""
        if name not in self._strategy_streams:
            key = zlib.crc32(name.encode())
            self._strategy_streams[name] = np.random.default_rng([self.seed, key])
        return self._strategy_streams[name]

    def strategy_draws(self, name: str) -> np.ndarray:
        """A uniform draw per person from a strategy's own stream (see ``draws``)."""
        return self.strategy_rng(name).random(self.customers.size, dtype=np.float32)

    def _strategy_product(
        self, rows: np.ndarray, hook: str, add: bool = False
    ) -> np.ndarray | None:
        result = None
        for strategy in self.firm.running_strategies():
            part = getattr(strategy, hook)(self, rows)
            if part is None:
                continue
            if result is None:
                result = part.astype(np.float32)
            elif add:
                result = result + part
            else:
                result = result * part
        return result

    def _pressures(self, rows: np.ndarray) -> defection.Pressures:
        market = self.scenario.params.market
        technological = market.obsolescence_rate_per_month
        shock = market.technology_shock_month
        if shock is not None and self.month >= shock:
            technological = 1.0 - (1.0 - technological) * (
                1.0 - market.technology_shock_rate_per_month
            )
        return defection.Pressures(
            poaching_chance=self.competitor.poaching_chance
            * self.firm.price_index
            * self.competitor.attention(self, rows),
            product_rate=self.competitor.product_advantage_rate_per_month,
            service_sensitivity=self.scenario.params.firm.service_defection_sensitivity,
            market_rate=market.exit_rate_per_month,
            technological_rate=technological,
            organisational_rate=self.scenario.params.firm.organisational_failure_rate_per_month,
        )

    # -------------------------------------------------------------- set-up
    def _read_ladder(self, p: Any) -> None:
        ladder = p.ladder
        as32 = lambda values: np.asarray(values, np.float32)  # noqa: E731
        self.tenure_needed = as32(ladder.promotion_tenure_months)
        self.satisfaction_needed = as32(ladder.promotion_satisfaction)
        self.spend_needed = as32(ladder.promotion_spend_per_month)
        self.churn_multiplier = as32(ladder.churn_multiplier)
        self.spend_multiplier = as32(ladder.spend_multiplier)
        self.price_multiplier = as32(ladder.price_sensitivity_multiplier)
        self.referrals_per_month = as32(ladder.referrals_per_month)
        self.value_bonus = as32(ladder.value_bonus)

    def _read_channels(self, scenario: Scenario) -> None:
        acq = scenario.data["acquisition"]
        self.channels = [
            acquisition.Channel(code=code, name=name, **spec)
            for code, (name, spec) in enumerate(acq["channels"].items())
        ]
        self.channel_names = [c.name for c in self.channels]
        self.referral_code = len(self.channels)
        self.initial_base_code = len(self.channels) + 1
        self.conversion_rates = acquisition.conversion_rates(
            self.channels, acq["referral_conversion_rate"]
        )

    def _open_with_initial_base(self, share: float) -> None:
        """The first ``share`` of the market are customers at month 0 (traits are random)."""
        n = int(round(share * self.customers.size))
        self._welcome(np.arange(n), source=np.full(n, self.initial_base_code, np.int8))

    def _welcome(self, rows: np.ndarray, source: np.ndarray) -> None:
        """New customers: their first purchase is this month."""
        table = self.customers
        table.stage[rows] = ACTIVE
        table.acquired_month[rows] = self.month
        table.source[rows] = source
        self._start_relationship(rows)
        self._new_rows = np.concatenate([self._new_rows, rows])

    def _start_relationship(self, rows: np.ndarray) -> None:
        """A relationship (first or renewed) starts at the bottom of the ladder."""
        table = self.customers
        table.tier[rows] = 0
        table.tenure_months[rows] = 0
        table.expectation[rows] = self.market_expectation
        table.months_since_purchase[rows] = 0
        if self.non_contractual and rows.size:
            table.purchases_left[rows] = draw_purchases_left(
                self.streams["purchasing"], table.dropout_probability[rows]
            )

    def _default_followed(self, count: int) -> list[int]:
        n_initial = int((self.customers.stage == ACTIVE).sum())
        half = count // 2
        first = list(range(min(count - half, n_initial)))
        later = list(range(n_initial, min(n_initial + half, self.customers.size)))
        return first + later

    def _blank_stats(self) -> dict[str, float]:
        keys = [
            "month",
            "active_at_start",
            "acquired",
            "new_prospects",
            "referrals",
            "lapsed_prospects",
            "deterred_prospects",
            "promoted",
            "demoted",
            *(f"defections_{r}" for r in REASONS),
            "defected_this_month",
            "retained",
            "retention_rate",
            "churn_rate",
            "returned",
            "won_back",
            "paying_customers",
            "revenue",
            "cost_of_sales",
            *(f"{kind}_cost" for kind in COST_KINDS),
            "profit",
            "customer_equity",
            *STAGES,
            *(f"tier_{t}" for t in TIERS),
            "members",
            "mean_satisfaction",
            "market_expectation",
            "competitor_offer_strength",
            "price_index",
            *self._strategy_measures,
        ]
        return dict.fromkeys(keys, 0)

    # ------------------------------------------------------------ read-outs
    def monthly_series(self) -> pd.DataFrame:
        """The monthly measures, one row per month simulated."""
        frame = self.datacollector.get_model_vars_dataframe()
        frame = frame.reset_index(drop=True)
        frame["month"] = frame["month"].astype(int)
        return frame

    def summary(self) -> dict[str, Any]:
        """Headline measures of the run (see ``crmsim.economics.summary``)."""
        return economics.summary(self)

    def customer_frame(self) -> pd.DataFrame:
        """One row per person who ever bought (see ``crmsim.economics.customer_frame``)."""
        return economics.customer_frame(self)

    def release(self) -> None:
        """Let go of the customer table and other per-person arrays once results are read.

        Mesa agents and the model refer to each other, so a finished model waits for
        Python's cycle collector; releasing its arrays at once keeps memory flat over
        thousands of runs in one process. The model cannot be stepped afterwards.
        """
        self.customers = None
        self.datacollector = None
        self.channel_weights = []
        self._joining = self._leaving = None
        self._strategy_streams.clear()
        # Strategies keep per-person arrays of their own.
        self.firm.strategies = []
        self.competitor.strategies = []

    def customer(self, i: int) -> Customer:
        """One customer as an object, with their history if they were followed."""
        table = self.customers
        if not 0 <= i < table.size:
            raise IndexError(f"customer {i} does not exist; rows are 0..{table.size - 1}")
        reason = int(table.defection_reason[i])
        acquired = int(table.acquired_month[i])
        source_names = [*self.channel_names, "referral", "initial_base"]
        rows = np.array([i])
        clv = economics.realised_clv(table, self.monthly_discount_rate)[i]
        return Customer(
            id=i,
            stage=STAGES[table.stage[i]],
            tier=TIERS[table.tier[i]],
            tenure_months=int(table.tenure_months[i]),
            satisfaction=float(table.satisfaction[i]),
            expectation=float(table.expectation[i]),
            share_of_wallet=float(
                table.base_share_of_wallet[i] * self.current_spend_factor(rows)[0]
            ),
            price_sensitivity=float(table.price_sensitivity[i]),
            churn_probability=float(table.churn_probability[i]),
            defection_reason=REASONS[reason] if reason >= 0 else None,
            months_since_defection=int(table.months_since_defection[i]),
            acquired_month=acquired if acquired >= 0 else None,
            source=source_names[table.source[i]] if acquired >= 0 else "none",
            times_returned=int(table.times_returned[i]),
            member=bool(table.member[i]),
            realised_clv=float(clv),
            revenue_total=float(table.revenue_total[i]),
            costs={kind: float(getattr(table, f"{kind}_cost")[i]) for kind in COST_KINDS},
            history=list(self.history.get(i, [])),
        )

    def _snapshot(self, i: int) -> dict[str, Any]:
        table = self.customers
        reason = int(table.defection_reason[i])
        return {
            "month": self.month,
            "stage": STAGES[table.stage[i]],
            "tier": TIERS[table.tier[i]],
            "satisfaction": round(float(table.satisfaction[i]), 4),
            "expectation": round(float(table.expectation[i]), 4),
            "revenue": round(float(table.revenue[i]) if table.stage[i] == ACTIVE else 0.0, 2),
            "churn_hazard": round(float(table.churn_hazard[i]), 5),
            "member": bool(table.member[i]),
            "defection_reason": REASONS[reason] if table.stage[i] == DEFECTED else None,
        }


def _reporter(key: str):
    def report(model: CRMModel) -> float:
        return model.month_stats[key]

    report.__name__ = key
    return report


def _normalised(weights: list[float]) -> np.ndarray:
    array = np.asarray(weights, np.float64)
    total = array.sum()
    if total <= 0:
        return np.full(array.size, 1.0 / array.size)
    return array / total


__all__ = ["CRMModel"]

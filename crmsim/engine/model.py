"""CRMModel: customers moving through acquisition, loyalty, defection and return.

One step is one month. The month, in the order ``step`` tells it:

1. **Plans and actions**: the firm improves what it delivers, sets its price
   and acquisition plan, and its strategies act (a loyalty programme enrols
   members, a review ends marginal relationships...); the competitor sets its
   offer and its strategies act.
2. **Acquisition** (``crmsim.engine.funnel``): prospects make a first purchase
   or lose interest; paid channels (mass and look-alike) contact suspects;
   advocates and raving fans bring prospects by word of mouth.
3. **The month's effects**: what every running strategy does to the month's
   customers (churn, spend, value, cost), asked once.
4. **Satisfaction** = delivered value - expectation, and expectations rise.
5. **Loyalty ladder**: satisfied, long-standing, high-spending customers climb
   a rung; dissatisfied ones slip.
6. **Purchasing**: customers pay their bill (contractual) or buy at their own
   rate until they silently drop out (non-contractual); share of wallet grows
   up the ladder. With margins at month end, only those who stay pay.
7. **Defection** (``crmsim.engine.leaving``): customers leave for price,
   product, service, market, technological or organisational reasons; unhappy
   leavers deter prospects.
8. **Accounts**: revenue, margins and every cost, charged to the customer they
   were spent on (``crmsim.engine.accounts``).
9. **Reacquisition** (``crmsim.engine.relationships``, where every relationship
   starts and ends): some of those who left come back, fewer the longer they
   have been gone, and start again at the bottom of the ladder.
10. **Record**: the month's measures (``crmsim.engine.record``); every
    ``firm.refit_every_months`` the firm refits its view of its customers
    first (``crmsim.engine.knowledge``).

Customers live in a columnar table (``crmsim.engine.customers``); the firm and
the competitor are Mesa agents (``crmsim.engine.players``); rules are small
functions over the table (``crmsim.rules``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np
import pandas as pd

from crmsim import economics
from crmsim.config.fields import check_value
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.config.schema import SCHEMA
from crmsim.engine.accounts import Books
from crmsim.engine.customers import Customer, open_market
from crmsim.engine.funnel import Funnel
from crmsim.engine.knowledge import FirmKnowledge
from crmsim.engine.leaving import Leaving
from crmsim.engine.players import Competitor, Firm
from crmsim.engine.record import FollowedHistory, MonthRecord, close_month
from crmsim.engine.relationships import Relationships
from crmsim.engine.run_off import ValueToCome, value_to_come
from crmsim.engine.streams import RandomStreams
from crmsim.engine.valuation import Valuation
from crmsim.rules import loyalty, purchasing, satisfaction
from crmsim.strategies.effects import (
    NO_EFFECTS,
    Combined,
    Effects,
    check_lengths,
    combine,
    combine_factors,
)
from crmsim.vocabulary import ACTIVE


@dataclass
class MonthRows:
    """Who the month is about, as rows of the table.

    Attributes:
        new: This month's first purchases.
        customers: The month's customers: active after acquisition, newcomers included.
        payers: Those who paid this month.
    """

    new: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    customers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    payers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class CRMModel(mesa.Model):
    """A market of customers and the firm that wins, keeps and loses them.

    Args:
        scenario: A :class:`~crmsim.config.scenario.Scenario`, or a path / shipped name.
        rng: Seed of the run (an int); None draws a fresh one (kept in ``seed``).
        customers: Override of the market size (people).
        follow: Rows whose month-by-month history is recorded (default: a few
            initial customers and a few suspects, per the scenario).
        log_purchases: Keep every month's purchases per customer (``purchase_log``), for
            a transaction log of the run; off by default, costing nothing.

    Attributes:
        scenario: The scenario being run.
        seed: The seed; the same seed and scenario give the same run.
        month: The month about to be simulated (0 before the first step).
        customers: The customer table.
        firm: The firm (a Mesa agent).
        competitor: The competitor (a Mesa agent).
        books: The accounts (discounted profit, costs by kind).
        record: The monthly measures.
    """

    def __init__(
        self,
        scenario: Scenario | str,
        rng: int | None = None,
        customers: int | None = None,
        follow: list[int] | None = None,
        log_purchases: bool = False,
    ) -> None:
        self.purchase_log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] | None = None
        """With ``log_purchases``: each month's (month, rows, purchases, revenue) of the
        customers who bought, from month 0 (the months before it are not logged)."""
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
        self.pays_at_start = self.non_contractual or p.firm.margin_timing == "start"
        """Whether customers pay before deciding to leave (always, when non-contractual)."""
        self.monthly_discount_rate = economics.monthly_discount_rate(p.firm.discount_rate_per_year)
        self.streams = RandomStreams(self.seed)

        self.ladder = loyalty.Ladder.from_settings(p.ladder)
        self.funnel = Funnel(self)
        self.leaving = Leaving(self)
        self.relationships = Relationships(self)
        self.market_expectation = p.market.expectation_start

        self.customers = open_market(p, self.streams["traits"], self.streams.entrants["traits"])
        people = self.customers.initial_people
        self.market_mean_order_value = float(
            self.customers.order_value[:people].mean(dtype=np.float64)
        )
        self.funnel.weigh_the_market()
        self.books = Books(self.customers, self.monthly_discount_rate, self.pays_at_start)
        self.firm = Firm(self)
        self.competitor = Competitor(self)
        self.record = MonthRecord([*self.firm.strategies, *self.competitor.strategies])
        # The firm decides (ranks, fires, focuses) by what it knows; the lab measures
        # (customer equity, lifetime CLV) by the truth, so that the firm's view can be
        # set against it.
        self.knowledge = FirmKnowledge(self)
        truth = self.knowledge if self.knowledge.oracle else FirmKnowledge(self, oracle=True)
        self.valuation = Valuation(self, self._fresh_effects, truth)
        self.firm_valuation = (
            self.valuation
            if truth is self.knowledge
            else Valuation(self, self._fresh_effects, self.knowledge)
        )
        self.month_rows = MonthRows()
        self._payer_positions: np.ndarray | None = None
        self._effects: Combined = NO_EFFECTS
        self._own_effects: dict[int, Effects | None] = {}
        self._joining = self._leaving = np.zeros(0, np.float32)
        self._value_to_come: ValueToCome | None = None
        self.recording = True
        """Whether each month's measures are recorded (a run-off of the market, which only
        values its customers, records none: ``crmsim.engine.run_off``)."""
        self.relationships.open_with_initial_base(
            p.market.initial_active_share, p.market.warm_start_months
        )
        self.knowledge.refit()  # on the records of the months before month 0
        self.followed = (
            FollowedHistory.default_rows(self.customers, p.simulation.follow_customers)
            if follow is None
            else [int(i) for i in follow]
        )
        self._followed = FollowedHistory(self.followed)
        self.firm.start_strategies()
        self.competitor.start_strategies()
        if log_purchases:
            self.purchase_log = []

    @property
    def history(self) -> dict[int, list[dict[str, Any]]]:
        """The followed customers' month-by-month states, by row."""
        return self._followed.by_customer()

    def history_of(self, i: int) -> list[dict[str, Any]]:
        """Row ``i``'s month-by-month states (empty if they were not followed)."""
        return self._followed.of_customer(i)

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
        self.record.open_month(self.month)
        self.books.open_month(self.month)
        self.funnel.renew()
        self._joining = self.draws("joining")
        self._leaving = self.draws("leaving")
        self.firm.step()
        self.competitor.step()
        new, rows = self.funnel.month(self._joining)
        self.month_rows = MonthRows(new=new, customers=rows, payers=rows)
        self._payer_positions = None
        # Customers the firm ended this month (at its review) were its customers too.
        self.record.stats["active_at_start"] = rows.size + self.record.stats["defections_fired"]
        self._effects, self._own_effects = self._ask_effects(rows)
        satisfied = self.satisfy(rows, self._effects)
        market = self.scenario.params.market
        self.market_expectation = satisfaction.next_market_expectation(
            self.market_expectation,
            market.expectation_start,
            market.expectation_drift_per_month,
            market.expectation_ceiling,
        )
        promoted, demoted = self.climb(rows, self._joining, satisfied, self._effects)
        self.record.stats["promoted"] = promoted
        self.record.stats["demoted"] = demoted
        if self.pays_at_start:
            revenue, dropped = self._purchase(rows)
            self.leaving.month(rows, self._leaving, dropped, self._effects)
        else:
            self.leaving.month(rows, self._leaving, None, self._effects)
            stayed = (self.customers.stage[rows] == ACTIVE).nonzero()[0]
            self.month_rows.payers = rows[stayed]
            self._payer_positions = stayed
            revenue, _ = self._purchase(rows[stayed], stayed)
        self._serve_and_account(revenue)
        self.relationships.age(rows)
        self.relationships.natural_returns(self._leaving)
        self._close_month()
        self.month += 1

    def run(self, months: int | None = None, progress: bool = False) -> CRMModel:
        """Simulate ``months`` months (default: the scenario's), optionally with a progress bar.

        Raises:
            ValueError: ``months`` outside what ``simulation.months`` allows (a whole
                number >= 1), as the command line and the scenario files refuse it, or
                past ``simulation.months`` in a renewing market (its rows are kept for
                the people who enter in those months).
        """
        months = self.scenario.params.simulation.months if months is None else months
        self.check_months(months)
        steps = range(int(months))
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=self.scenario.name, unit="month", leave=False)
        if not self._only_months_scheduled():
            for _ in steps:
                self.step()  # through Mesa's event list, with the events scheduled there
            return self
        # Mesa steps a model through its event list, its recurring step one event among
        # any others: about 15 us a month, some 7% of a small market's month. With nothing
        # else scheduled, the months run one after the other, and Mesa's clock (``time``,
        # ``steps``, the next step at ``time`` + 1) moves as it would (Mesa's debug log
        # line of each step aside).
        schedule = self._default_schedule
        schedule.pause()
        try:
            for _ in steps:
                self.time += 1
                self.steps += 1
                CRMModel.step(self)
        finally:
            schedule.resume()
            self._event_list.compact()  # the paused step's cancelled event
        return self

    def _only_months_scheduled(self) -> bool:
        """Whether Mesa's event list holds only the next month's step (no event scheduled
        with Mesa's ``schedule_event`` or ``schedule_recurring``, nor a simulator's)."""
        schedule = self._default_schedule
        waiting = self._event_list.peek_ahead(2) if not self._event_list.is_empty() else []
        return (
            schedule.is_active
            and schedule.next_scheduled_time == self.time + 1
            and len(waiting) == 1
        )

    def check_months(self, months: Any) -> None:
        """Refuse ``months`` more months that :meth:`run` could not simulate from here.

        Raises:
            ValueError: ``months`` outside what ``simulation.months`` allows (a whole
                number >= 1), or a run past ``simulation.months`` in a renewing market.
        """
        p = self.scenario.params
        problem = check_value(SCHEMA["simulation"]["months"], months)
        if problem:
            raise ValueError(f"months (simulation.months): {problem}")
        end = self.month + int(months)
        if p.market.entry_rate_per_month > 0 and end > p.simulation.months:
            raise ValueError(
                f"months: a run to month {end} goes past simulation.months "
                f"({p.simulation.months}), and the market renews (market.entry_rate_per_month "
                f"{p.market.entry_rate_per_month:g}) into rows kept for those months; set "
                f"simulation.months to at least {end}, e.g. "
                f"CRMModel(scenario.with_changes({{'simulation.months': {end}}}))"
            )

    def revise(self, changes: Mapping[str, Any]) -> None:
        """The firm revises its budgets between months: from the next month on they are
        ``changes`` (dotted path -> value), as a yearly plan or a round of the classroom
        game (``crmsim.report.game``) revises them.

        Only budgets the model reads afresh every month can change in a running market:
        ``acquisition.budget_per_month_per_1000_people``,
        ``acquisition.channels.<channel>.budget_share`` of the scenario's channels, and
        ``strategies.<strategy>.budget_per_month_per_1000_people`` of a strategy the
        scenario runs (retention offers, win-back). Anything else shapes the market from
        month 0 (a strategy switched on, a price, a channel's cost): run a scenario with
        it instead. ``scenario`` becomes the revised scenario, validated as any (channel
        shares adding up to at most 1, say). A running ``acquisition_mix`` strategy goes
        on overriding the channels' shares with its own. The same changes at the same
        months give the same run.

        Raises:
            ValueError: A setting that cannot change in a running market; the message
                lists those that can.
            ScenarioError: A value the scenario does not allow; the message says which.
        """
        scenario = self.scenario
        running = scenario.strategies()
        for path in changes:
            parts = path.split(".")
            revisable = (
                path == "acquisition.budget_per_month_per_1000_people"
                or (
                    len(parts) == 4
                    and parts[:2] == ["acquisition", "channels"]
                    and parts[2] in scenario.channels()
                    and parts[3] == "budget_share"
                )
                or (
                    len(parts) == 3
                    and parts[0] == "strategies"
                    and parts[2] == "budget_per_month_per_1000_people"
                    and parts[2] in running.get(parts[1], {})
                )
            )
            if not revisable:
                raise ValueError(
                    f"{path!r} cannot change in a running market; only these can: "
                    "acquisition.budget_per_month_per_1000_people, "
                    f"acquisition.channels.<{' | '.join(scenario.channels())}>.budget_share, "
                    "strategies.<strategy>.budget_per_month_per_1000_people of a running "
                    f"strategy that has one ({', '.join(_budgeted(running)) or 'none runs'})"
                )
        revised = scenario.with_changes(changes)
        self._crm_scenario = revised
        self.funnel.revise_budget_shares(revised.channels())
        self.firm.revise_budgets(revised)

    # ------------------------------------------------------- the month, by part
    def satisfy(self, rows: np.ndarray, effects: Combined) -> np.ndarray:
        """Satisfaction of customers ``rows`` this month (value delivered - expectation,
        with the strategies' ``effects``); their expectations catch up with the market's."""
        p = self.scenario.params
        return satisfaction.satisfy_on_rungs(
            self.customers,
            rows,
            firm_value=self.firm.delivered_quality,
            price_penalty=p.firm.price_weight * (self.firm.price_index - 1.0),
            ladder=self.ladder,
            market_expectation=self.market_expectation,
            adaptation_per_month=p.market.expectation_adaptation_per_month,
            extra_value=effects.value,
        )

    def climb(
        self, rows: np.ndarray, draws: np.ndarray, satisfied: np.ndarray, effects: Combined
    ) -> tuple[int, int]:
        """Customers ``rows`` move on the ladder (one draw per person in ``draws``);
        returns the numbers promoted and demoted."""
        return loyalty.move_on_ladder(
            self.customers,
            rows,
            draws,
            satisfied,
            self.valuation.expected_spend(rows, effects.spend),
            self.ladder,
        )

    def _purchase(
        self, payers: np.ndarray, picked: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """What the payers (the month's customers, or ``picked`` of them) pay this month,
        and (non-contractual) who dropped out."""
        table = self.customers
        strategy_spend = self._effects.spend
        if picked is not None and strategy_spend is not None:
            strategy_spend = strategy_spend[picked]
        factor = self.valuation.spend_factor(payers, strategy_spend)
        price = self.firm.price_index
        if not self.non_contractual:
            return purchasing.pay_monthly_bills(table, payers, factor, price), None
        shape = self.scenario.params.customers.order_value_shape_per_purchase
        spend_rng = self.streams["order_values"]
        revenue, dropped = purchasing.make_purchases(
            table, payers, self.streams["purchasing"], factor, price, shape, spend_rng
        )
        if self.relationships.newcomers.size:
            newcomers = np.isin(payers, self.relationships.newcomers, assume_unique=True)
            if newcomers.any():
                purchasing.first_purchases(
                    table, payers, newcomers, revenue, dropped, factor, price, shape, spend_rng
                )
        if self.purchase_log is not None:
            bought = table.purchases[payers] > 0
            self.purchase_log.append(
                (self.month, payers[bought], table.purchases[payers][bought], revenue[bought])
            )
        purchasing.record_purchases(table, payers, self.month)
        return revenue, dropped

    def _serve_and_account(self, revenue: np.ndarray) -> None:
        payers = self.month_rows.payers
        books = self.books
        books.book_sales(payers, revenue, self.firm.margin_share)
        books.charge(payers, self.firm.cost_to_serve_per_month, "service")
        for strategy, view in self.firm.running():
            effects = self._effects.costs.get(strategy.name)
            if effects is not None:
                if self._payer_positions is not None:
                    effects = effects.subset(self._payer_positions)
                books.charge(payers, effects.cost(revenue), "programme")
            fixed = strategy.fixed_cost(view)
            if fixed:
                books.charge_unattributed(fixed, "programme")
        self.record.stats["paying_customers"] = payers.size

    def _close_month(self) -> None:
        self.knowledge.month_closed(self.month)
        profit = self.books.close_month()
        if not self.recording:
            return
        close_month(self, profit)
        self._followed.keep(self.customers, self.month)

    # ------------------------------------------------- services for strategies
    def draws(self, stream: str) -> np.ndarray:
        """A fresh uniform draw in [0, 1) for every person in the market, from one stream
        (common random numbers, person by person: ``RandomStreams.for_everyone``)."""
        table = self.customers
        return self.streams.for_everyone(stream, table.people, table.initial_people)

    def strategy_rng(self, name: str) -> np.random.Generator:
        """A random stream of a strategy's own, the same whatever else runs (by seed and name)."""
        return self.streams.of_strategy(name)

    def return_factor(self, rows: np.ndarray) -> np.ndarray | None:
        """Multiplier from running strategies of the chance that defected ``rows`` come back."""
        factors = []
        for player in (self.firm, self.competitor):
            for strategy, view in player.running():
                factor = strategy.return_factor(view, rows)
                check_lengths(
                    {"return_factor": factor},
                    rows.size,
                    f"strategy {strategy.name!r}",
                    "defected customer asked about",
                )
                factors.append(factor)
        return combine_factors(factors)

    def month_effects_of(self, strategy: Any) -> Effects | None:
        """What ``strategy`` did this month to the month's customers."""
        return self._own_effects.get(id(strategy))

    # ------------------------------------------------------------ value now
    def effective_price_sensitivity(self, rows: np.ndarray) -> np.ndarray:
        """Price sensitivity of each customer on their current rung."""
        return loyalty.price_sensitivity_on_rung(self.customers, rows, self.ladder)

    def expected_clv(self, rows: np.ndarray) -> np.ndarray:
        """Expected (prospective) CLV of active customers ``rows`` as things stand, currency
        (``crmsim.engine.valuation``)."""
        return self.valuation.expected_clv(rows)

    def customer_equity(self, rows: np.ndarray | None = None) -> float:
        """Value of the customer base now: the summed expected CLV of the active customers."""
        return self.valuation.customer_equity(rows)

    def expected_margin_per_month(self, rows: np.ndarray) -> np.ndarray:
        """Expected profit each active customer brings next month at today's spend, currency."""
        return self.valuation.expected_margin_per_month(rows)

    def expected_retention(self, rows: np.ndarray) -> np.ndarray:
        """Each active customer's chance of still being a customer next month."""
        return self.valuation.expected_retention(rows)

    def share_of_wallet(self, rows: np.ndarray) -> np.ndarray:
        """Share of each customer's category spend the firm gets now (ladder and strategies)."""
        return self.valuation.share_of_wallet(rows)

    def value_to_come(self) -> ValueToCome:
        """The discounted value every person will still bring, valued now, by the model's
        own rules (``crmsim.engine.run_off``): run once per month valued, when first
        asked for (the lifetime CLVs and customer equity of the run summary)."""
        if self._value_to_come is None or self._value_to_come.month != self.month:
            self._value_to_come = value_to_come(self)
        return self._value_to_come

    def month_end_clv(self, active: np.ndarray) -> np.ndarray:
        """Expected CLV of the customers active at month end (the month's customers with the
        effects the books used)."""
        return self.valuation.month_end_clv(active, self.month_rows.customers, self._effects)

    def _fresh_effects(self, rows: np.ndarray) -> Combined:
        return self._ask_effects(rows)[0]

    def _ask_effects(self, rows: np.ndarray) -> tuple[Combined, dict[int, Effects | None]]:
        """The running strategies' effects on ``rows``, combined and each strategy's own."""
        own: dict[int, Effects | None] = {}
        asked = []
        for player in (self.firm, self.competitor):
            named = []
            for strategy, view in player.running():
                effects = strategy.effects(view, rows)
                if effects is not None:
                    effects.check_aligned(rows.size, strategy.name)
                own[id(strategy)] = effects
                named.append((strategy.name, effects))
            asked.append(named)
        return (combine(*asked) if own else NO_EFFECTS), own

    # ------------------------------------------------------------ read-outs
    def monthly_series(self) -> pd.DataFrame:
        """The monthly measures, one row per month simulated (names in ``crmsim.measures``)."""
        return self.record.frame()

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
        self.books.customers = None
        self.funnel.release()
        self._joining = self._leaving = None
        self._effects = NO_EFFECTS
        self._own_effects = {}
        self._value_to_come = None
        self.streams.release()
        # Strategies keep per-person arrays of their own.
        for player in (self.firm, self.competitor):
            player.release()

    def customer(self, i: int) -> Customer:
        """One customer as an object, with their history if they were followed."""
        return Customer.read(self, i)


def _budgeted(running: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The running strategies that have a monthly budget."""
    return [
        name for name, params in running.items() if "budget_per_month_per_1000_people" in params
    ]


__all__ = ["CRMModel"]

"""The classroom game, without a screen: the rules, a round played, the leaderboard, the debrief.

Teams each run the same seeded market (the same scenario, people and seed) for a
few yearly rounds. Each round a team splits the round's budget between the
acquisition channels, retention offers and the win-back programme, and may buy
CRM reports (segment-level data on its own customers) at a price. When the
instructor reveals the round, every team's market runs twelve months with its
decision, and the results are shown: the leaderboard ranks the teams by the value
of their customer base, customer equity net of everything spent. At the end a
debrief shows what drove the ranking: how unequal customers are (the top 20%'s
share of value), early against late customers, and which reports paid. This is
what the commercial customer-centricity simulations do, open and inspectable:
every rule is here and in the engine.

**A decision** (:class:`TeamDecision`) gives each spending lever (:class:`Lever`)
a share of the round's budget: each of the scenario's acquisition channels (its
share of the acquisition budget), retention offers (the ``churn_reduction``
strategy: offers to the riskiest customers first, as far as the budget reaches)
and the win-back programme (the ``win_back`` strategy: offers to customers who
left, likeliest returners first). Shares are in [0, 1] and add up to at most 1;
money not given to a lever is not spent. A lever's share is the most it may
spend: retention offers and win-back spend only on the customers they find, so a
share larger than they can use is partly left unspent (the results show what
was spent). Reports are bought with the decision and delivered with the round's
results, their price charged to the round's profit.

**How a round continues the market** (chosen: replay). A round continues each
team's market for twelve months from where it stood. The market is not stored:
at each round the team's market is run again from month 0 with the decisions of
every round so far, each applied at the start of its year
(``CRMModel.revise``, which changes the firm's budgets between months). A run
is a function of its scenario, seed and revisions, so the replay is the market
as it stood, exactly, and the database keeps only decisions and results (text,
readable by any SQLite tool, no pickled models tied to a version of the code);
the price is running the earlier rounds again, little beside the valuation
each round needs anyway: a team's fifth round at 5,000 people takes 0.5-0.7 s
in all, a round at 50,000 people about 3.3 s whatever its number (measured on
2 shared cores; the run-off that values the customers dominates). Storing the
model state would save the replay but tie the database to the code's version
and size it in megabytes per team.

**The score.** Customer equity, the value still to come from a team's customers
(``customer_equity``, valued by a run-off of its market, ``crmsim.engine.run_off``),
rises with every customer bought, whatever the price paid; ranking by it alone
would reward spending the whole budget on acquisition. The leaderboard ranks
by the value of the customer base (``value_of_customer_base``): the discounted
profit to date, every spend netted, plus the customer equity discounted to
month 0, less the discounted price of the reports bought. Both are shown. The
valuation is computed once per round per team and stored with the result.

Every team meets the same people with the same luck (common random numbers,
person by person, ``crmsim.engine.streams``), so differences between teams
come from their decisions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from crmsim import economics
from crmsim.config.fields import Field, ScenarioError, check_value
from crmsim.config.scenario import Scenario, load_scenario
from crmsim.engine.model import CRMModel
from crmsim.measures import monthly_measure, run_measure, segment_measure
from crmsim.report.lab import shipped_bases
from crmsim.report.tables import segment_profile
from crmsim.vocabulary import INITIAL_BASE

MONTHS_PER_ROUND = 12
"""Months a round runs: a round is a year."""

MAX_GAME_CUSTOMERS = 50_000
"""Most people in a game's market: each reveal runs every team's market again from month 0
and values it, about 3.3 s per team at this size (2 shared cores), so ten teams wait half a
minute for a round."""

MAX_ROUNDS = 10
"""Most rounds of a game."""

MAX_TEAM_NAME = 40
"""Longest team name, characters."""

RETENTION_OFFERS = "retention_offers"
WIN_BACK = "win_back"

SCORE = "value_of_customer_base"
"""The run measure the leaderboard ranks by (``crmsim.measures``), net of reports."""

EQUITY = "customer_equity"
"""The run measure shown beside the score: the value still to come."""

GAME_FIELDS: dict[str, Field] = {
    "scenario": Field(
        "choice",
        "baseline",
        "",
        "The market every team plays: a shipped scenario (one whose firm sets its own "
        "acquisition split, with acquisition_mix, cannot be played).",
        choices=tuple(shipped_bases()),
    ),
    "customers": Field(
        "positive_count",
        2_000,
        "people",
        "People in the market at month 0. Budgets and report prices are per 1,000 of them, "
        "so the size sets the precision of the results, not the business.",
        minimum=100,
        maximum=MAX_GAME_CUSTOMERS,
    ),
    "rounds": Field(
        "positive_count", 4, "", "Rounds of the game, each a year.", maximum=MAX_ROUNDS
    ),
    "budget_per_month_per_1000_people": Field(
        "nonnegative",
        500.0,
        "currency per month per 1,000 people",
        "Each team's budget, split between the levers each round (the baseline firm spends "
        "400 on acquisition and up to 50 on retention offers).",
        maximum=100_000.0,
    ),
    "report_price_per_1000_people": Field(
        "nonnegative",
        2_000.0,
        "currency per report per 1,000 people",
        "Price of one CRM report, charged to the round's profit.",
        maximum=1_000_000.0,
    ),
    "seed": Field("seed", 2026, "", "The market's seed: every team plays the same market."),
}
"""The settings of a game, with their defaults, units and meaning (the instructor's controls)."""

GAME_LABELS: dict[str, str] = {
    "scenario": "Market",
    "customers": "People in the market",
    "rounds": "Rounds",
    "budget_per_month_per_1000_people": "Budget",
    "report_price_per_1000_people": "Price of a CRM report",
    "seed": "Seed",
}
"""Each setting's label, for people."""


class GameError(ValueError):
    """A request the game refuses: a bad decision, a name taken, a click at the wrong time.

    Attributes:
        control: The control at fault, where the page shows the message (``"team"``,
            ``"decision"``, ``"round"``, ``"settings"``, ``"game"``, or a lever's name).
    """

    def __init__(self, message: str, control: str = "game") -> None:
        super().__init__(message)
        self.control = control


@dataclass(frozen=True)
class Lever:
    """Somewhere a team can put a share of its budget.

    Attributes:
        name: Its key in a decision (a channel's name, ``retention_offers``, ``win_back``).
        label: What it is, for people.
        help: What the money buys.
    """

    name: str
    label: str
    help: str


@dataclass(frozen=True)
class CrmReport:
    """A CRM report a team can buy: segment-level data on its own customers.

    Attributes:
        name: Its key (a segment split of ``crmsim.measures.SEGMENT_DIMENSIONS``, or
            ``value`` for value quartiles).
        label: What it shows.
        help: What it helps decide.
    """

    name: str
    label: str
    help: str


REPORTS: dict[str, CrmReport] = {
    "channel": CrmReport(
        "channel",
        "Customers by acquisition channel",
        "What the customers each channel brought are worth, net of what they cost: where "
        "acquisition money buys value.",
    ),
    "cohort": CrmReport(
        "cohort",
        "Customers by year acquired",
        "What each year's new customers are worth, and how many are still active.",
    ),
    "rung": CrmReport(
        "rung",
        "Customers by rung of the loyalty ladder",
        "How loyalty pays: value, spend and staying power on each rung.",
    ),
    "value": CrmReport(
        "value",
        "Customers by value quartile",
        "How unequal customers are: the top quarter's share of value, and who they are "
        "(price sensitivity, share of wallet, loyalty).",
    ),
}
"""The reports on sale, by name."""

REPORT_COLUMNS = (
    "customers",
    "mean_lifetime_clv",
    "active_share",
    "revenue_per_customer",
    "cost_per_customer",
)
"""Segment measures a segment report shows (``crmsim.measures``)."""


@dataclass(frozen=True)
class GameSettings:
    """What the instructor sets: the market, its size, the rounds, the budget, the prices.

    See :data:`GAME_FIELDS` for each setting's unit and meaning.
    """

    scenario: str = GAME_FIELDS["scenario"].default
    customers: int = GAME_FIELDS["customers"].default
    rounds: int = GAME_FIELDS["rounds"].default
    budget_per_month_per_1000_people: float = GAME_FIELDS[
        "budget_per_month_per_1000_people"
    ].default
    report_price_per_1000_people: float = GAME_FIELDS["report_price_per_1000_people"].default
    seed: int = GAME_FIELDS["seed"].default

    def problems(self) -> dict[str, str]:
        """What is wrong, by setting; empty when a game can start with these settings."""
        found = {}
        for name, spec in GAME_FIELDS.items():
            problem = check_value(spec, getattr(self, name))
            if problem:
                found[name] = f"{GAME_LABELS[name]} {problem}"
        if "scenario" not in found:
            problem = _scenario_problem(self.scenario)
            if problem:
                found["scenario"] = problem
        return found

    def check(self) -> None:
        """Raise :class:`GameError` (control ``"settings"``) listing every problem."""
        problems = self.problems()
        if problems:
            raise GameError("; ".join(problems.values()), "settings")

    def describe(self) -> str:
        """The settings in one sentence, in the market's currency."""
        return (
            f"{self.rounds} round(s) of {MONTHS_PER_ROUND} months on {self.scenario} with "
            f"{self.customers:,} people (seed {self.seed}); each team's budget "
            f"{self.budget_per_round:,.0f} a round; a CRM report costs {self.report_price:,.0f}."
        )

    @property
    def months(self) -> int:
        """Months of the whole game."""
        return self.rounds * MONTHS_PER_ROUND

    @property
    def budget_per_round(self) -> float:
        """Each team's budget for a round in this market, currency."""
        return self.budget_per_month_per_1000_people * self.customers / 1000 * MONTHS_PER_ROUND

    @property
    def report_price(self) -> float:
        """Price of one report in this market, currency."""
        return self.report_price_per_1000_people * self.customers / 1000

    def market(self) -> Scenario:
        """The scenario every team plays (:func:`game_scenario`)."""
        return game_scenario(self.scenario, self.months)

    def levers(self) -> tuple[Lever, ...]:
        """Where a team can put its budget: the scenario's channels, retention offers,
        win-back."""
        return game_levers(self.scenario)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GameSettings:
        """Settings from :meth:`to_dict`'s values (unknown keys are refused)."""
        unknown = set(data) - set(GAME_FIELDS)
        if unknown:
            raise GameError(
                f"unknown game setting(s) {', '.join(sorted(unknown))}; allowed: "
                + ", ".join(GAME_FIELDS),
                "settings",
            )
        return cls(**data)


def _scenario_problem(name: str) -> str | None:
    try:
        scenario = load_scenario(name)
    except ScenarioError as error:
        return str(error)
    if "acquisition_mix" in scenario.strategies():
        return (
            f"Scenario {name} runs acquisition_mix, which sets the acquisition split itself; "
            "in the game the teams set it: choose another scenario"
        )
    clash = {RETENTION_OFFERS, WIN_BACK} & set(scenario.channels())
    if clash:
        return f"Scenario {name} has a channel named {', '.join(clash)}, a lever of the game"
    return None


@cache
def game_scenario(name: str, months: int) -> Scenario:
    """The market of a game on shipped scenario ``name``, ``months`` long.

    The scenario with retention offers (``churn_reduction``: the riskiest half of the
    customers flagged each month, offers to the riskiest first as far as the budget goes,
    no holdout, since the game compares teams rather than measuring the flag) and the
    win-back programme switched on, every budget 0 until a team's first decision sets it.
    A scenario that runs either already keeps its other settings (but those named here).
    """
    base = load_scenario(name)
    return base.with_changes(
        {
            "simulation.months": months,
            "acquisition.budget_per_month_per_1000_people": 0.0,
            "strategies.churn_reduction.flag_share": 0.5,
            "strategies.churn_reduction.holdout_share": 0.0,
            "strategies.churn_reduction.budget_per_month_per_1000_people": 0.0,
            "strategies.win_back.budget_per_month_per_1000_people": 0.0,
        },
        name=f"{base.name} (game)",
    )


@cache
def game_levers(name: str) -> tuple[Lever, ...]:
    """The levers of a game on shipped scenario ``name``: its channels, then retention
    offers and win-back."""
    scenario = load_scenario(name)
    channels = tuple(
        Lever(
            channel,
            f"Acquisition: {channel} channel",
            f"Contacts at {spec['cost_per_contact']:g} each; "
            + (
                "mass marketing: anyone may be reached"
                if spec["lookalike_strength"] == 0
                else "look-alike targeting: reaches people like the best customers first"
            )
            + f"; {spec['prospect_rate']:.0%} of contacts become prospects.",
        )
        for channel, spec in scenario.channels().items()
    )
    return (
        *channels,
        Lever(
            RETENTION_OFFERS,
            "Retention offers",
            "Offers to the customers most at risk of leaving, riskiest first: an offer "
            "cuts their switching for a few months.",
        ),
        Lever(
            WIN_BACK,
            "Win-back programme",
            "Offers to customers who left, likeliest to return first, and an incentive "
            "to each who comes back.",
        ),
    )


@dataclass(frozen=True)
class TeamDecision:
    """A team's decision for a round.

    Attributes:
        shares: Share of the round's budget given to each lever, by name (levers not
            named get 0).
        reports: The CRM reports bought (names of :data:`REPORTS`).
    """

    shares: Mapping[str, float] = field(default_factory=dict)
    reports: tuple[str, ...] = ()

    def problems(self, settings: GameSettings) -> dict[str, str]:
        """What is wrong, by the control at fault (a lever's name, ``"total"`` or
        ``"reports"``); empty when the decision can be played."""
        found: dict[str, str] = {}
        levers = {lever.name: lever for lever in settings.levers()}
        spec = Field("share", 0.0)
        for name, share in self.shares.items():
            if name not in levers:
                found[name] = f"No lever {name!r}; the levers are {', '.join(levers)}"
                continue
            problem = check_value(spec, share)
            if problem:
                found[name] = f"{levers[name].label}: share {problem}"
        if not found:
            total = sum(float(s) for s in self.shares.values())
            if total > 1 + 1e-9:
                found["total"] = (
                    f"The shares add up to {total:.3g}: they may add up to at most 1 "
                    "(the whole budget)"
                )
        unknown = [name for name in self.reports if name not in REPORTS]
        if unknown:
            found["reports"] = (
                f"No report {', '.join(map(repr, unknown))}; the reports are " + ", ".join(REPORTS)
            )
        elif len(set(self.reports)) != len(self.reports):
            found["reports"] = "A report is bought twice; buy each once"
        return found

    def check(self, settings: GameSettings) -> None:
        """Raise :class:`GameError` at the first control at fault."""
        problems = self.problems(settings)
        if problems:
            control, message = next(iter(problems.items()))
            raise GameError(message, control)

    def share(self, lever: str) -> float:
        """The share given to ``lever`` (0 when not named)."""
        return float(self.shares.get(lever, 0.0))

    def changes(self, settings: GameSettings) -> dict[str, Any]:
        """The decision as the market's budgets for the round (``CRMModel.revise``)."""
        budget = settings.budget_per_month_per_1000_people
        channels = [lever.name for lever in settings.levers()[:-2]]
        acquisition = sum(self.share(name) for name in channels)
        changes: dict[str, Any] = {
            "acquisition.budget_per_month_per_1000_people": budget * acquisition,
            "strategies.churn_reduction.budget_per_month_per_1000_people": budget
            * self.share(RETENTION_OFFERS),
            "strategies.win_back.budget_per_month_per_1000_people": budget * self.share(WIN_BACK),
        }
        if acquisition > 0:
            for name in channels:
                changes[f"acquisition.channels.{name}.budget_share"] = (
                    self.share(name) / acquisition
                )
        return changes

    def to_dict(self) -> dict[str, Any]:
        """The decision as plain values (JSON-ready)."""
        return {
            "shares": {k: float(v) for k, v in self.shares.items()},
            "reports": list(self.reports),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TeamDecision:
        """A decision from :meth:`to_dict`'s values."""
        return cls(dict(data.get("shares", {})), tuple(data.get("reports", ())))


@dataclass(frozen=True)
class RoundResult:
    """What a round did to a team's market, as the page shows it and the database keeps it.

    Money is in currency of the game's market; the score and the equity are valued at the
    end of the round.

    Attributes:
        team: The team.
        round: The round (1 = the first).
        spend: What each lever spent in the round (at most its share of the budget).
        report_cost: The price of the reports bought this round.
        profit: The round's profit (undiscounted), the reports' price taken off.
        acquired: New customers in the round.
        active_customers: Customers at the end of the round.
        monthly_retention: Mean monthly retention rate in the round (a share).
        customer_equity: The value still to come from the team's customers (run measure
            ``customer_equity``).
        value_of_customer_base: The score: discounted profit to date plus the discounted
            customer equity, less the discounted price of every report bought so far.
        lifetime_pareto_share_top20: Share of the lifetime CLV of the customers acquired
            so far held by the top 20% of them.
        cohorts: By cohort (``year 1`` .. and ``initial_base``), ``customers`` and
            ``mean_lifetime_clv`` (currency per customer).
        reports: Each report bought this round: its table, as ``{"index", "columns",
            "data"}`` (``pandas.DataFrame.to_dict(orient="split")``).
    """

    team: str
    round: int
    spend: Mapping[str, float]
    report_cost: float
    profit: float
    acquired: int
    active_customers: int
    monthly_retention: float
    customer_equity: float
    value_of_customer_base: float
    lifetime_pareto_share_top20: float
    cohorts: Mapping[str, Mapping[str, float]]
    reports: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain values, NaN as None (JSON-ready)."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundResult:
        """A result from :meth:`to_dict`'s values (None read back as NaN where a number is
        expected)."""
        values = dict(data)
        for key in ("monthly_retention", "lifetime_pareto_share_top20"):
            if values.get(key) is None:
                values[key] = math.nan
        values["cohorts"] = {
            name: {k: math.nan if v is None else v for k, v in row.items()}
            for name, row in values.get("cohorts", {}).items()
        }
        return cls(**values)

    def report_table(self, name: str) -> pd.DataFrame:
        """A bought report as a table (KeyError when it was not bought this round)."""
        return pd.DataFrame(**self.reports[name])


def _plain(value: Any) -> Any:
    """``value`` with NaN and numpy numbers made JSON's null and plain numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def play_round(settings: GameSettings, team: str, decisions: Sequence[TeamDecision]) -> RoundResult:
    """The result of a team's latest round: its market replayed through every round so far
    (``decisions``, one per round, the last the round being played) and valued.

    Raises:
        GameError: A decision with problems, or more decisions than the game has rounds.
    """
    played = len(decisions)
    if not 1 <= played <= settings.rounds:
        raise GameError(f"A game of {settings.rounds} rounds cannot play round {played}", "round")
    for decision in decisions:
        decision.check(settings)
    model, spend = play_market(settings, decisions)
    series = model.monthly_series().iloc[-MONTHS_PER_ROUND:]
    summary = model.summary()
    spend[RETENTION_OFFERS] = float(series["churn_reduction_spend"].sum())
    spend[WIN_BACK] = float(series["win_back_spend"].sum())
    discount = 1.0 + model.monthly_discount_rate
    reports_pv = sum(
        len(d.reports) * settings.report_price * discount ** -(MONTHS_PER_ROUND * r)
        for r, d in enumerate(decisions, start=1)
    )
    report_cost = len(decisions[-1].reports) * settings.report_price
    customers = model.customer_frame()
    people = int(model.customers.people)
    cohorts = economics.segment_table(customers, "cohort", people)
    return RoundResult(
        team=team,
        round=played,
        spend=spend,
        report_cost=report_cost,
        profit=float(series["profit"].sum()) - report_cost,
        acquired=int(series["acquired"].sum()),
        active_customers=int(summary["active_customers"]),
        monthly_retention=float(series["retention_rate"].mean()),
        customer_equity=float(summary[EQUITY]),
        value_of_customer_base=float(summary[SCORE]) - reports_pv,
        lifetime_pareto_share_top20=float(summary["lifetime_pareto_share_top20"]),
        cohorts={
            str(name): {
                "customers": float(row["customers"]),
                "mean_lifetime_clv": float(row["mean_lifetime_clv"]),
            }
            for name, row in cohorts.iterrows()
        },
        reports={
            name: _plain(_report(name, customers, people).to_dict(orient="split"))
            for name in decisions[-1].reports
        },
    )


def play_market(
    settings: GameSettings, decisions: Sequence[TeamDecision]
) -> tuple[CRMModel, dict[str, float]]:
    """A team's market after the rounds of ``decisions`` (one per round, in order): run from
    month 0, each decision applied at the start of its year (``CRMModel.revise``); and what
    each channel spent in the last of those rounds, currency, by channel."""
    model = CRMModel(settings.market(), rng=settings.seed, customers=settings.customers)
    channels = model.funnel.channels
    spent = np.zeros(len(channels))
    for decision in decisions:
        model.revise(decision.changes(settings))
        before = model.funnel.totals["spend"][: len(channels)].copy()
        model.run(MONTHS_PER_ROUND)
        spent = model.funnel.totals["spend"][: len(channels)] - before
    return model, {c.name: float(spent[c.code]) for c in channels}


def _report(name: str, customers: pd.DataFrame, people: int) -> pd.DataFrame:
    """Report ``name`` on a team's customers (``customer_frame``), labelled with units."""
    if name == "value":
        return segment_profile(customers, "value")
    table = economics.segment_table(customers, name, people)[list(REPORT_COLUMNS)]
    for column in table.columns:
        table[column] = table[column] * segment_measure(column).scale
    table = table.rename(
        columns=lambda m: f"{segment_measure(m).label} ({segment_measure(m).unit})"
    )
    return table.round(2)


def leaderboard(results: Sequence[RoundResult]) -> pd.DataFrame:
    """The teams of one round ranked by the score, best first (ties share a rank, by name).

    Columns: rank, team, the score, customer equity, the round's profit, customers at the
    end, labelled with their units.
    """
    score, equity = run_measure(SCORE), run_measure(EQUITY)
    frame = pd.DataFrame(
        {
            "team": [r.team for r in results],
            "score": [r.value_of_customer_base for r in results],
            "equity": [r.customer_equity for r in results],
            "profit": [r.profit for r in results],
            "active": [r.active_customers for r in results],
        }
    )
    frame = frame.sort_values(["score", "team"], ascending=[False, True], kind="stable")
    frame.insert(0, "rank", frame["score"].rank(ascending=False, method="min").astype(int))
    return frame.rename(
        columns={
            "rank": "Rank",
            "team": "Team",
            "score": f"{score.label}, net of reports ({score.unit})",
            "equity": f"{equity.label} ({equity.unit})",
            "profit": "Profit of the round, net of reports (currency)",
            "active": "Active customers at the end (customers)",
        }
    ).reset_index(drop=True)


def team_results(settings: GameSettings, results: Sequence[RoundResult]) -> pd.DataFrame:
    """One team's rounds, one row each: what each lever spent, the reports' price, profit,
    customers won and kept, retention, customer equity and the score, labelled with units."""
    retention = monthly_measure("retention_rate")
    score, equity = run_measure(SCORE), run_measure(EQUITY)
    rows = []
    for r in sorted(results, key=lambda r: r.round):
        row: dict[str, Any] = {"Round": r.round}
        for lever in settings.levers():
            row[f"{lever.label}: spent (currency)"] = r.spend.get(lever.name, 0.0)
        row["Reports bought (currency)"] = r.report_cost
        row["Profit of the round, net of reports (currency)"] = r.profit
        row["New customers"] = r.acquired
        row["Active customers at the end"] = r.active_customers
        row[f"{retention.label}, monthly mean ({retention.unit})"] = (
            r.monthly_retention * retention.scale
        )
        row[f"{equity.label} ({equity.unit})"] = r.customer_equity
        row[f"{score.label}, net of reports ({score.unit})"] = r.value_of_customer_base
        rows.append(row)
    return pd.DataFrame(rows).set_index("Round") if rows else pd.DataFrame()


@dataclass(frozen=True)
class Debrief:
    """What drove the ranking, at the end of a game.

    Attributes:
        ranking: Per team, best first: rank, score, equity, what each lever spent over the
            game, the reports' price, customers acquired.
        heterogeneity: Per team, the top 20%'s share of the lifetime CLV of the customers
            it acquired.
        early_late: Per team, customers acquired in the first round and later, and the
            mean lifetime CLV of each.
        reports: Per report, the teams that bought it at least once, the mean score of
            those teams and of the others, and what was spent on it.
        sentences: The findings in plain words.
    """

    ranking: pd.DataFrame
    heterogeneity: pd.DataFrame
    early_late: pd.DataFrame
    reports: pd.DataFrame
    sentences: list[str]


def debrief(
    settings: GameSettings,
    results: Sequence[RoundResult],
    decisions: Mapping[str, Sequence[TeamDecision]],
) -> Debrief:
    """What drove the ranking of the last round played (:class:`Debrief`).

    Args:
        settings: The game's settings.
        results: Every team's results, all rounds.
        decisions: Each team's decisions, by round in order.
    """
    last = max((r.round for r in results), default=0)
    final = {r.team: r for r in results if r.round == last}
    board = leaderboard(list(final.values()))
    teams = list(board["Team"])
    levers = settings.levers()
    ranking = board.iloc[:, :3].copy()
    ranking.columns = ["Rank", "Team", "Score (currency)"]
    for lever in levers:
        ranking[f"{lever.label}: spent (currency)"] = [
            sum(r.spend.get(lever.name, 0.0) for r in results if r.team == t) for t in teams
        ]
    ranking["Reports bought (currency)"] = [
        sum(r.report_cost for r in results if r.team == t) for t in teams
    ]
    ranking["Customers acquired"] = [sum(r.acquired for r in results if r.team == t) for t in teams]
    heterogeneity = pd.DataFrame(
        {
            "Team": teams,
            "Top 20%'s share of lifetime CLV (%)": [
                100 * final[t].lifetime_pareto_share_top20 for t in teams
            ],
        }
    )
    early_late = pd.DataFrame([_early_late(final[t]) for t in teams], index=teams)
    early_late.index.name = "Team"
    report_rows = []
    for name, report in REPORTS.items():
        buyers = [t for t in teams if any(name in d.reports for d in decisions.get(t, ()))]
        others = [t for t in teams if t not in buyers]
        report_rows.append(
            {
                "Report": report.label,
                "Teams that bought it": len(buyers),
                "Their mean score (currency)": _mean_score(final, buyers),
                "Others' mean score (currency)": _mean_score(final, others),
                "Spent on it (currency)": settings.report_price
                * sum(name in d.reports for t in teams for d in decisions.get(t, ())),
            }
        )
    reports = pd.DataFrame(report_rows).set_index("Report")
    return Debrief(
        ranking=ranking,
        heterogeneity=heterogeneity,
        early_late=early_late,
        reports=reports,
        sentences=_findings(ranking, heterogeneity, early_late, reports, last),
    )


def _early_late(result: RoundResult) -> dict[str, float]:
    cohorts = {k: v for k, v in result.cohorts.items() if k != INITIAL_BASE}
    first = cohorts.get(economics.cohort_name(0), {"customers": 0.0, "mean_lifetime_clv": math.nan})
    later = [v for k, v in cohorts.items() if k != economics.cohort_name(0) and v["customers"]]
    later_customers = sum(v["customers"] for v in later)
    later_value = (
        sum(v["customers"] * v["mean_lifetime_clv"] for v in later) / later_customers
        if later_customers
        else math.nan
    )
    return {
        "Acquired in round 1": first["customers"],
        "Their mean lifetime CLV (currency)": first["mean_lifetime_clv"],
        "Acquired later": later_customers,
        "Later ones' mean lifetime CLV (currency)": later_value,
    }


def _mean_score(final: Mapping[str, RoundResult], teams: Sequence[str]) -> float:
    return float(np.mean([final[t].value_of_customer_base for t in teams])) if teams else math.nan


def _findings(
    ranking: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    early_late: pd.DataFrame,
    reports: pd.DataFrame,
    rounds: int,
) -> list[str]:
    if ranking.empty:
        return ["No round has been played yet."]
    sentences = []
    top, bottom = ranking.iloc[0], ranking.iloc[-1]
    if len(ranking) > 1:
        gap = top["Score (currency)"] - bottom["Score (currency)"]
        sentences.append(
            f"After {rounds} round(s) {top['Team']} leads with a customer base worth "
            f"{top['Score (currency)']:,.0f}, {gap:,.0f} more than {bottom['Team']}: every "
            "team met the same people with the same luck, so the gap is the decisions'."
        )
    shares = heterogeneity.iloc[:, 1].dropna()
    if not shares.empty:
        low, high = f"{shares.min():.0f}", f"{shares.max():.0f}"
        held = f"{low}%" if low == high else f"{low}-{high}%"
        sentences.append(
            f"Customers are unequal: the top 20% of the customers a team acquired hold "
            f"{held} of their lifetime value, so whom a team wins and keeps matters more "
            "than how many."
        )
    early = early_late["Their mean lifetime CLV (currency)"]
    late = early_late["Later ones' mean lifetime CLV (currency)"]
    both = early.notna() & late.notna()
    if both.any():
        higher = int((early[both] > late[both]).sum())
        sentences.append(
            f"Early against late customers: for {higher} of {int(both.sum())} team(s) the "
            "customers won in round 1 are worth more each than those won later (the best "
            "prospects are found first, and early customers have longer to climb the "
            "loyalty ladder)."
        )
    bought = reports[reports["Teams that bought it"] > 0]
    if bought.empty:
        sentences.append("No team bought a report.")
    for label, row in bought.iterrows():
        others = row["Others' mean score (currency)"]
        if math.isnan(others):
            verdict = "every team bought it, so there is no one to compare with"
        else:
            difference = row["Their mean score (currency)"] - others
            verdict = (
                f"their mean score is {difference:+,.0f} against the teams that did not "
                f"(having spent {row['Spent on it (currency)']:,.0f} on it in all); with few "
                "teams this is a comparison, not proof that the report paid"
            )
        sentences.append(
            f"{label}: {int(row['Teams that bought it'])} team(s) bought it; {verdict}."
        )
    return sentences

"""Watch one market live: a run month by month in Mesa's own visualisation (``SolaraViz``).

The page of ``crmsim app`` called *Watch one market* shows one seeded run of a
shipped scenario as it happens, with Mesa's controls (play, pause, step,
reset, the speed of play and how often the figures are redrawn): the funnel
stages, the loyalty ladder's rungs, the retention rate and defections by
reason, and, beside them, the month's numbers (active customers, suspects
left, retention and customer equity, the value of the customers the firm
has). Mesa users meet the interface they know; the figures are the lab's own
(``crmsim.report.run_figures``).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import solara
from mesa import Model
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from crmsim.config.scenario import load_scenario, shipped_scenarios_dir
from crmsim.engine.model import CRMModel
from crmsim.measures import monthly_measure
from crmsim.report.run_figures import plot_run_dashboard

LIVE_MONTHS = 240
"""Months a live market can run before it stops (its rows for entrants are kept this long)."""


class LiveMarket(Model):
    """A market to watch month by month, as Mesa's visualisation drives a model.

    Mesa's page makes the model from its controls and steps it; this wraps one
    :class:`CRMModel` of a shipped scenario (``market``), so Mesa's own notion of
    a scenario and the lab's stay apart. It stops (``running`` becomes False, and
    Mesa's play button with it) after ``months`` months.

    Args:
        what_if: A shipped scenario's name.
        customers: People in the market.
        rng: The run's seed (a whole number, or its text from the page).
        months: Months before it stops.

    Raises:
        ValueError: A seed that is not a whole number >= 0.
    """

    def __init__(
        self,
        what_if: str = "baseline",
        customers: int = 5_000,
        rng: int | str = 42,
        months: int = LIVE_MONTHS,
    ) -> None:
        seed = int(rng) if str(rng).strip().isdigit() else None
        if seed is None:
            raise ValueError(f"the seed must be a whole number >= 0; got {rng!r}")
        super().__init__(rng=seed)
        scenario = load_scenario(what_if).with_changes({"simulation.months": months})
        self.market = CRMModel(scenario, rng=seed, customers=customers)
        self.months_to_run = months

    def step(self) -> None:
        """One month of the market, then stop at the last."""
        if self.market.month < self.months_to_run:
            self.market.step()
        self.running = self.market.month < self.months_to_run


def live_parameters() -> dict[str, dict[str, Any]]:
    """The controls Mesa's page shows to make a new market (``model_params``)."""
    names = sorted(path.stem for path in shipped_scenarios_dir().glob("*.yaml"))
    return {
        "what_if": {"type": "Select", "value": "baseline", "values": names, "label": "Scenario"},
        "customers": {
            "type": "SliderInt",
            "value": 5_000,
            "min": 1_000,
            "max": 50_000,
            "step": 1_000,
            "label": "People in the market",
        },
        "rng": {"type": "InputText", "value": 42, "label": "Seed"},
    }


def month_numbers(model: CRMModel) -> dict[str, str]:
    """The month's numbers as the live page shows them, by label (empty before month 1)."""
    series = model.monthly_series()
    if series.empty:
        return {}
    last = series.iloc[-1]
    shown = {"Months run": f"{model.month}"}
    for name in ("active", "suspect", "retention_rate", "customer_equity"):
        measure = monthly_measure(name)
        shown[f"{measure.label} ({measure.unit})"] = measure.format(float(last[name]))
    return shown


@solara.component
def MonthNumbers(model: LiveMarket) -> None:
    """The month's numbers, redrawn with the figures."""
    update_counter.get()
    numbers = month_numbers(model.market)
    if not numbers:
        solara.Markdown("Press **step** or **play** to run the market month by month.")
        return
    solara.Markdown(
        "\n".join(f"- **{label}**: {value}" for label, value in numbers.items()),
        style={"font-size": "1.05em"},
    )


@solara.component
def Dashboard(model: LiveMarket) -> None:
    """Funnel stages, the ladder, retention and defections by reason, month by month."""
    update_counter.get()
    market = model.market
    series = market.monthly_series()
    if series.empty:
        return
    figure = plot_run_dashboard(series, title=f"{market.scenario.name}, month {market.month}")
    plt.close(figure)  # drawn into the page only
    solara.FigureMatplotlib(figure, format="png", dependencies=[update_counter.value])


@solara.component
def LivePage() -> None:
    """The live view of one market."""
    model = solara.use_memo(LiveMarket, dependencies=[])
    SolaraViz(
        model,
        components=[(MonthNumbers, 0), (Dashboard, 0)],
        model_params=live_parameters(),
        name="Watch one market",
        play_interval=20,
        render_interval=12,  # a year between redraws: drawing, not the market, sets the pace
    )

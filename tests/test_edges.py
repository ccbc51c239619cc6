"""Edge sizes: a market of one or two people, a single month, every probability 0 or 1,
one replication, names that matplotlib would read as mathematics.

Each case either runs to the end with honest results (NaN where a measure is
undefined, a note where an interval is missing, a panel that says why it is empty)
or stops with one message that names the setting and what is allowed. Any warning
fails these tests: nothing may divide by zero or take the mean of nothing on the way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from crmsim import CRMModel, ScenarioError, economics, load_scenario, report, study
from crmsim.cli import main
from crmsim.config.fields import Field
from crmsim.config.scenario import Scenario, shipped_scenarios_dir
from crmsim.config.schema import CHANNEL_FIELDS, SCHEMA
from crmsim.measures import STUDY_MEASURES, format_interval
from crmsim.report.style import literal, pretty_name
from crmsim.strategies import COMPETITOR_REGISTRY, REGISTRY
from crmsim.study.stats import interval_note

matplotlib.use("Agg")

pytestmark = pytest.mark.filterwarnings("error")

SHIPPED = sorted(p.stem for p in shipped_scenarios_dir().glob("*.yaml"))
ONE_REPLICATION = "1 replication: no confidence interval (needs at least 2)"
UNDEFINED = "undefined in every run (NaN)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def every_probability(scenario: Scenario, value: float, name: str | None = None) -> Scenario:
    """The scenario with every setting of kind probability set to ``value``: the schema's
    (churn, exit, promotion, return...), every channel's and every running strategy's."""
    changes: dict[str, Any] = {
        f"{section}.{key}": value
        for section, fields in SCHEMA.items()
        for key, spec in fields.items()
        if isinstance(spec, Field) and spec.kind == "probability"
    }
    changes["acquisition.channels"] = {
        channel: {
            key: value if CHANNEL_FIELDS[key].kind == "probability" else setting
            for key, setting in settings.items()
        }
        for channel, settings in scenario.channels().items()
    }
    for section, registry in (
        ("strategies", REGISTRY),
        ("competitor_strategies", COMPETITOR_REGISTRY),
    ):
        for strategy in scenario.strategies(section):
            for key, spec in registry[strategy].parameters.items():
                if spec.kind == "probability":
                    changes[f"{section}.{strategy}.{key}"] = value
    return scenario.with_changes(changes, name=name)


BASELINE = load_scenario("baseline")
NOBODY_BUYS = every_probability(BASELINE, 0.0, "nobody_buys").with_changes(
    {"market.initial_active_share": 0.0}
)
"""Nobody is a customer at the start and nobody can become one."""
ONE_LOYAL = every_probability(BASELINE, 0.0, "one_loyal").with_changes(
    {"market.initial_active_share": 1.0}
)
"""Everyone is a customer at the start and nobody can leave."""
ALL_LEAVE = every_probability(BASELINE, 1.0, "all_leave").with_changes(
    {"market.initial_active_share": 1.0, "market.warm_start_months": 0}
)
"""Everyone is a customer at the start and every chance of leaving is 1 (with no warm
start, which would empty the base before month 0)."""


def _run(scenario: Scenario | str, customers: int, months: int, seed: int = 1) -> CRMModel:
    return CRMModel(scenario, rng=seed, customers=customers).run(months)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _check_consistent(model: CRMModel, customers: int, months: int) -> dict[str, Any]:
    """What holds for any run, however small: the outputs agree with each other."""
    summary = model.summary()
    series = model.monthly_series()
    frame = model.customer_frame()
    assert summary["months"] == months == len(series)
    assert list(series["month"]) == list(range(months))
    assert summary["market_size"] == customers
    stages = series[["suspect", "prospect", "active", "defected"]].sum(axis=1)
    assert (stages == customers).all()
    assert len(frame) == summary["customers_ever"]
    assert summary["active_customers"] == int(series["active"].iloc[-1])
    for name in ("retention_rate", "churn_rate"):
        value = summary[name]
        assert _is_nan(value) or 0.0 <= value <= 1.0, (name, value)
    if summary["customers_ever"] == 0:
        for name in (
            "mean_realised_value",
            "median_realised_value",
            "realised_pareto_share_top20",
            "mean_satisfaction",
        ):
            assert _is_nan(summary[name]), name
        assert summary["customer_equity"] == 0.0
    if summary["customers_ever"] == int((frame["source"] == "initial_base").sum()):
        # Nobody acquired during the run: their lifetime CLV is a mean over nobody.
        for name in ("mean_lifetime_clv", "lifetime_pareto_share_top20"):
            assert _is_nan(summary[name]), name
        assert summary["lifetime_clv_per_person"] == 0.0
    if series["active_at_start"].sum() == 0:
        assert _is_nan(summary["retention_rate"]) and _is_nan(summary["churn_rate"])
    return summary


# ----------------------------------------------------------------- refused sizes
ALLOWED = {"months": "[1, 1200]", "customers": "[1, 10_000_000]"}
"""The ranges the scenario schema allows for the sizes of a run."""


@pytest.mark.parametrize("customers", [0, -1])
def test_a_market_of_nobody_is_refused_naming_the_setting(customers: int) -> None:
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "simulation.customers: must be a whole number in "
            f"{ALLOWED['customers']}; got {customers}"
        ),
    ):
        CRMModel("baseline", rng=1, customers=customers)


@pytest.mark.parametrize("months", [0, -3, 1.5])
def test_running_no_month_is_refused_naming_the_setting(months: Any) -> None:
    model = CRMModel("baseline", rng=1, customers=5)
    message = re.escape(
        f"months (simulation.months): must be a whole number in {ALLOWED['months']}; got {months}"
    )
    with pytest.raises(ValueError, match=message):
        model.run(months)
    assert model.month == 0
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            f"simulation.months: must be a whole number in {ALLOWED['months']}; got {months}"
        ),
    ):
        BASELINE.with_changes({"simulation.months": months})


@pytest.mark.parametrize(("option", "value"), [("months", 0), ("customers", 0), ("months", -1)])
def test_a_study_refuses_impossible_sizes_before_it_runs(option: str, value: int) -> None:
    message = re.escape(
        f"simulation.{option}: must be a whole number in {ALLOWED[option]}; got {value}"
    )
    with pytest.raises(ScenarioError, match=message):
        study.study_runs(["baseline"], replications=1, **{option: value})
    with pytest.raises(ScenarioError, match=message):
        study.compare(["baseline"], replications=1, **{option: value})


def test_a_study_refuses_no_replication() -> None:
    with pytest.raises(study.StudyError, match="replications must be at least 1; got 0"):
        study.compare(["baseline"], replications=0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "baseline", "--months", "0"],
            "argument --months: must be a whole number in [1, 1200]; got 0",
        ),
        (
            ["run", "baseline", "--customers", "0"],
            "argument --customers: must be a whole number in [1, 10_000_000]; got 0",
        ),
        (
            ["compare", "baseline", "--customers", "0"],
            "argument --customers: must be a whole number in [1, 10_000_000]; got 0",
        ),
        (
            ["compare", "baseline", "--replications", "0"],
            "argument --replications: must be a whole number in [1, 10_000]; got 0",
        ),
    ],
)
def test_the_command_refuses_the_same_sizes_with_status_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_model_not_yet_run_has_an_honest_summary() -> None:
    model = CRMModel("baseline", rng=1, customers=50)
    summary = model.summary()
    assert summary["months"] == 0
    assert _is_nan(summary["reacquisition_rate"])
    assert _is_nan(summary["retention_rate"]) and _is_nan(summary["mean_monthly_retention"])
    assert summary["active_customers"] == 10  # the initial 20% of 50 people
    assert summary["customer_equity"] > 0
    with pytest.raises(ValueError, match="needs at least one simulated month"):
        report.plot_lifecycle(model.monthly_series())


# ----------------------------------------------------------------- tiny runs
@pytest.mark.parametrize(("customers", "months"), [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_a_tiny_baseline_runs_with_honest_results(customers: int, months: int) -> None:
    _check_consistent(_run("baseline", customers, months), customers, months)


@pytest.mark.parametrize("months", [1, 2])
def test_nobody_buys(months: int) -> None:
    model = _run(NOBODY_BUYS, 1, months)
    summary = _check_consistent(model, 1, months)
    assert summary["customers_ever"] == 0 and summary["active_customers"] == 0
    for name in (
        "mean_realised_value",
        "retention_rate",
        "churn_rate",
        "mean_monthly_retention",
        "cost_per_acquisition",
        "cost_per_retained_customer_year",
        "acquisition_to_retention_cost_ratio",
        "share_of_wallet",
    ):
        assert _is_nan(summary[name]), name
    # Each channel pays for the contacts it makes (at most its share of the budget, 400
    # per 1,000 people: 0.4 for one person): the one suspect, at its cost per contact.
    budget = BASELINE.params.acquisition.budget_per_month_per_1000_people / 1000
    per_month = sum(
        min(budget * spec["budget_share"], 1 * spec["cost_per_contact"])
        for spec in BASELINE.channels().values()
    )
    assert summary["total_revenue"] == 0.0
    assert summary["total_profit"] == pytest.approx(-per_month * months)
    assert model.customer_frame().empty
    assert list(model.customer_frame().columns)[-1] == "realised_clv"


def test_one_loyal_customer_stays() -> None:
    model = _run(ONE_LOYAL, 1, 3)
    summary = _check_consistent(model, 1, 3)
    assert summary["customers_ever"] == summary["active_customers"] == 1
    assert summary["retention_rate"] == 1.0 and summary["churn_rate"] == 0.0
    assert (
        math.isfinite(summary["mean_realised_value"])
        and summary["mean_realised_value"] == summary["median_realised_value"]
    )
    # One customer is the whole top 20%; a share of a total that is not positive is undefined.
    if summary["mean_realised_value"] > 0:
        assert summary["realised_pareto_share_top20"] == 1.0
    else:
        assert _is_nan(summary["realised_pareto_share_top20"])
    assert len(model.customer_frame()) == 1


@pytest.mark.parametrize("customers", [1, 2])
def test_everyone_leaves_when_every_chance_is_one(customers: int) -> None:
    model = _run(ALL_LEAVE, customers, 2)
    summary = _check_consistent(model, customers, 2)
    series = model.monthly_series()
    assert series["defected_this_month"].iloc[0] == customers
    assert summary["retention_rate"] == 0.0 and summary["churn_rate"] == 1.0
    assert sum(summary["defections_by_reason"].values()) == series["defected_this_month"].sum()
    assert _is_nan(series["retention_rate"].iloc[1])  # nobody was there at its start


@pytest.mark.parametrize("value", [0.0, 1.0])
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_runs_with_every_probability_at_an_edge(
    name: str, value: float
) -> None:
    scenario = every_probability(load_scenario(name), value)
    for customers, months in ((1, 1), (2, 3)):
        _check_consistent(_run(scenario, customers, months), customers, months)


# ----------------------------------------------------------------- figures of tiny runs
EDGE_RUNS: dict[str, Callable[[], CRMModel]] = {
    "1 person, 1 month": lambda: _run("baseline", 1, 1),
    "nobody buys, 2 months": lambda: _run(NOBODY_BUYS, 1, 2),
    "every probability 0, 1 month": lambda: _run(every_probability(BASELINE, 0.0), 200, 1),
    "one loyal customer, 3 months": lambda: _run(ONE_LOYAL, 1, 3),
    "everyone leaves, 2 months": lambda: _run(ALL_LEAVE, 2, 2),
}


def _drawn_texts(fig: Figure) -> list[str]:
    """Every text of a drawn figure as matplotlib shows it (with usetex off).

    Fails if any of them would be read as mathematics: an even, non-zero number of
    unescaped ``$``; an escaped ``\\$`` is drawn as ``$``.
    """
    fig.canvas.draw()
    shown = []
    for artist in fig.findobj(Text):
        text = artist.get_text()
        unescaped = text.count("$") - text.count(r"\$")
        assert not (unescaped and unescaped % 2 == 0), f"{text!r} would be drawn as math"
        shown.append(text.replace(r"\$", "$"))
    return shown


def _empty_panels(fig: Figure) -> list[str]:
    """The message of every panel that draws no data."""
    return [
        " ".join(t.get_text() for t in ax.texts)
        for ax in fig.axes
        if ax.get_visible() and not ax.has_data() and ax.texts
    ]


def _titled(fig: Figure) -> None:
    title = fig.get_suptitle()
    for ax in fig.axes:
        if ax.get_visible() and ax.get_label() != "<colorbar>":
            assert ax.get_title() or title, "a panel has no title"


def _run_figures(model: CRMModel) -> dict[str, Figure]:
    series = model.monthly_series()
    clv = model.customer_frame()["realised_clv"]
    cohorts = economics.cohort_survival_table(model.customers, model.month, every=1)
    figures = {
        "plot_lifecycle": report.plot_lifecycle(series),
        "plot_ladder": report.plot_ladder(series),
        "plot_defections_by_reason": report.plot_defections_by_reason(series),
        "plot_retention": report.plot_retention(series),
        "plot_satisfaction": report.plot_satisfaction(series),
        "plot_cohort_survival": report.plot_cohort_survival(cohorts),
        "plot_clv_distribution": report.plot_clv_distribution(clv),
        "plot_run_dashboard": report.plot_run_dashboard(series, clv, title="tiny"),
        "plot_whale_curves": report.plot_whale_curves({"tiny": clv}),
        "plot_return_chances": report.plot_return_chances(model),
    }
    followed = [model.customer(i) for i in model.followed]
    figures["plot_customer_history"] = report.plot_customer_history(followed[0])
    # The lessons' figures: a programme panel without a programme, a one-row sheet, and
    # realised against lifetime CLV of the smallest market for one month.
    figures["plot_programme_holdout"] = report.plot_programme_holdout(series)
    sheet = report.clv_spreadsheet(1.0, 0.5, 0.01, months=1)
    figures["plot_clv_build_up"] = report.plot_clv_build_up(sheet)
    horizons = report.clv_by_horizon(model.scenario, [1], seed=1, customers=1)
    figures["plot_clv_by_horizon"] = report.plot_clv_by_horizon(horizons)
    # Both sides of satisfaction, over the first month of the same market.
    track = report.run_tracking_satisfaction(CRMModel(model.scenario, rng=1), 1)
    figures["plot_value_and_expectation"] = report.plot_value_and_expectation(track)
    # The funnel of the tiny run, a review of its few customers, and the books of one run
    # of one person for one month (no interval, perhaps nobody to serve or to court).
    figures["plot_funnel_costs"] = report.plot_funnel_costs(model.summary())
    ranking = report.review_ranking(model, min_tenure_months=0, bottom_share=0.5)
    figures["plot_review_ranking"] = report.plot_review_ranking(ranking)
    books = report.firm_books(model.scenario, seed=1, replications=1, customers=1, months=1)
    figures["plot_profit_bridge"] = report.plot_profit_bridge(books, books, "the same $1 run")
    figures["plot_competitor_attention"] = report.plot_competitor_attention(
        {"a $5 rival": {"the firm": books}}
    )
    return figures


@pytest.mark.parametrize("edge", list(EDGE_RUNS))
def test_every_run_figure_draws_a_tiny_run(edge: str) -> None:
    model = EDGE_RUNS[edge]()
    for name, fig in _run_figures(model).items():
        _drawn_texts(fig)  # renders, and no text turns into mathematics
        _titled(fig)
        if model.summary()["customers_ever"] == 0 and name in (
            "plot_clv_distribution",
            "plot_run_dashboard",
        ):
            messages = _empty_panels(fig)
            assert sum("Nobody bought in this run" in m for m in messages) == 2, (name, messages)


def test_panels_say_why_a_run_without_customers_has_nothing_to_show() -> None:
    model = _run(NOBODY_BUYS, 1, 2)
    series = model.monthly_series()
    cohorts = economics.cohort_survival_table(model.customers, model.month, every=1)
    expected = {
        report.plot_retention(series): ["No customers in any month"] * 2,
        report.plot_ladder(series): ["No active customers in any month"],
        report.plot_satisfaction(series): ["No active customers in any month"],
        report.plot_cohort_survival(cohorts): ["No cohort to follow"],
        report.plot_clv_distribution(model.customer_frame()["realised_clv"]): [
            "Nobody bought in this run"
        ]
        * 2,
        report.plot_value_and_expectation(
            report.run_tracking_satisfaction(CRMModel(NOBODY_BUYS, rng=1, customers=1), 2)
        ): ["No month had customers"] * 2,
    }
    for fig, starts in expected.items():
        messages = _empty_panels(fig)
        assert len(messages) == len(starts)
        for message, start in zip(messages, starts, strict=True):
            assert message.startswith(start), message
        _titled(fig)
    defections = report.plot_defections_by_reason(series)
    assert _empty_panels(defections)[0] == "Nobody left in the months simulated."


def test_a_single_month_is_drawn_as_bars_and_points() -> None:
    model = _run("baseline", 300, 1)
    series = model.monthly_series()
    lifecycle = report.plot_lifecycle(series).axes[0]
    # The 300 people of month 0 and the month's entrants (0.5% of 300, rounded).
    assert sum(p.get_height() for p in lifecycle.patches) == pytest.approx(302)
    assert lifecycle.get_xlim() == (-1.0, 1.0)
    retention = report.plot_retention(series).axes[0]
    assert [line.get_marker() for line in retention.lines] == ["o", "o"]
    assert retention.lines[0].get_ydata()[0] == pytest.approx(series["retention_rate"][0] * 100)


def test_no_finite_clv_is_an_empty_panel_not_an_error() -> None:
    for values, start in (
        ([], "Nobody bought in this run"),
        ([np.nan, np.inf], "None of the 2 CLV values is a finite number"),
    ):
        fig = report.plot_clv_distribution(values)
        messages = _empty_panels(fig)
        assert len(messages) == 2 and all(m.startswith(start) for m in messages)
        assert [ax.get_title() for ax in fig.axes] == [
            "Realised customer lifetime value",
            "Who brings the profit (Pareto curve)",
        ]


# ----------------------------------------------------------------- one replication
@pytest.fixture(scope="module")
def one_replication() -> study.Comparison:
    cheaper = BASELINE.with_changes({"firm.price_index": 0.9}, name="cheaper")
    return study.compare([BASELINE, cheaper], replications=1, months=6, customers=300)


def test_one_replication_gives_means_without_intervals(one_replication) -> None:
    table = one_replication.table
    assert set(table["replications"]) == {1}
    assert table["ci_low"].isna().all() and table["ci_high"].isna().all()
    assert table["standard_error"].isna().all()
    defined = table[table["mean"].notna()]
    assert set(defined["measure"]) >= {"mean_realised_value", "customer_equity", "active_customers"}
    assert (defined["note"] == ONE_REPLICATION).all()
    assert (table.loc[table["mean"].isna(), "note"] == UNDEFINED).all()
    runs = one_replication.runs.set_index("scenario")
    for row in defined.itertuples():
        assert row.mean == pytest.approx(runs.loc[row.scenario, row.measure])
    differences = one_replication.differences
    assert differences["ci_low"].isna().all() and differences["unpaired_ci_low"].isna().all()
    assert set(differences["note"]) <= {ONE_REPLICATION, UNDEFINED}
    assert "[no CI]" in one_replication.wide().loc["baseline", "mean_realised_value"]


def test_study_figures_say_there_is_no_interval(one_replication) -> None:
    comparison = report.plot_comparison(one_replication)
    assert "over 1 replication (no confidence interval: it needs at least 2)" in (
        comparison.get_suptitle()
    )
    assert "one run per scenario: no band" in comparison.axes[-1].get_title()
    differences = report.plot_paired_differences(one_replication)
    assert "1 paired replication (no confidence interval" in differences.get_suptitle()
    segments = report.plot_segment_comparison(one_replication, "channel")
    assert "1 run per scenario (no confidence interval" in segments.get_suptitle()
    steps = report.plot_steps(one_replication, {"cheaper": 0.9, "baseline": 1.0}, "price (x)")
    assert "1 paired replication; no confidence interval" in steps.get_suptitle()
    for fig in (comparison, differences, segments, steps):
        _drawn_texts(fig)
        _titled(fig)


def test_a_sweep_and_a_sensitivity_of_one_replication() -> None:
    spec = study.SweepSpec(
        name="margin",
        scenarios=["baseline"],
        parameters={"firm.gross_margin": [0.3, 0.4], "firm.price_index": [0.9, 1.0]},
        replications=1,
        months=3,
        customers=200,
    )
    result = study.sweep(spec, workers=1, progress=False)
    assert result.table["ci_low"].isna().all()
    assert set(result.table["note"]) <= {ONE_REPLICATION, UNDEFINED}
    sweep_figure = report.plot_sweep(result)
    assert "mean of 1 run per point (no confidence interval" in sweep_figure.get_suptitle()
    heatmap = report.plot_sweep_heatmap(result)
    assert "one run per cell (no CI)" in heatmap.get_suptitle()
    cells = [t for t in _drawn_texts(heatmap) if "±" in t]
    assert not cells, "a cell claims an interval"
    frame = study.sensitivity("baseline", replications=1, months=3, customers=200)
    assert frame["ci_low"].isna().all() and (frame["note"] == ONE_REPLICATION).all()
    tornado = report.plot_tornado(frame)
    assert "one run per lever: no CI" in tornado.axes[0].get_title()
    for fig in (sweep_figure, heatmap, tornado):
        _titled(fig)


def test_a_comparison_of_markets_without_customers() -> None:
    result = study.compare(
        [NOBODY_BUYS, NOBODY_BUYS.with_changes({}, name="again")],
        replications=2,
        months=1,
        customers=1,
    )
    clv = result.table[result.table["measure"] == "mean_realised_value"]
    assert clv["mean"].isna().all() and (clv["note"] == UNDEFINED).all()
    fig = report.plot_comparison(result)
    messages = _empty_panels(fig)
    assert any(m.startswith("Undefined in every run") for m in messages)
    _drawn_texts(fig)
    segments = report.plot_segment_comparison(result, "channel")
    assert _empty_panels(segments) == ["No customers in any segment: nothing to show."]


def test_interval_notes() -> None:
    assert interval_note(np.array([])) == "no runs"
    assert interval_note(np.array([np.nan, np.nan])) == UNDEFINED
    assert interval_note(np.array([3.0])) == ONE_REPLICATION
    assert interval_note(np.array([3.0, np.nan])) == (
        "defined in 1 of 2 runs: no confidence interval (needs at least 2)"
    )
    assert interval_note(np.array([3.0, np.nan, 4.0])) == (
        "defined in 2 of 3 runs; mean and interval over those"
    )
    assert interval_note(np.array([3.0, 4.0])) == ""
    assert format_interval(2.5, math.nan, math.nan) == "2.50 [no CI]"
    assert format_interval(2.5, math.nan, math.nan, signed=True) == "+2.50 [no CI]"
    assert format_interval(2.5, 2.0, 3.0) == "2.50 [2.00, 3.00]"


# ----------------------------------------------------------------- names shown literally
NAMES = ("price $5 to $6", "$a^^b$ offer")
"""Scenario names matplotlib would otherwise read as mathematics (the second one fails
to parse at all)."""


def _named(name: str) -> Scenario:
    return BASELINE.with_changes({"firm.price_index": 0.95}, name=name)


@pytest.fixture(scope="module")
def named_comparison() -> study.Comparison:
    return study.compare([_named(n) for n in NAMES], replications=2, months=3, customers=300)


def test_literal_escapes_what_matplotlib_would_read_as_markup() -> None:
    assert literal("price $5 to $6") == r"price \$5 to \$6"
    assert literal("_hidden") == " _hidden"
    assert literal(12) == "12"
    assert pretty_name("raving_fan") == "raving fan"
    assert pretty_name("a_$x$") == r"a \$x\$"


def test_scenario_names_are_shown_as_written_in_study_figures(named_comparison) -> None:
    for fig in (
        report.plot_comparison(named_comparison),
        report.plot_paired_differences(named_comparison),
        report.plot_segment_comparison(named_comparison, "channel"),
        report.plot_steps(named_comparison, dict(zip(NAMES, (1, 2), strict=True)), "step ($)"),
    ):
        shown = " | ".join(_drawn_texts(fig))
        for name in NAMES:
            assert name in shown, name


def test_names_and_values_are_shown_as_written_in_sweeps_and_tornados() -> None:
    spec = study.SweepSpec(
        name="names",
        scenarios=[_named(NAMES[1])],
        parameters={
            "firm.gross_margin": [0.3, 0.4],
            "customers.behaviour": ["contractual", "non_contractual"],
        },
        replications=2,
        months=2,
        customers=100,
    )
    result = study.sweep(spec, workers=1, progress=False)
    for fig in (report.plot_sweep(result), report.plot_sweep_heatmap(result)):
        shown = " | ".join(_drawn_texts(fig))
        assert NAMES[1] in shown
    heatmap = " | ".join(_drawn_texts(report.plot_sweep_heatmap(result)))
    assert "non_contractual" in heatmap  # a swept text value is a tick label as written
    frame = pd.DataFrame(
        {
            "lever": ["a", "b"],
            "label": [NAMES[0], "_underscored"],
            "elasticity": [1.5, math.nan],
            "ci_low": [1.0, math.nan],
            "ci_high": [2.0, math.nan],
            "measure": ["value_of_customer_base"] * 2,
            "replications": [3, 3],
        }
    )
    shown = _drawn_texts(report.plot_tornado(frame))
    assert NAMES[0] in shown and " _underscored" in shown
    assert " undefined (NaN) " in shown


def test_titles_and_cohort_names_are_shown_as_written() -> None:
    model = _run("baseline", 300, 3)
    title = f"{NAMES[1]} (seed 1)"
    dashboard = report.plot_run_dashboard(model.monthly_series(), title=title)
    assert title in _drawn_texts(dashboard)
    frame = pd.DataFrame({NAMES[0]: [1.0, 0.9, 0.8], "_second": [1.0, 0.5, np.nan]})
    shown = _drawn_texts(report.plot_cohort_survival(frame))
    assert NAMES[0] in shown and " _second" in shown


# ----------------------------------------------------------------- the command line
def test_crmsim_run_of_one_person_for_one_month(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "one"
    args = ["run", "baseline", "--customers", "1", "--months", "1", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["months"] == 1 and summary["market_size"] == 1
    assert summary["customers_ever"] == 0
    assert summary["mean_realised_value"] is None and summary["retention_rate"] is None
    assert summary["mean_lifetime_clv"] is None and summary["lifetime_pareto_share_top20"] is None
    assert summary["mean_lifetime_clv_initial_base"] is None
    assert len(pd.read_csv(out / "monthly.csv")) == 1
    assert pd.read_csv(out / "customers.csv").empty
    assert (out / "figure.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "mean lifetime CLV of customers acquired (currency per customer)" in printed
    assert "mean realised value to date" in printed and "nan" in printed


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_crmsim_run_of_every_probability_at_an_edge(value: float, tmp_path: Path) -> None:
    file = tmp_path / "edge.yaml"
    file.write_text(every_probability(BASELINE, value, name="edge").to_yaml())
    out = tmp_path / "out"
    args = ["run", str(file), "--customers", "50", "--months", "3", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    if value == 1.0:
        assert summary["retention_rate"] == 0.0 and summary["churn_rate"] == 1.0
    else:
        assert summary["retention_rate"] == 1.0 and summary["churn_rate"] == 0.0


def test_crmsim_run_of_a_scenario_named_in_dollars(tmp_path: Path) -> None:
    file = tmp_path / "dollars.yaml"
    file.write_text(f"name: {json.dumps(NAMES[1])}\n")
    out = tmp_path / "out"
    args = ["run", str(file), "--customers", "100", "--months", "2", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "figure.png").stat().st_size > 10_000


def test_crmsim_compare_of_one_replication(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "baseline", "loyalty_program", "--replications", "1", "--workers", "1"]
    small = ["--customers", "1", "--months", "1", "--no-progress"]
    assert main([*args, *small, "--out", str(out)]) == 0
    table = pd.read_csv(out / "comparison.csv")
    assert table["ci_low"].isna().all() and table["ci_high"].isna().all()
    assert set(table["note"]) <= {ONE_REPLICATION, UNDEFINED}
    assert set(table.loc[table["measure"] == "mean_realised_value", "note"]) == {UNDEFINED}
    differences = pd.read_csv(out / "differences.csv")
    assert differences["ci_low"].isna().all() and "note" in differences
    for name in ("comparison.png", "differences.png"):
        assert (out / name).stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "[no CI]" in printed and "[nan, nan]" not in printed
    assert set(STUDY_MEASURES) == set(table["measure"])


def test_the_flag_tradeoff_says_why_a_tiny_run_has_no_precision() -> None:
    from crmsim.study import flag_tradeoff

    tradeoff = flag_tradeoff("churn_reduction", [0.1, 0.5], customers=1, months=1)
    assert tradeoff[["precision", "recall"]].isna().all().all()
    fig = report.plot_flag_tradeoff(tradeoff)
    assert any("no precision or recall" in m for m in _empty_panels(fig))
    _titled(fig)


STUDY_FIGURES_TESTED = {
    "plot_comparison",
    "plot_flag_tradeoff",
    "plot_paired_differences",
    "plot_segment_comparison",
    "plot_steps",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tornado",
}
"""Study figures drawn above on one replication, on runs without customers and on names
in dollars (the run figures are those of ``_run_figures``)."""


def test_every_public_figure_is_drawn_on_edge_runs() -> None:
    public = {name for name in report.__all__ if name.startswith("plot_")}
    run_figures = set(_run_figures(_run("baseline", 1, 1)))
    assert public == run_figures | STUDY_FIGURES_TESTED, (
        "a plot_* function is not drawn on the edge runs of tests/test_edges.py: "
        f"{sorted(public - run_figures - STUDY_FIGURES_TESTED)}"
    )

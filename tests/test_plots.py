"""The figures and the explorer build on small seeded runs, with titles and labelled axes."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from crmsim import CRMModel, economics, report
from crmsim.config.scenario import load_scenario
from crmsim.measures import STUDY_MEASURES, run_measure
from crmsim.report.study_figures import COMPARISON_MEASURES, DIFFERENCE_MEASURES, SWEEP_MEASURES
from crmsim.study import compare

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def model() -> CRMModel:
    """A small seeded run that follows a few customers."""
    run = CRMModel("baseline", rng=7, customers=2_000)
    return run.run(24)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check(fig: Figure) -> None:
    """A figure has a title, and every axes with data has both axis labels."""
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.has_data()]
    assert axes, "the figure draws nothing"
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    for ax in axes:
        assert ax.get_title() or title, "an axes has no title"
        # Axes sharing the month axis carry its label once, on the lowest panel.
        siblings = ax.get_shared_x_axes().get_siblings(ax)
        assert any(a.get_xlabel() for a in siblings), f"axes {ax.get_title()!r} has no x label"
        assert ax.get_ylabel(), f"axes {ax.get_title()!r} has no y label"
    fig.canvas.draw()  # every artist can be rendered


def test_series_figures(model: CRMModel) -> None:
    series = model.monthly_series()
    for function in (
        report.plot_lifecycle,
        report.plot_ladder,
        report.plot_defections_by_reason,
        report.plot_retention,
        report.plot_satisfaction,
    ):
        _check(function(series))


def test_retention_and_churn_panels(model: CRMModel) -> None:
    series = model.monthly_series()
    top, bottom = report.plot_retention(series).axes
    kept = series["retention_rate"].mean()
    assert top.get_title() == (
        f"Monthly retention rate (average {kept:.1%} per month, about {kept**12:.0%} a year)"
    )
    assert top.get_ylabel() == "Customers kept (% per month)"
    assert bottom.get_title() == "Monthly churn (customers who chose to leave)"
    assert bottom.get_ylabel() == "Customers lost (% per month)"
    assert bottom.get_ylim()[0] == 0
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == [
        "churn, each month",
        "churn, 12-month average",
    ]
    # Retention in the high nineties is drawn on 90-100%, so half a point looks small.
    assert series["retention_rate"].min() > 0.9
    assert top.get_ylim() == (90.0, 100.0)


def test_a_retention_axis_reaches_down_to_the_lowest_rate() -> None:
    series = pd.DataFrame(
        {"month": [0, 1, 2], "retention_rate": [0.97, 0.84, np.nan], "churn_rate": [0.03, 0.16, 0]}
    )
    top, _ = report.plot_retention(series).axes
    assert top.get_ylim() == (80.0, 100.0)


def test_lifecycle_stacks_add_up_to_the_market(model: CRMModel) -> None:
    fig = report.plot_lifecycle(model.monthly_series())
    ax = fig.axes[0]
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(model.customers.people)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "defected",
        "active",
        "prospect",
        "suspect",
    ]


def test_defections_by_month_and_by_year(model: CRMModel) -> None:
    series = model.monthly_series()
    monthly = report.plot_defections_by_reason(series, months_per_bar=1)
    yearly = report.plot_defections_by_reason(series, months_per_bar=12)
    assert "each month" in monthly.axes[0].get_title()
    assert "12 months" in yearly.axes[0].get_title()
    heights = sum(p.get_height() for p in yearly.axes[0].patches)
    assert heights == pytest.approx(series["defected_this_month"].sum())


def test_cohort_survival(model: CRMModel) -> None:
    frame = economics.cohort_survival_table(model.customers, 24, every=6)
    fig = report.plot_cohort_survival(frame)
    _check(fig)
    assert len(fig.axes[0].lines) == frame.shape[1]


def test_clv_distribution(model: CRMModel) -> None:
    _check(report.plot_clv_distribution(model.customer_frame()["realised_clv"]))


def test_clv_distribution_annotates_the_top_share() -> None:
    clv = np.random.default_rng(3).lognormal(3.0, 1.2, 5_000) - 10.0
    fig = report.plot_clv_distribution(clv)
    _check(fig)
    share = economics.pareto_share(clv, 0.2)
    texts = " ".join(t.get_text() for t in fig.axes[1].texts)
    assert f"bring {share * 100:.0f}% of the profit" in texts
    assert "peak" in texts  # some customers lose money: a whale curve


def test_clv_distribution_without_positive_total() -> None:
    fig = report.plot_clv_distribution(np.array([-5.0, -1.0, 2.0]))
    assert "not positive" in " ".join(t.get_text() for t in fig.axes[1].texts)
    nothing = report.plot_clv_distribution([np.nan])
    for ax in nothing.axes:
        assert not ax.has_data()
        assert "None of the 1 CLV values is a finite number" in ax.texts[0].get_text()


def test_customer_history(model: CRMModel) -> None:
    followed = [model.customer(i) for i in model.followed]
    customer = max(followed, key=lambda c: len({h["stage"] for h in c.history}))
    fig = report.plot_customer_history(customer)
    _check(fig)
    assert f"Customer {customer.id}" in fig.get_suptitle()
    unfollowed = model.customer(model.customers.size - 1)
    with pytest.raises(ValueError, match="no history"):
        report.plot_customer_history(unfollowed)


@pytest.mark.parametrize("with_clv", [False, True])
def test_run_dashboard(model: CRMModel, with_clv: bool) -> None:
    clv = model.customer_frame()["realised_clv"] if with_clv else None
    fig = report.plot_run_dashboard(model.monthly_series(), clv=clv, title="small run")
    _check(fig)
    assert len(fig.axes) == (6 if with_clv else 4)
    assert fig.get_suptitle() == "small run"


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="missing columns: .*suspect"):
        report.plot_lifecycle(pd.DataFrame({"month": [0, 1]}))


@pytest.fixture(scope="module")
def comparison():
    """A tiny comparison of the baseline with a cheaper firm."""
    base = load_scenario("baseline")
    cheaper = base.with_changes({"firm.price_index": 0.9}, name="cheaper")
    return compare([base, cheaper], replications=2, months=12, customers=1_000)


def test_comparison(comparison) -> None:
    for band in ("ci", "runs"):
        fig = report.plot_comparison(comparison, band=band)
        _check(fig)
        assert len(fig.axes) == len(COMPARISON_MEASURES) + 1
        legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
        assert legend == ["baseline", "cheaper"]
    with pytest.raises(ValueError, match="band"):
        report.plot_comparison(comparison, band="wide")
    with pytest.raises(ValueError, match="unknown measure"):
        report.plot_comparison(comparison, measures=["happiness"])


def test_the_retention_panel_draws_dots_on_an_axis_that_keeps_small_gaps_small(comparison) -> None:
    from crmsim.report.study_figures import RETENTION_AXIS_POINTS

    fig = report.plot_comparison(comparison)
    panel = fig.axes[list(COMPARISON_MEASURES).index("retention_rate")]
    assert not panel.patches, "a rate near 100% is drawn as dots, not bars"
    low, high = panel.get_ylim()
    assert high - low >= RETENTION_AXIS_POINTS - 1e-9 and high <= 100
    rates = comparison.table.query("measure == 'retention_rate'")
    assert low <= 100 * rates["ci_low"].min() and 100 * rates["mean"].max() <= high
    assert "not from 0" in panel.get_ylabel()


def test_an_option_keeps_its_colour_in_a_figure_of_a_subset_of_its_study() -> None:
    from crmsim.report.study_figures import scenario_colors
    from crmsim.report.style import SCENARIO_COLORS

    base = load_scenario("baseline")
    options = [base.with_changes({"firm.price_index": p}, name=f"price {p}") for p in (0.9, 1.1)]
    study = compare([base, *options], replications=2, months=6, customers=500)
    whole = scenario_colors(study, ["baseline", "price 0.9", "price 1.1"])
    assert list(whole.values()) == list(SCENARIO_COLORS[:3])
    part = study.subset(["price 1.1"])
    assert scenario_colors(part, ["baseline", "price 1.1"]) == {
        "baseline": whole["baseline"],
        "price 1.1": whole["price 1.1"],
    }
    fig = report.plot_paired_differences(part, measures=["active_customers"])
    drawn = {line.get_color() for line in fig.axes[0].lines if line.get_linewidth() == 5}
    assert drawn == {whole["price 1.1"]}
    bars = report.plot_comparison(part).axes[0].patches
    assert [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars] == [
        whole["baseline"],
        whole["price 1.1"],
    ]


def test_the_steps_figure_pairs_each_step_with_the_one_below() -> None:
    from crmsim.study.stats import paired_interval

    base = load_scenario("baseline")
    budgets = {f"budget {b}": b for b in (0, 800)}
    steps = [
        base.with_changes({"acquisition.budget_per_month_per_1000_people": b}, name=n)
        for n, b in budgets.items()
    ]
    study = compare([base, *steps], replications=3, months=12, customers=800, seed=4)
    values = {"baseline": 400, **budgets}
    fig = report.plot_steps(study, values, "budget (currency per month per 1,000 people)")
    _check(fig)
    left, right = fig.axes
    assert [t.get_text() for t in right.get_xticklabels()] == ["0 to 400", "400 to 800"]
    runs = study.runs.pivot(
        index="replication", columns="scenario", values="value_of_customer_base"
    )
    low, mean, high, _ = paired_interval(runs["baseline"].to_numpy(), runs["budget 0"].to_numpy())
    thick = [line for line in right.lines if line.get_linewidth() == 6]
    assert np.allclose(thick[0].get_ydata(), [low, high])
    assert "Sweep" not in fig.get_suptitle() and "." not in left.get_xlabel().split("(")[0]
    with pytest.raises(ValueError, match="not in the study"):
        report.plot_steps(study, {"baseline": 400, "budget 9": 9}, "budget")
    with pytest.raises(ValueError, match="unknown measure"):
        report.plot_steps(study, values, "budget", measure="happiness")


def test_the_funnel_figure_and_table_read_the_runs_funnel(model: CRMModel) -> None:
    summary = model.summary()
    table = report.funnel_table(summary)
    funnel = summary["funnel"]
    assert list(table.index) == list(funnel)
    mass = funnel["mass"]
    assert table.loc["mass", "first purchases"] == mass["conversions"]
    assert table.loc["mass", "contact -> customer (%)"] == pytest.approx(
        100 * mass["conversions"] / mass["contacts"]
    )
    assert table.loc["referral", "cost per acquisition"] == 0
    fig = report.plot_funnel_costs(summary)
    _check(fig)
    costs = fig.axes[1]
    widths = [bar.get_width() for bar in costs.patches]
    assert widths[-1] == pytest.approx(summary["cost_per_retained_customer_year"])
    assert widths[-2] == pytest.approx(summary["cost_per_acquisition"])
    with pytest.raises(ValueError, match="no funnel"):
        report.funnel_table({})


def test_study_figures_read_the_registry(comparison) -> None:
    for defaults in (COMPARISON_MEASURES, DIFFERENCE_MEASURES, SWEEP_MEASURES):
        assert set(defaults) <= set(STUDY_MEASURES)
    fig = report.plot_comparison(comparison, measures=list(STUDY_MEASURES))
    for ax, name in zip(fig.axes, STUDY_MEASURES, strict=False):
        assert ax.get_title() == run_measure(name).label
        assert ax.get_ylabel().startswith(run_measure(name).unit)


def test_paired_differences(comparison) -> None:
    fig = report.plot_paired_differences(comparison)
    _check(fig)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(DIFFERENCE_MEASURES)
    assert "baseline" in fig.get_suptitle()


@pytest.mark.parametrize("split", ["channel", "cohort", "rung", "member"])
def test_segment_comparison_draws_each_segment_and_its_difference(comparison, split) -> None:
    fig = report.plot_segment_comparison(comparison, split)
    _check(fig)
    means, differences = fig.axes
    segments = comparison.by(split).query("measure == 'mean_lifetime_clv'")
    shown = [t.get_text() for t in means.get_yticklabels()]
    assert len(shown) == segments["segment"].nunique()
    # One point per scenario and segment on the left; only "cheaper" on the right.
    assert sum(len(line.get_xdata()) for line in means.lines) == len(segments)
    assert [t.get_text() for t in differences.get_legend().get_texts()] == ["cheaper"]
    cheaper = segments[segments["scenario"] == "cheaper"].set_index("segment")["difference"]
    drawn = differences.lines[0].get_xdata()
    assert np.allclose(np.sort(drawn), np.sort(cheaper.to_numpy(float)), equal_nan=True)
    assert "baseline" in differences.get_title()


def test_segment_comparison_refuses_unknown_measures_and_splits(comparison) -> None:
    with pytest.raises(ValueError, match="unknown segment measure 'happiness'; allowed: customers"):
        report.plot_segment_comparison(comparison, "channel", "happiness")
    with pytest.raises(Exception, match="channel"):
        report.plot_segment_comparison(comparison, "colour")


def test_study_figures_without_data() -> None:
    class Empty:
        differences = pd.DataFrame()

    fig = report.plot_paired_differences(Empty())
    assert "Only one scenario" in fig.axes[0].texts[0].get_text()
    assert report.plot_tornado(pd.DataFrame()).axes[0].texts


def test_sweep() -> None:
    from crmsim.study import SweepSpec, sweep

    spec = SweepSpec(
        name="margin",
        scenarios=["baseline"],
        parameters={"firm.gross_margin": [0.3, 0.4]},
        replications=2,
        months=6,
        customers=500,
    )
    fig = report.plot_sweep(sweep(spec, workers=1, progress=False))
    _check(fig)
    assert fig.axes[0].get_xlabel() == "gross margin (share of revenue at the market price)"


def test_tornado() -> None:
    frame = pd.DataFrame(
        {
            "lever": ["retention", "margin"],
            "label": ["+1% retention", "+1% margin"],
            "elasticity": [2.5, 1.2],
            "ci_low": [2.0, 1.1],
            "ci_high": [3.0, 1.3],
            "measure": ["value_of_customer_base"] * 2,
        }
    )
    fig = report.plot_tornado(frame)
    _check(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["+1% margin", "+1% retention"]  # largest at the top


def test_lifecycle_explorer_builds_and_reruns(capsys) -> None:
    import ipywidgets

    from crmsim.report.widgets import LEVERS, lifecycle_explorer

    box = lifecycle_explorer(customers=1_000, months=12)
    assert isinstance(box, ipywidgets.VBox)
    printed = capsys.readouterr().out  # outside a notebook the Output widget lets prints through
    assert "Suspects left at month 12" in printed and "currency per customer" in printed
    sliders = [
        w
        for column in box.children[0].children
        for w in column.children
        if isinstance(w, ipywidgets.FloatSlider)
    ]
    assert len(sliders) == len(LEVERS)
    sliders[0].value = 0.9  # a re-run with a stronger competitor must not fail
    members = next(lever for lever in LEVERS if lever.path == "ladder.churn_multiplier")
    changed = members.changes(load_scenario("baseline"), 0.4)["ladder.churn_multiplier"]
    assert changed[2] == pytest.approx(0.4)
    assert changed[2] > changed[3] > changed[4]


def test_lesson_figures_of_defection_and_heterogeneity(model: CRMModel) -> None:
    from crmsim.study import flag_tradeoff

    clv = model.customer_frame()["lifetime_clv"]
    whales = report.plot_whale_curves({"baseline": clv, "half": clv / 2})
    _check(whales)
    assert len(whales.axes[0].get_legend().get_texts()) == 3  # two runs and the diagonal
    win_back = CRMModel("win_back", rng=1, customers=500)
    chances = report.plot_return_chances(win_back, max_months_gone=12)
    _check(chances)
    # Six reasons come back on their own; the campaign targets three.
    assert [len(ax.get_lines()) for ax in chances.axes] == [6, 3]
    tradeoff = flag_tradeoff("churn_reduction", [0.1, 0.3], seed=1, customers=2_000, months=24)
    _check(report.plot_flag_tradeoff(tradeoff))


def test_settings_are_shown_with_plain_labels_and_units() -> None:
    table = report.settings_table(
        load_scenario("win_back"),
        ["firm.gross_margin", "strategies.win_back.offer_success_rate"],
    )
    assert table.index.tolist() == ["Firm: gross margin", "Win back: offer success rate"]
    assert table.loc["Win back: offer success rate", "value"] == 0.15
    assert table.loc["Firm: gross margin", "unit"] == "share of revenue at the market price"
    with pytest.raises(ValueError, match="'firm.nonsense' is not a setting"):
        report.settings_table(load_scenario("baseline"), ["firm.nonsense"])


def test_the_difference_table_reads_each_measure_in_its_unit_with_a_verdict() -> None:
    study = compare(
        ["baseline", "service_quality"], replications=3, seed=4, customers=3_000, months=36
    )
    table = report.difference_table(study, ["retention_rate", "active_customers"])
    assert table.index.get_level_values("scenario").unique().tolist() == ["service_quality"]
    retention = table.loc[("service_quality", "Retention rate (% of customers per month)")]
    difference = study.differences.set_index(["measure", "scenario"]).loc[
        ("retention_rate", "service_quality")
    ]
    shown = run_measure("retention_rate").format_interval(
        difference["difference"], difference["ci_low"], difference["ci_high"], signed=True
    )
    assert retention["difference [95% CI]"] == shown
    clear = difference["ci_low"] > 0 or difference["ci_high"] < 0
    assert retention["verdict"] == (
        ("better" if difference["ci_low"] > 0 else "worse") if clear else "no clear difference"
    )
    with pytest.raises(ValueError, match="not measures of this comparison: nonsense"):
        report.difference_table(study, ["nonsense"])


def test_the_whale_table_reads_each_run_in_percent() -> None:
    profit = {
        "four": np.array([100.0, 50.0, -20.0, -30.0]),
        "equal": np.array([5.0, 5.0, 5.0, 5.0]),
    }
    table = report.whale_table(profit, top_share=0.25)
    assert table.index.tolist() == ["four", "equal"]
    assert table.loc["four"].tolist() == [100.0, 150.0, 50.0, 50.0, 25.0]
    assert table.loc["equal", "top 25% share of profit (%)"] == 25.0
    assert table.loc["equal", "peak of the whale curve (% of profit)"] == 100.0


def test_no_option_is_coloured_red_or_green() -> None:
    """An option's colour names it; red and green would judge it (worse, better)."""
    from matplotlib.colors import rgb_to_hsv, to_rgb

    from crmsim.report.style import SCENARIO_COLORS

    for colour in SCENARIO_COLORS:
        hue, saturation, _ = rgb_to_hsv(to_rgb(colour))
        degrees = 360 * hue
        if saturation > 0.5:  # brown (#8c564b) and olive are neither
            assert not (degrees < 20 or degrees > 340), f"{colour} reads as red"
            assert not 90 <= degrees <= 150, f"{colour} reads as green"

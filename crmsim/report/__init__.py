"""Figures and explorers: what a run or a study looks like, for lessons, reports and the CLI.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` with a
title, labelled axes (with units) and a legend; nothing is shown. Names,
titles and labels are shown as written, ``$`` included
(:func:`crmsim.report.style.literal`); a panel with nothing to draw says why. In a
notebook end the cell with ``plt.show()``; in a script save the figure with
``fig.savefig(...)`` and close it with ``plt.close(fig)``::

    from crmsim import CRMModel, report

    model = CRMModel("baseline", rng=42).run(60)
    fig = report.plot_lifecycle(model.monthly_series())

Modules:
    ``run_figures``: figures of one run (lifecycle, ladder, defections,
    retention, satisfaction, cohorts, CLV, one customer, the dashboard, the
    funnel and the cost of winning against keeping).
    ``study_figures``: figures of a study (comparison, paired differences,
    sweep, a setting stepped up, heat map, tornado).
    ``widgets``: :func:`lifecycle_explorer`, sliders that re-run the market live;
    :func:`clv_explorer`, the CLV spreadsheet made live.
    ``tables``: :func:`settings_table`, :func:`difference_table`, :func:`funnel_table`,
    :func:`whale_table`, :func:`segment_profile`, :func:`channel_yield`,
    :func:`strategic_customers`, :func:`strategy_settings` and
    :func:`interval_widths`, for lessons.
    ``lessons``: what the lessons show besides runs: CLV row by row, the textbook
    market, a programme against its holdout, headline measures; for the lifecycle,
    both sides of satisfaction, the funnel, yearly cohorts, one eventful life and what
    each source of customers brought; a firing review's ranking, the firm's books over
    a study's runs.
    ``style``: the colours, axis look, number format and labels every figure shares.
    ``lab``: the strategy lab without a screen (set-up, checks, run, reading).
    ``app``: the strategy lab's web page (Solara; ``crmsim app``), imported only there.
    ``game``: the classroom game without a screen (rules, a round, leaderboard, debrief);
    ``game_store``: its SQLite file; ``game_pages``: its pages in the app.
"""

from crmsim.report.lessons import (
    FirmBooks,
    acquisition_sources,
    books_difference,
    clv_by_horizon,
    clv_spreadsheet,
    cohort_values,
    eventful_customer,
    firm_books,
    headline_table,
    lifecycle_facts,
    lifetime_values,
    plot_clv_build_up,
    plot_clv_by_horizon,
    plot_competitor_attention,
    plot_profit_bridge,
    plot_programme_holdout,
    plot_review_ranking,
    plot_value_and_expectation,
    retention_by_tenure,
    review_profile,
    review_ranking,
    run_tracking_satisfaction,
    standard_error_by_replications,
    textbook_scenario,
    win_back_campaigns,
    yearly_cohort_survival,
    yearly_cohorts,
)
from crmsim.report.run_figures import (
    plot_clv_distribution,
    plot_cohort_survival,
    plot_customer_history,
    plot_defections_by_reason,
    plot_funnel_costs,
    plot_ladder,
    plot_lifecycle,
    plot_retention,
    plot_return_chances,
    plot_run_dashboard,
    plot_satisfaction,
    plot_whale_curves,
)
from crmsim.report.study_figures import (
    plot_comparison,
    plot_flag_tradeoff,
    plot_paired_differences,
    plot_segment_comparison,
    plot_steps,
    plot_sweep,
    plot_sweep_heatmap,
    plot_tornado,
)
from crmsim.report.style import plain_label
from crmsim.report.tables import (
    channel_yield,
    difference_table,
    funnel_table,
    interval_widths,
    segment_profile,
    settings_table,
    strategic_customers,
    strategy_settings,
    whale_table,
)
from crmsim.report.teach import Prediction, Verdict, check
from crmsim.report.widgets import clv_explorer, lifecycle_explorer

__all__ = [
    "funnel_table",
    "plot_funnel_costs",
    "plot_steps",
    "FirmBooks",
    "books_difference",
    "firm_books",
    "plot_competitor_attention",
    "plot_profit_bridge",
    "plot_review_ranking",
    "review_profile",
    "review_ranking",
    "channel_yield",
    "difference_table",
    "strategic_customers",
    "strategy_settings",
    "interval_widths",
    "acquisition_sources",
    "clv_by_horizon",
    "clv_spreadsheet",
    "cohort_values",
    "eventful_customer",
    "lifecycle_facts",
    "plot_value_and_expectation",
    "run_tracking_satisfaction",
    "yearly_cohort_survival",
    "yearly_cohorts",
    "lifetime_values",
    "retention_by_tenure",
    "headline_table",
    "plain_label",
    "plot_clv_build_up",
    "plot_clv_by_horizon",
    "plot_programme_holdout",
    "standard_error_by_replications",
    "textbook_scenario",
    "win_back_campaigns",
    "Prediction",
    "Verdict",
    "check",
    "clv_explorer",
    "lifecycle_explorer",
    "plot_clv_distribution",
    "plot_cohort_survival",
    "plot_comparison",
    "plot_flag_tradeoff",
    "plot_customer_history",
    "plot_defections_by_reason",
    "plot_ladder",
    "plot_lifecycle",
    "plot_paired_differences",
    "plot_segment_comparison",
    "plot_retention",
    "plot_return_chances",
    "plot_run_dashboard",
    "plot_satisfaction",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tornado",
    "plot_whale_curves",
    "settings_table",
    "whale_table",
    "segment_profile",
]

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
    retention, satisfaction, cohorts, CLV, one customer, the dashboard).
    ``study_figures``: figures of a study (comparison, paired differences,
    sweep, heat map, tornado).
    ``widgets``: :func:`lifecycle_explorer`, sliders that re-run the market live;
    :func:`clv_explorer`, the CLV spreadsheet made live.
    ``lessons``: what the lessons show besides runs: settings in plain words, CLV row by
    row, the textbook market, a programme against its holdout.
    ``style``: the colours, axis look, number format and labels every figure shares.
"""

from crmsim.report.lessons import (
    clv_by_horizon,
    clv_spreadsheet,
    headline_table,
    plain_label,
    plot_clv_build_up,
    plot_clv_by_horizon,
    plot_programme_holdout,
    settings_table,
    textbook_scenario,
)
from crmsim.report.run_figures import (
    plot_clv_distribution,
    plot_cohort_survival,
    plot_customer_history,
    plot_defections_by_reason,
    plot_ladder,
    plot_lifecycle,
    plot_retention,
    plot_run_dashboard,
    plot_satisfaction,
)
from crmsim.report.study_figures import (
    plot_comparison,
    plot_paired_differences,
    plot_segment_comparison,
    plot_sweep,
    plot_sweep_heatmap,
    plot_tornado,
)
from crmsim.report.teach import Prediction, Verdict, check
from crmsim.report.widgets import clv_explorer, lifecycle_explorer

__all__ = [
    "clv_by_horizon",
    "clv_spreadsheet",
    "headline_table",
    "plain_label",
    "plot_clv_build_up",
    "plot_clv_by_horizon",
    "plot_programme_holdout",
    "settings_table",
    "textbook_scenario",
    "Prediction",
    "Verdict",
    "check",
    "clv_explorer",
    "lifecycle_explorer",
    "plot_clv_distribution",
    "plot_cohort_survival",
    "plot_comparison",
    "plot_customer_history",
    "plot_defections_by_reason",
    "plot_ladder",
    "plot_lifecycle",
    "plot_paired_differences",
    "plot_segment_comparison",
    "plot_retention",
    "plot_run_dashboard",
    "plot_satisfaction",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tornado",
]

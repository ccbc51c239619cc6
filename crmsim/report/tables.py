"""Tables for lessons and reports: settings in plain words, paired differences, whale curves,
segments of customers.

A lesson shows the settings it varies with plain labels and units, not dotted
paths, and a comparison as the difference each scenario makes, with its
interval and a verdict a student can read, in the unit of each measure
(:mod:`crmsim.measures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmsim.config.scenario import Scenario, load_scenario
from crmsim.economics import whale_summary
from crmsim.measures import HIGHER, LOWER, run_measure
from crmsim.report.style import plain_label, setting_field

if TYPE_CHECKING:
    from crmsim.study.compare import Comparison


def settings_table(
    scenario: Scenario | str, paths: Sequence[str], labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The settings of a scenario as a lesson shows them: plain label, value, unit, meaning.

    Args:
        scenario: A scenario, or the name or path of one.
        paths: Dotted paths of the settings: ``"firm.gross_margin"``,
            ``"acquisition.channels.mass.conversion_rate"``,
            ``"strategies.win_back.offer_success_rate"``.
        labels: Labels to use instead of :func:`crmsim.report.style.plain_label`'s
            (``"Win back: offer success rate"``), by path.

    Returns:
        One row per setting, indexed by its label; columns ``value`` (a list or a mapping
        shown as text), ``unit`` and ``meaning`` (from the scenario schema, the channel
        fields or the strategy's declared parameters).

    Raises:
        ValueError: A path names no declared setting (the message names it).
    """
    chosen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    rows = []
    for path in paths:
        spec = setting_field(path)
        if spec is None:
            raise ValueError(
                f"{path!r} is not a setting: give section.setting (e.g. firm.gross_margin), "
                "acquisition.channels.<channel>.<setting> or strategies.<strategy>.<parameter> "
                "of a known strategy"
            )
        value = chosen.get(path)
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}" for k, v in value.items()
            )
        elif isinstance(value, list | tuple):
            value = ", ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in value)
        elif value is None:
            value = "none"
        rows.append(
            {
                "setting": (labels or {}).get(path, plain_label(path)),
                "value": value,
                "unit": spec.unit,
                "meaning": spec.doc,
            }
        )
    return pd.DataFrame(rows, columns=["setting", "value", "unit", "meaning"]).set_index("setting")


def difference_table(comparison: Comparison, measures: Sequence[str]) -> pd.DataFrame:
    """What each scenario changes against the reference: means, paired difference, verdict.

    Args:
        comparison: A comparison (:func:`crmsim.study.compare`).
        measures: Names of run measures (:data:`crmsim.measures.STUDY_MEASURES`), in
            the order to show them.

    Returns:
        One row per scenario (other than the reference) and measure, indexed by the
        scenario and the measure's label with its unit; columns: the reference's mean,
        the scenario's mean, the paired difference with its 95% interval, and a verdict:
        ``better``, ``worse`` (the interval excludes 0, judged by which way is better
        for the firm), ``higher`` or ``lower`` (for a measure that is neither good nor
        bad), or ``no clear difference``.

    Raises:
        ValueError: A measure is not a run measure of the comparison (the message names it).
    """
    means = comparison.table.pivot(index="measure", columns="scenario", values="mean")
    missing = [m for m in measures if m not in means.index]
    if missing:
        raise ValueError(
            f"not measures of this comparison: {', '.join(missing)}; "
            f"allowed: {', '.join(means.index)}"
        )
    rows = []
    differences = comparison.differences.set_index(["measure", "scenario"])
    for scenario in dict.fromkeys(comparison.differences["scenario"]):
        for name in measures:
            measure = run_measure(name)
            d = differences.loc[(name, scenario)]
            rows.append(
                {
                    "scenario": scenario,
                    "measure": f"{measure.label} ({measure.unit})",
                    f"mean: {d['reference']}": measure.format(means.loc[name, d["reference"]]),
                    "mean: scenario": measure.format(means.loc[name, scenario]),
                    "difference [95% CI]": measure.format_interval(
                        d["difference"], d["ci_low"], d["ci_high"], signed=True
                    ),
                    "verdict": _verdict(d["ci_low"], d["ci_high"], measure.direction),
                }
            )
    return pd.DataFrame(rows).set_index(["scenario", "measure"])


def whale_table(profit: Mapping[str, Any], top_share: float = 0.2) -> pd.DataFrame:
    """The whale-curve reading of one or more runs, in %, with plain column names.

    Args:
        profit: Profit per customer (currency, e.g. lifetime CLV) of each run, by label.
        top_share: Share of the most profitable customers whose share of profit is given.

    Returns:
        One row per run (in the order given) with the top ``top_share`` of customers'
        share of profit, the peak of the whale curve, and the shares of profitable and
        loss-making customers, all in % (:func:`crmsim.economics.whale_summary`).
    """
    columns = {
        "top_share_of_profit": f"top {top_share:.0%} share of profit (%)",
        "peak_share_of_profit": "peak of the whale curve (% of profit)",
        "profitable_share": "profitable customers (%)",
        "loss_maker_share": "loss-makers (%)",
    }
    rows = {label: whale_summary(values, top_share) for label, values in profit.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns)) * 100
    return table.rename(columns=columns).round(1)


SEGMENTATIONS: dict[str, str] = {
    "value": "lifetime CLV quartile",
    "needs": "price sensitivity",
}
"""The ways :func:`segment_profile` can split customers, and what the segments are."""


def segment_profile(customers: pd.DataFrame, by: str = "value") -> pd.DataFrame:
    """Customers acquired in a run, split into segments, each described as a marketer would.

    ``by="value"``: four segments of equal size by lifetime CLV (top 25% first).
    ``by="needs"``: price-sensitive customers (price sensitivity above the median)
    against value seekers (at or below it), who want different things from the firm.

    Args:
        customers: ``CRMModel.customer_frame()``; the initial base is left out (it was
            not acquired in the run).
        by: ``"value"`` or ``"needs"``.

    Returns:
        One row per segment: ``customers``, ``share of lifetime CLV (%)``, ``mean
        lifetime CLV`` (currency per customer), ``still active (%)``, ``price
        sensitivity`` (mean, 0-1), ``share of wallet (%)`` (mean) and ``advocates
        and fans (%)`` (on the top two rungs at the end, or when they left).

    Raises:
        ValueError: ``by`` is not one of :data:`SEGMENTATIONS`.
    """
    if by not in SEGMENTATIONS:
        raise ValueError(f"by must be one of {', '.join(SEGMENTATIONS)}; got {by!r}")
    acquired = customers[customers["source"] != "initial_base"]
    if by == "value":
        ranks = acquired["lifetime_clv"].rank(method="first", ascending=False)
        labels = ["top 25%", "second 25%", "third 25%", "bottom 25%"]
        segment = pd.qcut(ranks, 4, labels=labels)
    else:
        median = acquired["price_sensitivity"].median()
        segment = pd.Series("value seekers", index=acquired.index).where(
            acquired["price_sensitivity"] <= median, "price-sensitive"
        )
    groups = acquired.groupby(segment, sort=by == "value", observed=True)
    total = acquired["lifetime_clv"].sum()
    table = pd.DataFrame(
        {
            "customers": groups.size(),
            "share of lifetime CLV (%)": 100 * groups["lifetime_clv"].sum() / total,
            "mean lifetime CLV": groups["lifetime_clv"].mean(),
            "still active (%)": 100 * groups["stage"].apply(lambda s: (s == "active").mean()),
            "price sensitivity": groups["price_sensitivity"].mean().astype(float),
            "share of wallet (%)": 100 * groups["share_of_wallet"].mean().astype(float),
            "advocates and fans (%)": 100
            * groups["tier"].apply(lambda t: t.isin(["advocate", "raving_fan"]).mean()),
        }
    )
    table.index.name = SEGMENTATIONS[by]
    return table.round(2)


def _verdict(low: float, high: float, direction: str) -> str:
    if not (low > 0 or high < 0):  # an interval across 0, or none at all
        return "no clear difference"
    up = low > 0
    if direction == HIGHER:
        return "better" if up else "worse"
    if direction == LOWER:
        return "worse" if up else "better"
    return "higher" if up else "lower"


__all__ = ["difference_table", "settings_table", "whale_table"]

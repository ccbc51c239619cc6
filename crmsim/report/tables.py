"""Tables for lessons and reports: settings in plain words, paired differences, whale curves,
segments of customers, acquisition channels and strategically significant customers.

A lesson shows the settings it varies with plain labels and units, not dotted
paths, and a comparison as the difference each scenario makes, with its
interval and a verdict a student can read, in the unit of each measure
(:mod:`crmsim.measures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmsim.config.scenario import Scenario, load_scenario
from crmsim.economics import customer_referral_value, whale_summary
from crmsim.measures import HIGHER, LOWER, run_measure
from crmsim.report.style import plain_label, setting_field

if TYPE_CHECKING:
    from crmsim.engine.model import CRMModel
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


FUNNEL_COLUMNS: dict[str, str] = {
    "contacts": "contacts with suspects the channel bought (referrals: the referrals made)",
    "new prospects": "people who became prospects through the channel",
    "first purchases": "prospects who went on to buy for the first time (customers won)",
    "suspect -> prospect (%)": "new prospects per contact",
    "prospects who bought (%)": "first purchases per new prospect, at any later month",
    "contact -> customer (%)": "first purchases per contact",
    "cost per acquisition": "the channel's spend per customer won (currency per customer)",
}
"""The columns of :func:`funnel_table` and what each holds, with its unit."""

FUNNEL_RATE_COLUMNS: dict[str, str] = {
    "prospect -> customer per month, measured (%)": "first purchases per prospect and month "
    "(a prospect who does not buy in a month may buy the next)",
    "prospect -> customer per month, set (%)": "the scenario's conversion rate of the channel "
    "(referrals: the referral conversion rate)",
}
"""The columns :func:`funnel_table` adds when given the run's scenario: the measured monthly
conversion beside the rate the scenario sets, a first check that the model does what it says."""


def funnel_table(summary: Mapping[str, Any], scenario: Scenario | None = None) -> pd.DataFrame:
    """A run's acquisition funnel, channel by channel: how many moved on and at what cost.

    Args:
        summary: ``model.summary()`` of a run (its ``funnel``).
        scenario: The run's scenario: adds the measured conversion per prospect and month
            beside the rate the scenario sets (:data:`FUNNEL_RATE_COLUMNS`).

    Returns:
        One row per acquisition channel (referrals included), the columns of
        :data:`FUNNEL_COLUMNS` (and of :data:`FUNNEL_RATE_COLUMNS` with a scenario); a rate
        is missing (NaN) where its stage is empty.

    Raises:
        ValueError: A summary without a funnel.
    """
    funnel = summary.get("funnel")
    if not funnel:
        raise ValueError("the summary has no funnel: pass model.summary() of a run")
    frame = pd.DataFrame(funnel).T.astype(float)
    contacts = frame["contacts"].where(frame["contacts"] > 0)
    prospects = frame["new_prospects"].where(frame["new_prospects"] > 0)
    table = pd.DataFrame(
        {
            "contacts": frame["contacts"].astype(int),
            "new prospects": frame["new_prospects"].astype(int),
            "first purchases": frame["conversions"].astype(int),
            "suspect -> prospect (%)": 100 * frame["new_prospects"] / contacts,
            "prospects who bought (%)": 100 * frame["conversions"] / prospects,
            "contact -> customer (%)": 100 * frame["conversions"] / contacts,
            "cost per acquisition": frame["cost_per_acquisition"],
        }
    )
    if scenario is not None:
        channels = scenario.channels()
        referral = scenario.get("acquisition.referral_conversion_rate")
        measured, set_rate = FUNNEL_RATE_COLUMNS
        table[measured] = 100 * frame["prospect_to_customer"]
        table[set_rate] = [
            100 * float(channels[name]["conversion_rate"] if name in channels else referral)
            for name in table.index
        ]
    table.index.name = "channel"
    return table


def whale_table(profit: Mapping[str, Any], top_share: float = 0.2) -> pd.DataFrame:
    """The whale-curve reading of one or more runs, in %, with plain column names.

    Args:
        profit: Profit per customer (currency, e.g. lifetime CLV) of each run, by label.
        top_share: Share of the most profitable customers whose share of profit is given.

    Returns:
        One row per run (in the order given) with the top ``top_share`` of customers'
        share of profit, the peak of the whale curve, and the shares of profitable and
        loss-making customers, all in % (:func:`crmsim.economics.whale_summary`); and the
        ``mean profit`` per customer (currency per customer).
    """
    columns = {
        "top_share_of_profit": f"top {top_share:.0%} share of profit (%)",
        "peak_share_of_profit": "peak of the whale curve (% of profit)",
        "profitable_share": "profitable customers (%)",
        "loss_maker_share": "loss-makers (%)",
    }
    rows = {label: whale_summary(values, top_share) for label, values in profit.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns)) * 100
    table["mean profit"] = [float(np.nanmean(np.asarray(v, dtype=float))) for v in profit.values()]
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


def channel_yield(comparison: Comparison, channels: Mapping[str, str]) -> pd.DataFrame:
    """How many customers a channel brought, and what each is worth, where it gets the budget.

    Args:
        comparison: A study whose runs record customers by channel (``compare``).
        channels: For each channel, the scenario of the study that spends the
            acquisition budget on it, e.g. ``{"mass": "mass_acquisition"}``.

    Returns:
        One row per channel: ``scenario``, ``customers`` (mean over the replications
        of the customers the channel brought) and ``mean lifetime CLV`` (currency per
        customer).

    Raises:
        KeyError: A scenario the study did not run, or a channel with no customers in it.
    """
    means = comparison.by("channel").set_index(["scenario", "segment", "measure"])["mean"]
    rows = {}
    for channel, scenario in channels.items():
        key = (scenario, channel)
        if key + ("customers",) not in means.index:
            raise KeyError(
                f"the study has no customers of channel {channel!r} in scenario {scenario!r}; "
                f"it ran {sorted(set(means.index.get_level_values('scenario')))}"
            )
        rows[channel] = {
            "scenario": scenario,
            "customers": float(means[key + ("customers",)]),
            "mean lifetime CLV": float(means[key + ("mean_lifetime_clv",)]),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "channel"
    return table


def strategic_customers(model: CRMModel, top_share: float = 0.05) -> pd.DataFrame:
    """The most valuable customers by their own purchases against those by their referrals.

    A customer's referral value is the realised CLV of the customers they brought in
    by referral (:func:`crmsim.economics.customer_referral_value`).
    Ranking by lifetime CLV alone misses the role models whose word brings others in.

    Args:
        model: A run (``CRMModel(...).run(months)``).
        top_share: Share of the customers in each top list (0 to 1).

    Returns:
        Two rows, ``top by lifetime CLV`` and ``top by referral value``: ``customers``
        in the list, their total ``lifetime CLV`` and ``referral value`` (currency),
        and ``in both lists (%)``.

    Raises:
        ValueError: ``top_share`` is not in (0, 1].
    """
    if not 0 < top_share <= 1:
        raise ValueError(f"top_share must be a share in (0, 1]; got {top_share!r}")
    customers = model.customer_frame()
    referral = customer_referral_value(
        model.customers, model.monthly_discount_rate, model.funnel.referral_code
    )
    customers = customers.assign(referral_value=referral[customers["customer_id"].to_numpy()])
    top = max(1, round(top_share * len(customers)))
    lists = {
        "top by lifetime CLV": customers.nlargest(top, "lifetime_clv"),
        "top by referral value": customers.nlargest(top, "referral_value"),
    }
    both = set(lists["top by lifetime CLV"]["customer_id"]) & set(
        lists["top by referral value"]["customer_id"]
    )
    table = pd.DataFrame(
        {
            label: {
                "customers": len(rows),
                "lifetime CLV": rows["lifetime_clv"].sum(),
                "referral value": rows["referral_value"].sum(),
                "in both lists (%)": 100 * len(both) / top,
            }
            for label, rows in lists.items()
        }
    ).T
    return table.astype({"customers": int})


def strategy_settings(
    scenarios: Sequence[Scenario], parameters: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The main settings of several firm strategies, each read from the scenario that runs it.

    Args:
        scenarios: Scenarios, e.g. the base and options of a strategy lab
            (``LabSetup.scenarios()``).
        parameters: For each strategy, the names of the parameters to show
            (``{"win_back": ["offer_success_rate"]}``).

    Returns:
        The rows of :func:`settings_table` for every strategy, in the order given.

    Raises:
        ValueError: A strategy none of the scenarios runs, or a parameter it does not
            have (the message names it).
    """
    tables = []
    for strategy, names in parameters.items():
        scenario = next((s for s in scenarios if strategy in s.strategies()), None)
        if scenario is None:
            raise ValueError(
                f"no scenario given runs the strategy {strategy!r}; they run "
                f"{sorted({name for s in scenarios for name in s.strategies()})}"
            )
        tables.append(settings_table(scenario, [f"strategies.{strategy}.{n}" for n in names]))
    return pd.concat(tables)


def interval_widths(comparison: Comparison, measure: str) -> pd.DataFrame:
    """How much narrower pairing makes each option's 95% interval for one measure.

    Args:
        comparison: A study (``compare``) run with common random numbers.
        measure: A run measure of the study, e.g. ``"value_of_customer_base"``.

    Returns:
        One row per option: the width of the ``paired interval`` of its difference from
        the reference, the width of the ``unpaired interval`` (as if the runs were
        independent), both in the measure's unit, and how many ``times as wide`` the
        unpaired one is.

    Raises:
        KeyError: The study has no such measure.
    """
    rows = comparison.differences.query("measure == @measure")
    if rows.empty:
        raise KeyError(
            f"the study has no measure {measure!r}; it has "
            f"{sorted(comparison.differences['measure'].unique())}"
        )
    paired = rows["ci_high"] - rows["ci_low"]
    unpaired = rows["unpaired_ci_high"] - rows["unpaired_ci_low"]
    table = pd.DataFrame(
        {
            "paired interval": paired.to_numpy(),
            "unpaired interval": unpaired.to_numpy(),
            "times as wide": (unpaired / paired).to_numpy(),
        },
        index=pd.Index(rows["scenario"], name="option"),
    )
    return table


def _verdict(low: float, high: float, direction: str) -> str:
    if not (low > 0 or high < 0):  # an interval across 0, or none at all
        return "no clear difference"
    up = low > 0
    if direction == HIGHER:
        return "better" if up else "worse"
    if direction == LOWER:
        return "worse" if up else "better"
    return "higher" if up else "lower"


__all__ = [
    "FUNNEL_COLUMNS",
    "FUNNEL_RATE_COLUMNS",
    "channel_yield",
    "difference_table",
    "funnel_table",
    "interval_widths",
    "segment_profile",
    "settings_table",
    "strategic_customers",
    "strategy_settings",
    "whale_table",
]

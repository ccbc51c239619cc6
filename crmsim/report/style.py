"""The look every figure shares: fixed colours, axis styling, number formats and names.

A stage of the lifecycle, a rung of the ladder, a defection reason or a
scenario always has the same colour, so a student who has learnt one figure
can read the next. Figures of a run, figures of a study and the explorers all
build their axes here.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from crmsim.config.fields import Field
from crmsim.config.schema import CHANNEL_FIELDS, SCHEMA
from crmsim.strategies import COMPETITOR_REGISTRY
from crmsim.strategies import REGISTRY as STRATEGY_REGISTRY

STAGE_COLORS: dict[str, str] = {
    "suspect": "#cfcfcf",
    "prospect": "#9ecae1",
    "active": "#2171b5",
    "defected": "#e6735c",
}
"""Colour of each stage of the relationship (``crmsim.vocabulary.STAGES``)."""

TIER_COLORS: dict[str, str] = {
    "shopper": "#d9f0d3",
    "customer": "#a6dba0",
    "member": "#5aae61",
    "advocate": "#1b7837",
    "raving_fan": "#00441b",
}
"""Colour of each rung of the loyalty ladder, darker higher up (``crmsim.vocabulary.TIERS``)."""

REASON_COLORS: dict[str, str] = {
    "price": "#e6550d",
    "product": "#fdae6b",
    "service": "#756bb1",
    "market": "#969696",
    "technological": "#3182bd",
    "organisational": "#636363",
    "fired": "#252525",
}
"""Colour of each reason a relationship ends (``crmsim.vocabulary.REASONS``)."""

SCENARIO_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#e377c2",
    "#bcbd22",
    "#7f7f7f",
)
"""Colours of scenarios in the order a study lists them (repeating after the last).

No red and no green: a reader takes red for worse and green for better, and an option's
colour names it, it does not judge it (the verdict is in the interval). Every figure of a
study colours its scenarios by their place in the study's list, the reference included, so
an option keeps its colour from figure to figure."""


def literal(text: Any) -> str:
    """Text as a figure must show it, character for character, whatever it holds.

    Matplotlib reads a pair of ``$`` as mathematical notation, so a scenario
    named ``price $5 to $6`` would come out garbled, and one named
    ``$\\bad$`` would stop the figure from being drawn at all; a label that
    starts with ``_`` would be left out of the legend. Every name, title or
    label a person chose goes through here before it reaches a figure.

    Args:
        text: Any text (or value) a person chose: a scenario name, a title, a label.

    Returns:
        The text with every ``$`` escaped (``\\$``, which matplotlib draws as
        ``$``), and a leading space before a leading underscore.
    """
    shown = str(text).replace("$", r"\$")
    return " " + shown if shown.startswith("_") else shown


def pretty_name(name: Any) -> str:
    """A column, code or scenario name for people: ``raving_fan`` -> ``raving fan``.

    Args:
        name: A name as the code or a scenario spells it.

    Returns:
        The name with spaces for underscores, shown literally (see :func:`literal`).
    """
    return literal(str(name).replace("_", " "))


def style_axes(ax: Axes) -> None:
    """Give an axes the common look: no top or right frame, a light grid behind the data.

    Args:
        ax: The axes to style.
    """
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def new_figure(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (8.0, 4.5), **kwargs: Any
) -> tuple[Figure, Any]:
    """A figure with a grid of styled axes and a constrained layout.

    Args:
        nrows: Rows of axes.
        ncols: Columns of axes.
        figsize: Width and height in inches.
        **kwargs: Passed to :func:`matplotlib.pyplot.subplots` (``sharex``,
            ``width_ratios``, ``squeeze``, ...).

    Returns:
        The figure and its axes, shaped as :func:`matplotlib.pyplot.subplots` returns them.
    """
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    for ax in np.atleast_1d(axes).ravel():
        style_axes(ax)
    return fig, axes


def format_thousands(value: float, _position: Any = None) -> str:
    """A number as an axis shows it: 750, 2.5k, 12k or 1.5M.

    Takes the tick position as its second argument so it can serve as a
    :class:`matplotlib.ticker.FuncFormatter`.

    Args:
        value: The number.
        _position: Tick position (unused).

    Returns:
        The number with four significant digits and a k or M suffix.
    """
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.4g}M"
    if size >= 1e3:
        return f"{value / 1e3:.4g}k"
    return f"{value:.4g}"


RETENTION_AXIS_POINTS = 10.0
"""Points of retention a retention axis spans at least: from 90% to 100% per month."""


def set_retention_axis(ax: Axes, rates_percent: Any) -> None:
    """Scale a retention axis (in % per month) so that a small gap looks small.

    An axis fitted to the data stretches a gap of half a point of retention over the
    whole panel, and a drift from 98.4% to 97.9% looks like a collapse. This axis runs
    to 100% and spans at least :data:`RETENTION_AXIS_POINTS` points, lower (in steps of
    ten points) when the rates go lower. Where a small change matters, a churn axis from
    zero shows it at its true relative size.

    Args:
        ax: The axes of the rate.
        rates_percent: The rates drawn, in % per month (NaN ignored).
    """
    rates = np.asarray(rates_percent, dtype=float)
    finite = rates[np.isfinite(rates)]
    lowest = float(finite.min()) if finite.size else 100.0
    bottom = min(100.0 - RETENTION_AXIS_POINTS, 10.0 * np.floor(lowest / 10.0))
    ax.set_ylim(max(bottom, 0.0), 100.0)


def setting_label(path: str) -> str:
    """The axis label of a scenario setting: its name, with its unit when known.

    Units come from the scenario schema (``crmsim.config.schema``) for
    ``section.setting`` paths, and from the strategy's declared parameters for
    ``strategies.<name>.<parameter>`` and ``competitor_strategies.<name>.<parameter>``.

    Args:
        path: Dotted path of the setting, e.g. ``"firm.gross_margin"``.

    Returns:
        The label, e.g. ``"gross margin (share of revenue at the market price)"``, shown
        literally (see :func:`literal`).
    """
    spec = setting_field(path)
    label = path.split(".")[-1].replace("_", " ")
    return literal(f"{label} ({spec.unit})" if spec is not None and spec.unit else label)


def plain_label(path: str) -> str:
    """A setting's name as a student reads it: ``"firm.gross_margin"`` -> ``"Firm: gross margin"``.

    The section says whose setting it is (the firm's, the competitor's, the market's...);
    a channel's setting names its channel (``"Acquisition, mass channel: conversion
    rate"``), a strategy's its strategy (``"Loyalty program: reward rate"``).

    Args:
        path: The setting's dotted path in a scenario.

    Returns:
        The label, capitalised, with spaces for underscores and 1,000 written so.
    """
    parts = [part.replace("_", " ") for part in path.split(".")]
    if len(parts) == 4 and parts[:2] == ["acquisition", "channels"]:
        label = f"acquisition, {parts[2]} channel: {parts[3]}"
    elif len(parts) == 3 and parts[0] == "strategies":
        label = f"{parts[1]}: {parts[2]}"
    elif len(parts) >= 2:
        label = f"{parts[0]}: {' '.join(parts[1:])}"
    else:
        label = parts[0]
    label = label.replace(" 1000 ", " 1,000 ").removesuffix(" 1000")
    return label[:1].upper() + label[1:]


def setting_field(path: str) -> Field | None:
    """The declared field of a setting, or None when the path names none.

    Args:
        path: ``section.setting`` (e.g. ``"firm.gross_margin"``),
            ``acquisition.channels.<channel>.<setting>`` or
            ``strategies.<name>.<parameter>`` (also ``competitor_strategies``).

    Returns:
        The field (kind, default, unit, meaning) from the scenario schema, the channel
        fields or the strategy's declared parameters.
    """
    parts = path.split(".")
    if len(parts) == 2 and isinstance(SCHEMA.get(parts[0], {}).get(parts[1]), Field):
        return SCHEMA[parts[0]][parts[1]]
    if len(parts) == 4 and parts[:2] == ["acquisition", "channels"]:
        return CHANNEL_FIELDS.get(parts[3])
    if len(parts) == 3 and parts[0] in ("strategies", "competitor_strategies"):
        registry = STRATEGY_REGISTRY if parts[0] == "strategies" else COMPETITOR_REGISTRY
        if parts[1] in registry:
            return registry[parts[1]].parameters.get(parts[2])
    return None


def empty_panel(ax: Axes, message: str) -> None:
    """An axes that says why it has nothing to draw, instead of drawing nothing or failing.

    A run of a tiny market can end with no customer at all, a rate can be
    undefined in every month: the panel keeps the title and axis labels set on
    it (so it still says what it would show) and states the reason in its middle.

    Args:
        ax: The axes; set its title and labels before or after.
        message: Why there is nothing to draw, in a sentence or two.
    """
    # Tick labels off rather than ticks removed: axes sharing this one keep theirs.
    ax.tick_params(labelbottom=False, labelleft=False, length=0)
    ax.grid(False)
    ax.text(
        0.5,
        0.5,
        literal(message),
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="#555555",
        fontsize=9,
    )


__all__ = [
    "REASON_COLORS",
    "RETENTION_AXIS_POINTS",
    "SCENARIO_COLORS",
    "STAGE_COLORS",
    "TIER_COLORS",
    "empty_panel",
    "format_thousands",
    "literal",
    "new_figure",
    "pretty_name",
    "set_retention_axis",
    "setting_label",
    "plain_label",
    "setting_field",
    "style_axes",
]


def legend_beside_stack(ax: Axes, title: str) -> None:
    """A legend to the right of a stacked figure, in the order of the stack as seen (top
    layer first)."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
        title=title,
    )

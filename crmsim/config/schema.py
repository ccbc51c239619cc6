"""The scenario schema: every setting a scenario file may contain, with its default and unit.

This module is the field table only: the kinds of value and their checks are in
``crmsim.config.fields``, validation of a whole file in ``crmsim.config.scenario``
and the generated reference in ``crmsim.config.docs``.
"""

from __future__ import annotations

from crmsim.config.fields import Field, Record

# Sizes the engine can hold. Months and tenures are kept in 16-bit columns (at
# most 32_767), channels by an 8-bit code (at most 127), and the customer table
# costs about 135 bytes a row (plus working arrays while a month runs); the
# limits sit well inside these, and well above any study anyone runs by accident.
MAX_MONTHS = 1_200
"""Longest simulation, months (a hundred years)."""

MAX_CUSTOMERS = 10_000_000
"""Largest market at month 0, people: a table of about 1.4 GB (more as it renews)."""

MAX_PEOPLE = 20_000_000
"""Most people a market holds by the end of a run: those of month 0 and those who enter it
later (``market.entry_rate_per_month``), each a row of the table kept from the start
(about 2.7 GB)."""

MAX_FOLLOWED = 1_000
"""Most customers whose month-by-month history is recorded."""

MAX_CHANNELS = 100
"""Most acquisition channels."""


def _ladder(
    values: list[float],
    unit: str,
    doc: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Field:
    return Field("ladder", values, unit, doc, minimum=minimum, maximum=maximum)


def _reasons(values: dict[str, float], unit: str, doc: str) -> Field:
    return Field("reasons", values, unit, doc)


CHANNEL_FIELDS: dict[str, Field] = {
    "budget_share": Field("share", 0.5, "share of budget", "Share of the acquisition budget."),
    "cost_per_contact": Field(
        "nonnegative", 1.0, "currency per contact", "Cost of reaching one suspect."
    ),
    "prospect_rate": Field(
        "probability", 0.05, "per contact", "Conversion rate suspect -> prospect."
    ),
    "conversion_rate": Field(
        "probability", 0.15, "per month", "Conversion rate prospect -> first purchase."
    ),
    "lookalike_strength": Field(
        "nonnegative",
        0.0,
        "exponent",
        "How strongly the channel finds suspects who resemble the best customers "
        "(0 = mass marketing, everyone equally likely).",
        maximum=10.0,  # resemblance to a power beyond 10 picks one person and overflows
    ),
}

SCHEMA: dict[str, dict[str, Field | Record]] = {
    "simulation": {
        "months": Field(
            "positive_count",
            120,
            "months",
            "Months simulated (one step = one month).",
            maximum=MAX_MONTHS,
        ),
        "customers": Field(
            "positive_count",
            20_000,
            "people",
            "People in the market at month 0: suspects, prospects, customers and defectors "
            "(a renewing market gains market.entry_rate_per_month of this number a month). "
            "Budgets are per 1,000 of these people, so the size sets the precision of the "
            "results, not the business.",
            maximum=MAX_CUSTOMERS,
        ),
        "follow_customers": Field(
            "count",
            12,
            "customers",
            "Customers whose month-by-month history is recorded.",
            maximum=MAX_FOLLOWED,
        ),
    },
    "market": {
        "initial_active_share": Field(
            "share", 0.2, "share of market", "Share of the market already customers at month 0."
        ),
        "entry_rate_per_month": Field(
            "share",
            0.005,
            "share of simulation.customers per month",
            "People who enter the market each month as new suspects (coming of age, moving "
            "in), as a share of the people in the market at month 0: the market renews. "
            "Nobody else becomes a suspect again (customers who leave stay lost customers), "
            "so without entrants the firm's acquisition slowly uses up its suspects. The "
            "default 0.5% a month (100 people at 20,000) is about the share of the market "
            "the baseline wins as first-time customers each month, so the baseline's "
            "suspects stay roughly level over ten years instead of running out. Entrants "
            "enter at the start of each month, in a fixed number (the rate x "
            "simulation.customers, rounded, carried over months), so every scenario of a "
            "comparison meets the same people; 0 = a closed market.",
        ),
        "warm_start_months": Field(
            "count",
            60,
            "months",
            "Months the market lives before month 0, uncounted, so that the customers of "
            "month 0 have a running mix of tenure, rungs and satisfaction (0 = they are all "
            "brand new at month 0).",
            maximum=600,
        ),
        "expectation_start": Field(
            "number", 0.5, "value units", "What the market expects from a firm at month 0."
        ),
        "expectation_drift_per_month": Field(
            "number",
            0.002,
            "value units per month",
            "How fast expectations rise at first (more information, more competition).",
        ),
        "expectation_ceiling": Field(
            "number",
            1.0,
            "value units",
            "What the market's expectation approaches: it rises by the drift at first, "
            "ever more slowly as it nears this level (null = it rises by the drift forever).",
            nullable=True,
        ),
        "expectation_adaptation_per_month": Field(
            "probability",
            0.05,
            "per month",
            "How fast a customer's expectation catches up with the market's.",
        ),
        "exit_rate_per_month": Field(
            "probability", 0.001, "per month", "Customers leaving the market (market defectors)."
        ),
        "obsolescence_rate_per_month": Field(
            "probability",
            0.0005,
            "per month",
            "Customers lost to a new technology (technological defectors).",
        ),
        "technology_shock_month": Field(
            "month",
            None,
            "month",
            "Month a new technology arrives; from then on obsolescence is stronger.",
            nullable=True,
        ),
        "technology_shock_rate_per_month": Field(
            "probability", 0.01, "per month", "Extra obsolescence after the technology shock."
        ),
    },
    "customers": {
        "behaviour": Field(
            "choice",
            "contractual",
            "",
            "contractual: renew or churn each month; non_contractual: retail purchases "
            "with unobserved dropout (BG/NBD).",
            choices=("contractual", "non_contractual"),
        ),
        "churn_probability_mean": Field(
            "probability",
            0.03,
            "per month",
            "Contractual: mean of each customer's own churn probability.",
        ),
        "churn_probability_polarization": Field(
            "share",
            0.1,
            "0..1",
            "Contractual: spread of churn probabilities across customers, "
            "1/(alpha+beta+1) of the Beta; 0 = everyone the same.",
            maximum=0.99,
        ),
        # With r <= 1000 and alpha >= 0.001 the heaviest buyer of the largest market
        # makes about a million purchases a month: Poisson draws that fit 32 bits.
        "purchase_rate_r": Field(
            "nonnegative",
            1.0,
            "shape",
            "Non-contractual: Gamma shape r of purchase rates.",
            minimum=1e-6,
            maximum=1000.0,
        ),
        "purchase_rate_alpha": Field(
            "nonnegative",
            1.0,
            "months",
            "Non-contractual: Gamma rate alpha of purchase rates "
            "(mean purchases per month = r / alpha).",
            minimum=1e-3,
        ),
        "dropout_a": Field(
            "nonnegative",
            1.5,
            "",
            "Non-contractual: Beta a of the dropout chance per purchase.",
            minimum=1e-6,
        ),
        "dropout_b": Field(
            "nonnegative",
            20.0,
            "",
            "Non-contractual: Beta b of the dropout chance per purchase.",
            minimum=1e-6,
        ),
        "order_value_mean": Field(
            "nonnegative",
            40.0,
            "currency per purchase",
            "Mean spend per purchase at the basic share of wallet (contractual: the monthly bill).",
        ),
        "order_value_spread": Field(
            "nonnegative",
            0.9,
            "log-scale sd",
            "Spread of spend across customers (lognormal); larger = a few heavy users carry "
            "more of the revenue.",
            # Beyond 5 the mean spend of even the largest market is far from the
            # requested mean (it needs about exp(spread^2) people), and the draws overflow.
            maximum=5.0,
        ),
        "order_value_shape_per_purchase": Field(
            "nonnegative",
            0.0,
            "Gamma shape",
            "Non-contractual: spread of each purchase's spend around the customer's own order "
            "value, as the shape p of a Gamma with that mean (the Gamma-Gamma spend model); "
            "larger = steadier; 0 = every purchase exactly the customer's order value.",
            maximum=1e6,
        ),
        "share_of_wallet_mean": Field(
            "probability", 0.4, "share", "Mean share of a new customer's category spend won."
        ),
        "share_of_wallet_polarization": Field(
            "share", 0.2, "0..1", "Spread of share of wallet.", maximum=0.99
        ),
        "price_sensitivity_mean": Field(
            "probability", 0.5, "0..1", "Mean price sensitivity (1 = follows any cheaper offer)."
        ),
        "price_sensitivity_polarization": Field(
            "share", 0.2, "0..1", "Spread of price sensitivity.", maximum=0.99
        ),
        "taste_spread": Field(
            "nonnegative", 0.15, "value units", "How much customers differ in the value they see."
        ),
        "background_reason_mix": _reasons(
            {
                "price": 0.35,
                "product": 0.25,
                "service": 0.2,
                "market": 0.1,
                "technological": 0.05,
                "organisational": 0.05,
            },
            "weights",
            "Reasons behind each customer's own (background) churn.",
        ),
    },
    "ladder": {
        "promotion_tenure_months": _ladder(
            [0, 3, 9, 18, 30], "months", "Tenure needed to stand on each rung."
        ),
        "promotion_satisfaction": _ladder(
            [-1.0, -0.05, 0.0, 0.05, 0.1], "value units", "Satisfaction needed to reach each rung."
        ),
        "promotion_spend_per_month": _ladder(
            [0, 0, 15, 25, 35], "currency per month", "Spend needed to reach each rung."
        ),
        "promotion_probability_per_month": Field(
            "probability", 0.25, "per month", "Chance an eligible customer moves up a rung."
        ),
        "demotion_satisfaction": Field(
            "number",
            -0.15,
            "value units",
            "Below this satisfaction a customer may slip down a rung.",
        ),
        "demotion_probability_per_month": Field(
            "probability", 0.3, "per month", "Chance a dissatisfied customer slips a rung."
        ),
        "churn_multiplier": _ladder(
            [1.4, 1.0, 0.8, 0.6, 0.45], "x", "Churn on each rung relative to a 'customer'."
        ),
        "spend_multiplier": _ladder(
            [0.8, 1.0, 1.15, 1.3, 1.45],
            "x",
            "Share of wallet on each rung relative to a new customer's basic share.",
        ),
        "price_sensitivity_multiplier": _ladder(
            [1.2, 1.0, 0.8, 0.6, 0.5], "x", "Price sensitivity on each rung."
        ),
        "referrals_per_month": _ladder(
            [0.0, 0.0, 0.0, 0.02, 0.05],
            "prospects per month",
            "Word of mouth of each rung.",
            # The month's referrals are one Poisson draw over every advocate (times a
            # referral programme's factor): its mean must stay below numpy's limit.
            minimum=0.0,
            maximum=10.0,
        ),
        "value_bonus": _ladder(
            [0.0, 0.0, 0.03, 0.06, 0.1],
            "value units",
            "Extra value each rung experiences (recognition, being known).",
        ),
    },
    "firm": {
        "price_index": Field(
            "nonnegative",
            1.0,
            "x market price",
            "Firm's price relative to the market price.",
            minimum=0.05,
        ),
        "gross_margin": Field(
            "share",
            0.35,
            "share of revenue at the market price",
            "Gross margin on sales at the market price. The cost of goods is a cost per unit "
            "that does not move with price: at price index p the margin is "
            "1 - (1 - gross_margin) / p of revenue.",
        ),
        "cost_to_serve_per_month": Field(
            "nonnegative", 2.0, "currency per customer-month", "Cost of serving one customer."
        ),
        "service_quality": Field("number", 0.3, "value units", "Service the firm delivers."),
        "product_quality": Field("number", 0.3, "value units", "Product the firm delivers."),
        "quality_improvement_per_month": Field(
            "number", 0.0, "value units per month", "How fast the firm improves what it delivers."
        ),
        "price_weight": Field(
            "nonnegative",
            1.0,
            "value units per price unit",
            "Value lost by a fully price-sensitive customer per unit of price above market.",
        ),
        "discount_rate_per_year": Field(
            "nonnegative", 0.10, "per year", "Discount rate for lifetime value.", maximum=10.0
        ),
        "margin_timing": Field(
            "choice",
            "start",
            "",
            "start: customers pay at the start of each month (before deciding to leave); "
            "end: only customers still there at month end pay.",
            choices=("start", "end"),
        ),
        "knowledge": Field(
            "choice",
            "estimated",
            "",
            "What the firm values and ranks its customers with (expected CLV, retention, "
            "firing and focusing): estimated = models fitted on its own records, a "
            "shifted-beta-geometric on tenure and churn (contractual customers) or a BG/NBD "
            "on purchase frequency, recency and age with a Gamma-Gamma on spend "
            "(non-contractual ones, whose silent dropout it does not see); oracle = each "
            "customer's hidden true chance of leaving (and whether a retail customer is "
            "still alive), for teaching.",
            choices=("estimated", "oracle"),
        ),
        "refit_every_months": Field(
            "positive_count",
            12,
            "months",
            "Months between fits of the firm's model to its records (the first is at "
            "month 0, on the records of the months before).",
            maximum=MAX_MONTHS,
        ),
        "organisational_failure_rate_per_month": Field(
            "probability",
            0.0005,
            "per month",
            "Customers lost to the firm's own organisational problems.",
        ),
        "churn_scale": Field(
            "nonnegative",
            1.0,
            "x",
            "Multiplier of every customer's monthly chance of leaving (1 = as modelled); "
            "sensitivity studies move it to ask what better retention is worth.",
        ),
        "service_defection_sensitivity": Field(
            "nonnegative",
            0.08,
            "per month per value unit",
            "Monthly churn added per unit of dissatisfaction (service defectors).",
        ),
    },
    "acquisition": {
        "budget_per_month_per_1000_people": Field(
            "nonnegative",
            400.0,
            "currency per month per 1,000 people",
            "Acquisition budget spent each month, per 1,000 people in the market at month 0 "
            "(simulation.customers): 400 is 8,000 a month at 20,000 people. Sized to the "
            "market, a budget buys the same business in a market of any size; the size then "
            "sets only the precision of the results.",
        ),
        "channels": Record(
            CHANNEL_FIELDS,
            {
                "mass": {
                    "budget_share": 0.6,
                    "cost_per_contact": 2.0,
                    "prospect_rate": 0.05,
                    "conversion_rate": 0.12,
                    "lookalike_strength": 0.0,
                },
                "lookalike": {
                    "budget_share": 0.4,
                    "cost_per_contact": 5.0,
                    "prospect_rate": 0.08,
                    "conversion_rate": 0.2,
                    "lookalike_strength": 1.0,
                },
            },
            "Acquisition channels by name; budget shares must add up to at most 1.",
            item="channel",
            most=MAX_CHANNELS,
        ),
        "conversion_price_elasticity": Field(
            "nonnegative",
            1.0,
            "per unit of price and of price sensitivity",
            "How prospects' first purchases respond to price: conversion x "
            "(1 - elasticity x price sensitivity x (price index - 1)); 0 = price does not "
            "act on acquisition.",
            maximum=20.0,
        ),
        "prospect_lapse_per_month": Field(
            "probability", 0.2, "per month", "Chance a prospect loses interest again."
        ),
        "referral_conversion_rate": Field(
            "probability", 0.3, "per month", "Conversion rate of prospects sent by advocates."
        ),
        "deterrence_per_defector": Field(
            "nonnegative",
            0.5,
            "prospects per defector",
            "Prospects put off by each customer who leaves unhappy (service or product).",
        ),
    },
    "competitor": {
        "reach_per_month": Field(
            "probability", 0.05, "per month", "Share of the firm's customers offered a deal."
        ),
        "offer_strength": Field(
            "probability",
            0.2,
            "0..1",
            "Chance a fully price-sensitive customer accepts the competitor's offer.",
        ),
        "strength_growth_per_year": Field(
            "number", 0.0, "per year", "Yearly growth of the competitor's offer strength."
        ),
        "value_focus": Field(
            "nonnegative",
            1.0,
            "exponent",
            "How much the competitor courts a valuable base: poaching scales with (mean spend "
            "of the firm's customers / mean spend in the market) to this power.",
            maximum=10.0,  # a ratio of spends to a higher power overflows
        ),
        "product_advantage_rate_per_month": Field(
            "probability",
            0.002,
            "per month",
            "Customers lost to the competitor's better product (product defectors).",
        ),
    },
    "reacquisition": {
        "return_probability_per_month": Field(
            "probability", 0.04, "per month", "Chance a just-lost customer comes back."
        ),
        "half_life_months": Field(
            "nonnegative",
            6.0,
            "months",
            "Months after which the chance of return has halved.",
            minimum=1e-6,
        ),
        "reason_recoverability": _reasons(
            {
                "price": 1.0,
                "product": 0.5,
                "service": 1.0,
                "market": 0.1,
                "technological": 0.05,
                "organisational": 0.7,
            },
            "x",
            "Relative chance of return by defection reason.",
        ),
        "cost_per_return": Field(
            "nonnegative", 15.0, "currency per customer", "Cost of winning a customer back."
        ),
    },
}


PER_1000_PEOPLE = "per 1,000 people in the market at month 0 (simulation.customers)"
"""What an amount ``..._per_1000_people`` is per."""

RENAMED: dict[str, dict[str, str]] = {
    "acquisition": {"budget_per_month": "budget_per_month_per_1000_people"},
}
"""Settings that were renamed, by section: old name -> new name. Each new name is an amount
per 1,000 people where the old one was an absolute amount; a scenario that still uses an
old name is told what it became (``crmsim.config.scenario``). Strategies list their own
(``Strategy.renamed``)."""

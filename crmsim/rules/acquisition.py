"""Acquisition: the funnel from suspect to prospect to first purchase.

Paid channels contact suspects and turn some of them into prospects (the
suspect -> prospect conversion rate); each month a prospect either makes a
first purchase (the prospect -> customer conversion rate of the channel it
came from), loses interest and becomes a suspect again, or waits. A
look-alike channel studies the firm's best customers and contacts people who
resemble them more often than mass marketing does. Advocates and raving fans
bring prospects by word of mouth at no cost, and customers who leave unhappy
put prospects off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from crmsim.vocabulary import ACTIVE, PROSPECT, SUSPECT

if TYPE_CHECKING:
    from crmsim.engine.customers import CustomerTable


@dataclass(frozen=True)
class Channel:
    """A paid acquisition channel.

    Attributes:
        code: Channel code stored in ``CustomerTable.prospect_source``.
        name: Channel name from the scenario.
        budget_share: Share of the monthly acquisition budget.
        cost_per_contact: Currency per suspect contacted.
        prospect_rate: Chance a contacted suspect becomes a prospect.
        conversion_rate: Chance per month a prospect from this channel buys.
        lookalike_strength: How strongly the channel favours people who resemble
            the best customers (0 = mass marketing).
    """

    code: int
    name: str
    budget_share: float
    cost_per_contact: float
    prospect_rate: float
    conversion_rate: float
    lookalike_strength: float


def conversion_rates(channels: list[Channel], referral_conversion_rate: float) -> np.ndarray:
    """Prospect -> customer conversion rate per prospect source (channels, then referral)."""
    return np.array([c.conversion_rate for c in channels] + [referral_conversion_rate], np.float32)


def price_response(
    price_sensitivity: np.ndarray, price_index: float, elasticity: float
) -> np.ndarray | None:
    """How much more (or less) likely a prospect is to buy at the firm's price.

    The factor is 1 - elasticity x price sensitivity x (price index - 1), never
    below 0: a discount raises a price-sensitive prospect's conversion, a rise
    lowers it, and an insensitive prospect does not care.

    Returns:
        The factor per prospect, or None when price does not act (at the market
        price, or with elasticity 0).
    """
    if price_index == 1.0 or elasticity == 0.0:
        return None
    change = np.float32(elasticity * (price_index - 1.0))
    return np.maximum(1.0 - change * price_sensitivity, 0.0)


def convert_prospects(
    table: CustomerTable,
    draws: np.ndarray,
    rates_by_source: np.ndarray,
    lapse_probability: float,
    price_index: float = 1.0,
    price_elasticity: float = 0.0,
    referrer_factor: np.ndarray | None = None,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Prospects make a first purchase, lose interest, or keep thinking.

    Args:
        table: The customer table.
        draws: This month's uniform draw for every person in the table.
        rates_by_source: Conversion rate per prospect source code (referrals last).
        lapse_probability: Chance per month a prospect lapses to suspect. The same draw
            decides buying (from the bottom of [0, 1)) and lapsing (from the top), so the
            chances are the conversion rate, ``lapse_probability`` and the rest to wait
            (a prospect cannot both buy and lapse).
        price_index: The firm's price relative to the market's.
        price_elasticity: How conversion responds to price (``price_response``).
        referrer_factor: Multiplier of the conversion rate of referred prospects by who
            referred them (one per person in the table; e.g. a referral programme's
            pull, which a held-out referrer's friends do not feel), or None.

    Returns:
        Rows that bought for the first time, the number of lapsed prospects, and the
        number of prospects at the start of the month by source.
    """
    prospects = (table.stage == PROSPECT).nonzero()[0]
    source = table.prospect_source[prospects]
    at_start = np.bincount(source, minlength=len(rates_by_source))
    u = draws[prospects]
    rates = rates_by_source[source]
    if referrer_factor is not None:
        referred = (source == len(rates_by_source) - 1).nonzero()[0]
        referrer = table.referred_by[prospects[referred]]
        pull = np.where(referrer >= 0, referrer_factor[np.maximum(referrer, 0)], 1.0)
        rates[referred] = np.minimum(rates[referred] * pull, 1.0)
    response = price_response(table.price_sensitivity[prospects], price_index, price_elasticity)
    if response is not None:
        rates = np.minimum(rates * response, 1.0)
    buys = u < rates
    # The same draw decides lapsing, from the other end of [0, 1).
    lapses = u >= 1.0 - lapse_probability
    lapses &= ~buys
    table.stage[prospects[lapses]] = SUSPECT
    converted = prospects[buys]
    table.stage[converted] = ACTIVE
    return converted, int(np.count_nonzero(lapses)), at_start


def contact_suspects(
    table: CustomerTable,
    draws: np.ndarray,
    channels: list[Channel],
    budget: float,
    channel_weights: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Paid channels contact suspects; interested ones become prospects.

    Each channel spends its share of the budget on ``spend / cost_per_contact``
    contacts, spread over suspects in proportion to their weight (1 for mass
    marketing, resemblance to the best customers raised to the channel's
    look-alike strength otherwise). The suspect's uniform draw in ``draws``
    (one per person in the table) decides which channel, if any, made them a
    prospect.

    Returns:
        Contacts and new prospects by channel.
    """
    suspects = (table.stage == SUSPECT).nonzero()[0]
    contacts = np.zeros(len(channels))
    new_prospects = np.zeros(len(channels), np.int64)
    if suspects.size == 0 or budget <= 0:
        return contacts, new_prospects
    u = draws[suspects]
    # Each channel's band of the draw: [lower, lower + chance x prospect rate), stacked.
    bands = []
    for channel, weights in zip(channels, channel_weights, strict=True):
        if channel.cost_per_contact > 0:
            n_contacts = budget * channel.budget_share / channel.cost_per_contact
        else:
            n_contacts = float(suspects.size) if channel.budget_share > 0 else 0.0
        n_contacts = min(n_contacts, float(suspects.size))
        contacts[channel.code] = n_contacts
        if n_contacts <= 0:
            continue
        if weights is None:
            chance = np.float32(n_contacts / suspects.size)
            bands.append((channel, None, chance, float(chance)))
        else:
            per_weight = np.float32(n_contacts / weights[suspects].sum())
            bands.append((channel, weights, per_weight, 1.0))
    # A suspect whose draw is above every band together is contacted to no avail: only
    # those below the bands' highest possible top need their chances worked out.
    top = sum(most * channel.prospect_rate for channel, _, _, most in bands)
    reached = (u < np.float32(top * (1.0 + 1e-5) + 1e-9)).nonzero()[0]
    suspects, u = suspects[reached], u[reached]
    lower = np.zeros(suspects.size, np.float32)
    for channel, weights, chance, _ in bands:
        if weights is not None:
            chance = np.minimum(weights[suspects] * chance, 1.0)
        upper = lower + chance * np.float32(channel.prospect_rate)
        hit = (u >= lower) & (u < upper)
        chosen = suspects[hit]
        table.stage[chosen] = PROSPECT
        table.prospect_source[chosen] = channel.code
        new_prospects[channel.code] = chosen.size
        lower = upper
    return contacts, new_prospects


def channel_spend(
    channels: list[Channel],
    budget: float,
    contacts: np.ndarray,
    converted: np.ndarray,
    sources: np.ndarray,
) -> list[tuple[Channel, float, np.ndarray]]:
    """What each channel spent this month and the new customers it brought.

    A channel pays for the contacts it made (at most its share of the budget): when
    the suspects left are fewer than the budget could reach, the rest is not spent.
    Its spend is shared by the customers it brought this month; a channel that
    brought nobody spent its money on no one customer.

    Args:
        channels: The channels with this month's budget shares.
        budget: This month's acquisition budget, currency.
        contacts: Contacts made by each channel this month (``contact_suspects``).
        converted: Rows of this month's first purchases.
        sources: Prospect source code of each of them.

    Returns:
        (channel, spend in currency, rows it brought) for each channel.
    """
    return [
        (
            channel,
            min(budget * channel.budget_share, contacts[channel.code] * channel.cost_per_contact),
            converted[sources == channel.code],
        )
        for channel in channels
    ]


def word_of_mouth_referrals(
    table: CustomerTable,
    rng: np.random.Generator,
    active_rows: np.ndarray,
    referrals_per_month_by_tier: np.ndarray,
    referral_code: int,
    referrer_rng: np.random.Generator | None = None,
    referral_factor: np.ndarray | None = None,
) -> int:
    """Advocates and raving fans bring prospects from among the suspects.

    The number of referred prospects is Poisson with mean the sum of each
    active customer's referral rate on their rung; each referred prospect is
    then credited to one of the active customers, drawn in proportion to their
    rates (``CustomerTable.referred_by``), so each customer refers at their own
    Poisson rate.

    Args:
        table: The customer table.
        rng: Stream of the number and choice of referred prospects.
        active_rows: The month's customers.
        referrals_per_month_by_tier: Referral rate on each rung, prospects per month.
        referral_code: Prospect source code of referrals.
        referrer_rng: Stream of who referred each prospect (None: not recorded).
        referral_factor: Multiplier of each person's referral rate (one per person in
            the table), or None.

    Returns:
        The number of new referred prospects.
    """
    rates = referrals_per_month_by_tier[table.tier[active_rows]]
    if referral_factor is not None:
        rates = rates * referral_factor[active_rows]
    expected = float(rates.sum())
    chosen = _move_at_random(table, rng, expected, SUSPECT, PROSPECT)
    table.prospect_source[chosen] = referral_code
    if referrer_rng is not None and chosen.size:
        table.referred_by[chosen] = draw_referrers(referrer_rng, active_rows, rates, chosen.size)
    return chosen.size


def draw_referrers(
    rng: np.random.Generator, rows: np.ndarray, rates: np.ndarray, count: int
) -> np.ndarray:
    """Who made each of ``count`` referrals: rows drawn in proportion to their ``rates``."""
    cumulative = np.cumsum(rates, dtype=np.float64)
    u = rng.random(count) * cumulative[-1]
    picked = np.minimum(np.searchsorted(cumulative, u, side="right"), rows.size - 1)
    return rows[picked].astype(np.int32)


def deter_prospects(
    table: CustomerTable, rng: np.random.Generator, unhappy_defectors: int, per_defector: float
) -> int:
    """Negative word of mouth: unhappy defectors put prospects off (they lapse to suspect).

    Returns:
        The number of prospects deterred.
    """
    return _move_at_random(table, rng, unhappy_defectors * per_defector, PROSPECT, SUSPECT).size


def _move_at_random(
    table: CustomerTable, rng: np.random.Generator, expected: float, source: int, target: int
) -> np.ndarray:
    """Move a Poisson(expected) number of people, at random, from one stage to another
    (as many as there are at most); returns their rows."""
    if expected <= 0:
        return np.zeros(0, np.int64)
    candidates = (table.stage == source).nonzero()[0]
    n = min(int(rng.poisson(expected)), candidates.size)
    if n == 0:
        return np.zeros(0, np.int64)
    chosen = rng.choice(candidates, size=n, replace=False)
    table.stage[chosen] = target
    return chosen

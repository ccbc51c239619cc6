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

from crmsim.compiled import ABSENT, compiled, pairwise_sum, sample_without_replacement, sum_at
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
    change = _price_change(price_index, elasticity)
    if change is None:
        return None
    response = np.empty(price_sensitivity.size, np.result_type(np.float32, price_sensitivity))
    _price_responses(change, price_sensitivity, response)
    return response


def _price_change(price_index: float, elasticity: float) -> np.float32 | None:
    """Elasticity x (price index - 1), or None when price does not act."""
    if price_index == 1.0 or elasticity == 0.0:
        return None
    return np.float32(elasticity * (price_index - 1.0))


@compiled
def _price_responses(change, price_sensitivity, response):
    for i in range(response.size):
        response[i] = _price_response(
            change, price_sensitivity[i], price_sensitivity.dtype.type(1.0)
        )


@compiled
def _price_response(change, price_sensitivity, one):
    # np.maximum(1.0 - change * sensitivity, 0.0), with 1 as ``one`` (the sensitivity's dtype).
    response = one - change * price_sensitivity
    if response < 0.0:
        return one - one
    return response


@dataclass(frozen=True)
class Conversions:
    """What the month's prospects did (``convert_prospects``), and who stands where after.

    Attributes:
        converted: Rows that bought for the first time.
        lapsed: Number of prospects who lost interest (suspects again).
        prospects_at_start: Prospects at the start of the month, by source.
        suspects: Rows of the suspects after it, those who lapsed included (row order;
            int32).
        customers: Rows of the active customers after it, the new ones included (row
            order).
    """

    converted: np.ndarray
    lapsed: int
    prospects_at_start: np.ndarray
    suspects: np.ndarray
    customers: np.ndarray


def convert_prospects(
    table: CustomerTable,
    draws: np.ndarray,
    rates_by_source: np.ndarray,
    lapse_probability: float,
    price_index: float = 1.0,
    price_elasticity: float = 0.0,
    referrer_factor: np.ndarray | None = None,
) -> Conversions:
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
        Who bought, how many lapsed, the prospects at the start by source, and (found on
        the same pass over the market) the suspects and customers after.
    """
    change = _price_change(price_index, price_elasticity)
    converted = np.empty(table.people, np.int64)
    # The suspects are most of a market and serve only the funnel's month: their rows are
    # int32 (a table holds fewer than 2**31 rows), half the memory of a search's int64.
    suspects = np.empty(table.people, np.int32)
    customers = np.empty(table.people, np.int64)
    at_start = np.zeros(len(rates_by_source), np.int64)
    bought, lapsed, n_suspects, n_customers = _convert_prospects(
        table.stage[: table.people],
        table.prospect_source,
        table.referred_by,
        table.price_sensitivity,
        draws,
        rates_by_source,
        np.float32(1.0 - lapse_probability),
        np.float32(0.0) if change is None else change,
        change is not None,
        ABSENT if referrer_factor is None else referrer_factor,
        referrer_factor is not None,
        converted,
        at_start,
        suspects,
        customers,
    )
    return Conversions(
        converted[:bought],
        int(lapsed),
        at_start,
        suspects[:n_suspects],
        customers[:n_customers],
    )


@compiled
def _convert_prospects(
    stage,
    prospect_source,
    referred_by,
    price_sensitivity,
    draws,
    rates_by_source,
    lapse_from,
    price_change,
    price_acts,
    referrer_factor,
    by_referrer,
    converted,
    at_start,
    suspects,
    customers,
):
    referral = rates_by_source.size - 1
    bought = lapsed = n_suspects = n_customers = 0
    for row in range(stage.size):
        if stage[row] == PROSPECT:
            source = prospect_source[row]
            at_start[source] += 1
            rate = rates_by_source[source]
            if by_referrer and source == referral:
                referrer = referred_by[row]
                if referrer >= 0:
                    rate = rates_by_source.dtype.type(min(rate * referrer_factor[referrer], 1.0))
            if price_acts:
                response = _price_response(
                    price_change, price_sensitivity[row], price_sensitivity.dtype.type(1.0)
                )
                rate = rates_by_source.dtype.type(min(rate * response, 1.0))
            u = draws[row]
            if u < rate:
                stage[row] = ACTIVE
                converted[bought] = row
                bought += 1
            elif u >= lapse_from:  # the same draw decides lapsing, from the other end of [0, 1)
                stage[row] = SUSPECT
                lapsed += 1
        # Each row is written to both lists and kept (the count moves on) only in its own.
        now = stage[row]
        suspects[n_suspects] = row
        n_suspects += now == SUSPECT
        customers[n_customers] = row
        n_customers += now == ACTIVE
    return bought, lapsed, n_suspects, n_customers


@dataclass(frozen=True)
class Contacts:
    """What the paid channels did this month (``contact_suspects``).

    Attributes:
        contacts: Contacts made, by channel.
        new_prospects: Suspects who became prospects, by channel.
        suspects: Rows of the suspects left after (row order).
    """

    contacts: np.ndarray
    new_prospects: np.ndarray
    suspects: np.ndarray


def contact_suspects(
    table: CustomerTable,
    draws: np.ndarray,
    channels: list[Channel],
    budget: float,
    channel_weights: list[np.ndarray],
    suspects: np.ndarray | None = None,
) -> Contacts:
    """Paid channels contact suspects; interested ones become prospects.

    Each channel spends its share of the budget on ``spend / cost_per_contact``
    contacts, spread over suspects in proportion to their weight (1 for mass
    marketing, resemblance to the best customers raised to the channel's
    look-alike strength otherwise). The suspect's uniform draw in ``draws``
    (one per person in the table) decides which channel, if any, made them a
    prospect.

    Args:
        table: The customer table.
        draws: This month's uniform draw for every person in the table.
        channels: The paid channels.
        budget: This month's acquisition budget, currency.
        channel_weights: Each channel's weight per person (None: mass marketing).
        suspects: The suspects' rows in row order, when known (``Conversions.suspects``);
            None finds them.

    Returns:
        Contacts and new prospects by channel, and the suspects left.
    """
    if suspects is None:
        suspects = (table.stage == SUSPECT).nonzero()[0]
    contacts = np.zeros(len(channels))
    new_prospects = np.zeros(len(channels), np.int64)
    if suspects.size == 0 or budget <= 0:
        return Contacts(contacts, new_prospects, suspects)
    # Each channel's band of the draw: [lower, lower + chance x prospect rate), stacked.
    codes = np.empty(len(channels), np.int64)
    chances = np.empty(len(channels), np.float32)
    prospect_rates = np.empty(len(channels), np.float32)
    weights_by_band = []
    # A suspect whose draw is above every band together is contacted to no avail: only
    # those below the bands' highest possible top need their chances worked out.
    top = 0.0
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
            top += float(chance) * channel.prospect_rate
        else:
            # (A compiled sum comes back as a Python float: made float32 again, as numpy's.)
            chance = np.float32(n_contacts / np.float32(sum_at(weights, suspects)))
            top += channel.prospect_rate
        band = len(weights_by_band)
        codes[band], chances[band] = channel.code, chance
        prospect_rates[band] = channel.prospect_rate
        weights_by_band.append(ABSENT if weights is None else weights)
    if not weights_by_band:
        return Contacts(contacts, new_prospects, suspects)
    bands = len(weights_by_band)
    left = np.empty(suspects.size, suspects.dtype)
    n_left = _contact_suspects(
        table.stage,
        table.prospect_source,
        suspects,
        draws,
        np.float32(top * (1.0 + 1e-5) + 1e-9),
        codes[:bands],
        chances[:bands],
        prospect_rates[:bands],
        tuple(weights_by_band),
        new_prospects,
        left,
    )
    return Contacts(contacts, new_prospects, left[:n_left])


@compiled
def _contact_suspects(
    stage,
    prospect_source,
    suspects,
    draws,
    reach,
    codes,
    chances,
    prospect_rates,
    weights,
    new_prospects,
    left,
):
    # Each band is [lower, lower + chance x prospect rate), stacked in turn; a band's
    # chance is per weight when it has weights (look-alike), capped at 1. The bands do not
    # overlap: the draw lands in one at most (found without branches to mispredict). The
    # suspects not made prospects are written to ``left``; returns how many.
    one = chances.dtype.type(1.0)
    n_left = 0
    for row in suspects:
        u = draws[row]
        left[n_left] = row
        if u >= reach:
            n_left += 1
            continue
        lower = prospect_rates.dtype.type(0.0)
        landed = -1
        for band in range(codes.size):
            chance = chances[band]
            if weights[band].size:
                chance = min(weights[band][row] * chance, one)
            upper = lower + chance * prospect_rates[band]
            landed = band if (lower <= u) & (u < upper) else landed
            lower = upper
        if landed >= 0:
            stage[row] = PROSPECT
            prospect_source[row] = codes[landed]
            new_prospects[codes[landed]] += 1
        else:
            n_left += 1
    return n_left


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
    suspects: np.ndarray | None = None,
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
        suspects: The suspects' rows in row order, when known (``Contacts.suspects``);
            None finds them.

    Returns:
        The number of new referred prospects.
    """
    rates = np.empty(
        active_rows.size,
        referrals_per_month_by_tier.dtype
        if referral_factor is None
        else np.result_type(referrals_per_month_by_tier, referral_factor),
    )
    expected = float(
        _referral_rates(
            table.tier,
            active_rows,
            referrals_per_month_by_tier,
            ABSENT if referral_factor is None else referral_factor,
            referral_factor is not None,
            rates,
        )
    )
    chosen = _move_at_random(table, rng, expected, SUSPECT, PROSPECT, suspects)
    table.prospect_source[chosen] = referral_code
    if referrer_rng is not None and chosen.size:
        table.referred_by[chosen] = draw_referrers(referrer_rng, active_rows, rates, chosen.size)
    return chosen.size


def draw_referrers(
    rng: np.random.Generator, rows: np.ndarray, rates: np.ndarray, count: int
) -> np.ndarray:
    """Who made each of ``count`` referrals: rows drawn in proportion to their ``rates``."""
    referrers = np.empty(count, np.int32)
    _draw_referrers(rows, rates, rng.random(count), referrers)
    return referrers


@compiled
def _referral_rates(tier, active_rows, rates_by_tier, referral_factor, by_person, rates):
    # Each customer's rate, and their sum as numpy's rates.sum() adds them.
    for i in range(active_rows.size):
        row = active_rows[i]
        rate = rates_by_tier[tier[row]]
        if by_person:
            rate = rate * referral_factor[row]
        rates[i] = rate
    return pairwise_sum(rates)


@compiled
def _draw_referrers(rows, rates, uniforms, referrers):
    # u x total lands in the running total (float64, as np.cumsum) of one referrer: the
    # first whose running total is above it (np.searchsorted, side="right").
    cumulative = np.empty(rates.size, np.float64)
    running = 0.0
    for i in range(rates.size):
        running += rates[i]
        cumulative[i] = running
    for k in range(uniforms.size):
        u = uniforms[k] * running
        low, high = 0, cumulative.size
        while low < high:
            middle = (low + high) // 2
            if cumulative[middle] <= u:
                low = middle + 1
            else:
                high = middle
        referrers[k] = rows[min(low, rows.size - 1)]


def deter_prospects(
    table: CustomerTable, rng: np.random.Generator, unhappy_defectors: int, per_defector: float
) -> int:
    """Negative word of mouth: unhappy defectors put prospects off (they lapse to suspect).

    Returns:
        The number of prospects deterred.
    """
    return _move_at_random(table, rng, unhappy_defectors * per_defector, PROSPECT, SUSPECT).size


def _move_at_random(
    table: CustomerTable,
    rng: np.random.Generator,
    expected: float,
    source: int,
    target: int,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Move a Poisson(expected) number of people, at random, from one stage to another
    (as many as there are at most); returns their rows. ``candidates`` are the rows at
    ``source`` in row order, when known."""
    if expected <= 0:
        return np.zeros(0, np.int64)
    drawn = int(rng.poisson(expected))
    if drawn == 0:  # (nobody to find: the same draws, without the search)
        return np.zeros(0, np.int64)
    if candidates is None:
        candidates = (table.stage == source).nonzero()[0]
    n = min(drawn, candidates.size)
    if n == 0:
        return np.zeros(0, np.int64)
    chosen = candidates[sample_without_replacement(rng, candidates.size, n)]
    table.stage[chosen] = target
    return chosen

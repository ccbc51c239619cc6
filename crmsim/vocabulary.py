"""The lab's words and their codes: stages, ladder rungs, defection reasons, cost kinds.

Every other module reads these names from here, so a stage, a rung or a
reason is spelt and numbered in one place. This module imports nothing of
crmsim.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = ("suspect", "prospect", "active", "defected")
"""Stages of the relationship; every person is in exactly one (codes 0..3)."""
SUSPECT, PROSPECT, ACTIVE, DEFECTED = range(len(STAGES))

OUTSIDE = len(STAGES)
"""Stage code of a row kept for someone who has not entered the market yet (a renewing
market: ``market.entry_rate_per_month``). Such a row is in none of the stages above, no
rule touches it, and it counts in no measure until the person enters, as a suspect."""
STAGE_NAMES: tuple[str, ...] = (*STAGES, "outside")
"""Names of the stage codes, rows outside the market (``OUTSIDE``) included."""

TIERS: tuple[str, ...] = ("shopper", "customer", "member", "advocate", "raving_fan")
"""Rungs of the loyalty ladder an active customer climbs, lowest first (codes 0..4)."""
SHOPPER, CUSTOMER, MEMBER, ADVOCATE, RAVING_FAN = range(len(TIERS))

DEFECTION_REASONS: tuple[str, ...] = (
    "price",
    "product",
    "service",
    "market",
    "technological",
    "organisational",
)
"""Why customers leave of their own accord, as in the course's defector types."""
PRICE, PRODUCT, SERVICE, MARKET, TECHNOLOGICAL, ORGANISATIONAL = range(len(DEFECTION_REASONS))

FIRED = len(DEFECTION_REASONS)
"""Reason code of customers the firm let go (after the defector types)."""
REASONS: tuple[str, ...] = (*DEFECTION_REASONS, "fired")
"""Every reason a relationship ends, by code."""
NO_REASON = -1
"""Reason code of a person who never left."""

SERVICE_OR_PRODUCT: tuple[int, int] = (SERVICE, PRODUCT)
"""Reasons whose leavers tell others (negative word of mouth)."""

COST_KINDS: tuple[str, ...] = ("acquisition", "service", "programme", "return")
"""Kinds of cost charged to customers: winning them, serving them, programmes, win-backs."""

INITIAL_BASE = "initial_base"
REFERRAL = "referral"
"""Sources of customers besides the paid channels (referral code = number of channels,
initial base code = number of channels + 1)."""

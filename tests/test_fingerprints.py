"""Every shipped scenario still gives the same results for the same seed.

The fingerprints in ``tests/golden/fingerprints.json`` hash one seeded run of
each shipped scenario (monthly series, headline measures, customer table);
they change only when behaviour changes on purpose (``python
tests/fingerprint.py --update``, with the reason in the commit).
"""

from __future__ import annotations

import json

import pytest
from fingerprint import GOLDEN, GOLDEN_ORACLE, fingerprint, shipped_scenario_names

GOLDEN_PRINTS = json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_shipped_scenario_has_a_fingerprint():
    assert sorted(GOLDEN_PRINTS) == shipped_scenario_names()


@pytest.mark.parametrize("name", shipped_scenario_names())
def test_same_seed_same_results(name):
    assert fingerprint(name) == GOLDEN_PRINTS[name]


GOLDEN_ORACLE_PRINTS = json.loads(GOLDEN_ORACLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", shipped_scenario_names())
def test_the_oracle_gives_the_results_of_the_engine_before_the_firm_estimated(name):
    """With ``firm.knowledge: oracle`` the firm reads the truth as before: the same results
    bit for bit as the engine before the firm's view (its fingerprints, kept apart)."""
    assert fingerprint(name, "oracle") == GOLDEN_ORACLE_PRINTS[name]

"""The random streams of a run: one seed, many independent streams.

Every random decision of the lab draws from a stream of its own, spawned from
the run's seed (``numpy.random.SeedSequence.spawn``), so that scenarios compared
with the same seed differ only where a strategy makes them differ: common
random numbers, person by person.
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "traits",
    "joining",
    "leaving",
    "word_of_mouth",
    "purchasing",
    "warm_start",
    "referrers",
    "order_values",
)
"""Independent random streams of a run. Each month everyone gets one "joining" draw
(used by the funnel for suspects and prospects, by the ladder for customers) and one
"leaving" draw (defection for customers, return for those gone since an earlier month):
each person's draw serves at most one decision, and stays theirs across scenarios.
The months before month 0 (``crmsim.engine.warm_start``) draw from "warm_start"; who
referred each referred prospect is drawn from "referrers" and the spend of each retail purchase
from "order_values" (each added last, so the streams before it are the same as
without it). Strategies draw from streams of their own
(:meth:`RandomStreams.of_strategy`)."""

ENTRANT_STREAMS = ("traits", "joining", "leaving")
"""Streams of the people who enter a renewing market after month 0, apart from those of
the people of month 0 (:meth:`RandomStreams.for_everyone`): the entry rate and the
months of a run change nothing of the draws of the people of month 0."""


class RandomStreams:
    """The streams of one run, by name (``streams["purchasing"]``).

    Args:
        seed: The run's seed.

    Attributes:
        entrants: The streams of the people who enter after month 0, by name.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        seeds = np.random.SeedSequence(seed).spawn(len(STREAMS) + 1)
        # The entrants' seed is the one after "warm_start", as before "referrers" came.
        entrants = seeds.pop(STREAMS.index("referrers"))
        self._streams = {n: np.random.default_rng(s) for n, s in zip(STREAMS, seeds, strict=True)}
        self.entrants = {
            n: np.random.default_rng(s)
            for n, s in zip(ENTRANT_STREAMS, entrants.spawn(len(ENTRANT_STREAMS)), strict=True)
        }
        self._strategies: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        return self._streams[name]

    def for_everyone(self, name: str, people: int, initial_people: int) -> np.ndarray:
        """A fresh uniform draw in [0, 1) for every person in the market, from stream ``name``.

        Drawing for everyone (not only for the customers a rule concerns) keeps
        person i's draw the same across the scenarios of a comparison, whatever
        happened to the others. The ``initial_people`` of month 0 draw from the
        stream, those who entered since from a stream of the entrants' own; rows not
        yet entered draw nothing. Entry follows a fixed schedule, so every scenario
        of a comparison has the same ``people`` each month and each keeps their draws.
        """
        draws = np.empty(people, np.float32)
        self._streams[name].random(dtype=np.float32, out=draws[:initial_people])
        if people > initial_people:
            self.entrants[name].random(dtype=np.float32, out=draws[initial_people:])
        return draws

    def of_strategy(self, name: str) -> np.random.Generator:
        """A stream of a strategy's own, the same whatever else runs (by seed and name)."""
        if name not in self._strategies:
            key = zlib.crc32(name.encode())
            self._strategies[name] = np.random.default_rng([self.seed, key])
        return self._strategies[name]

    def release(self) -> None:
        """Let go of the strategies' streams."""
        self._strategies.clear()

"""How a rule's loop over customers is compiled.

A month runs each rule on a few hundred to a few thousand customers, where a
chain of numpy expressions costs more in calls than in arithmetic. A rule whose
arithmetic is a chain of such expressions writes it instead as one loop over
customers, compiled to machine code with numba: one call a month instead of
ten or twenty.

A compiled loop gives bit for bit what the numpy expressions it replaces gave
(the shipped scenarios' fingerprints, ``tests/test_fingerprints.py``, check it),
by following numpy's arithmetic: each operation in the dtype numpy would use
(a Python number takes the array's dtype, as numpy's weak scalars do; write it
as ``values.dtype.type(number)``), sums and transcendental functions left to
numpy (its pairwise sums and vectorised ``exp``/``log`` round differently), no
fused multiply-adds (numba's default).

Compiled code is cached beside the module (or in the user's cache folder when
that is read-only), so only the first run after an install compiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np


def compiled[F: Callable](function: F) -> F:
    """Compile ``function`` (a loop over numpy arrays and numbers) with numba, cached.

    Division by zero gives inf or nan, as in numpy, rather than an error.
    """
    return numba.njit(cache=True, nogil=True, error_model="numpy")(function)


ABSENT = np.zeros(0, np.float32)
"""An optional array left out, for a compiled loop (which takes arrays, not None): pass
it with a flag saying whether the array is given."""

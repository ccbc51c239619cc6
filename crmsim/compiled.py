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
as ``values.dtype.type(number)``), sums in numpy's own order (``pairwise_sum``,
``sum_at``, ``sum_as_float64(_at)`` below: a running total rounds differently),
transcendental functions left to numpy (its vectorised ``exp``/``log`` round
differently), no fused multiply-adds (numba's default). A draw from a numpy
``Generator`` is made where numpy makes it, or, for a sample without
replacement, by ``sample_without_replacement`` below, which draws what
``Generator.choice`` draws from the same stream.

Compiled code is cached beside the module (or in the user's cache folder when
that is read-only), so only the first run after an install compiles.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic


def compiled[F: Callable](function: F) -> F:
    """Compile ``function`` (a loop over numpy arrays and numbers) with numba, cached.

    Division by zero gives inf or nan, as in numpy, rather than an error. Where no
    folder can hold the cache (the package's folder and the user's cache folder both
    read-only), the loop is compiled in each process instead, the first time it runs.
    """
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)


ABSENT = np.zeros(0, np.float32)
"""An optional array left out, for a compiled loop (which takes arrays, not None): pass
it with a flag saying whether the array is given."""


@compiled
def pairwise_sum(values):  # noqa: ANN001, ANN201 (compiled for each dtype)
    """The sum of a 1-d array as ``np.add.reduce`` adds it, bit for bit: numpy's pairwise
    summation, in the array's dtype.

    numpy halves the array (the first half a multiple of 8 long) until a part is at most
    128 long, adds such a part with 8 accumulators, and adds the halves' sums; the same
    tree is walked here with a stack of its own (a compiled function that calls itself
    cannot be cached).
    """
    # Each task is a part of the array; its phase says how far it is: 0 = its first half
    # is still to add, 1 = its second half, 2 = both halves are on the stack of sums.
    starts = np.empty(64, np.int64)
    counts = np.empty(64, np.int64)
    phases = np.zeros(64, np.int8)
    sums = np.empty(64, values.dtype)
    tasks = 1
    starts[0], counts[0] = 0, values.size
    added = 0
    while tasks:
        task = tasks - 1
        start, count = starts[task], counts[task]
        if count <= 128:
            sums[added] = _block_sum(values, start, count)
            added += 1
            tasks -= 1
            continue
        half = count // 2
        half -= half % 8
        if phases[task] == 2:
            sums[added - 2] = sums[added - 2] + sums[added - 1]
            added -= 1
            tasks -= 1
            continue
        first = phases[task] == 0
        phases[task] += 1
        starts[tasks] = start if first else start + half
        counts[tasks] = half if first else count - half
        phases[tasks] = 0
        tasks += 1
    return sums[0]


@compiled
def _block_sum(values, start, count):
    # numpy's sum of at most 128 values: one by one below 8, else 8 accumulators.
    if count < 8:
        total = values.dtype.type(0.0)
        for i in range(start, start + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = start + 8
    end = start + count - count % 8
    while i < end:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < start + count:
        total += values[i]
        i += 1
    return total


@compiled
def sum_at(values, rows):  # noqa: ANN001, ANN201 (compiled for each dtype)
    """``values[rows].sum()``, bit for bit, without the gathered array in Python."""
    picked = np.empty(rows.size, values.dtype)
    for i in range(rows.size):
        picked[i] = values[rows[i]]
    return pairwise_sum(picked)


@compiled
def sum_as_float64(values):  # noqa: ANN001, ANN201 (compiled for each dtype)
    """``values.sum(dtype=np.float64)`` of float values, bit for bit: float64 values are
    summed pairwise (``pairwise_sum``); others are cast to float64 in buffers of 8,192
    (numpy's default buffer size), whose pairwise sums are added in turn."""
    if values.itemsize == 8:
        return np.float64(pairwise_sum(values))
    return _sum_cast(values, np.arange(0), False)


@compiled
def sum_as_float64_at(values, rows):  # noqa: ANN001, ANN201 (compiled for each dtype)
    """``values[rows].sum(dtype=np.float64)``, bit for bit, without the gathered array in
    Python (as ``sum_as_float64`` sums it)."""
    if values.itemsize == 8:
        return np.float64(sum_at(values, rows))
    return _sum_cast(values, rows, True)


@compiled
def _sum_cast(values, rows, at_rows):
    # Cast to float64 in numpy's buffers of 8,192 (of ``values``, or of ``values[rows]``),
    # each summed pairwise, the buffers' sums added in turn.
    size = rows.size if at_rows else values.size
    total = 0.0
    for start in range(0, size, 8192):
        stop = min(start + 8192, size)
        part = np.empty(stop - start, np.float64)
        for i in range(start, stop):
            part[i - start] = values[rows[i]] if at_rows else values[i]
        total += pairwise_sum(part)
    return total


def sample_without_replacement(rng: np.random.Generator, population: int, size: int) -> np.ndarray:
    """``rng.choice(population, size, replace=False)``: the same int64 positions, drawn
    from ``rng`` as numpy draws them, without the Python work of ``choice`` (about 15 us a
    call within a month, against 2 us here).

    numpy shuffles the tail of a whole permutation when it takes more than a fiftieth of
    a population above 10,000; otherwise it takes Floyd's sample (keeping the picks in an
    open-addressing set) and shuffles it. Either way each pick is a bounded draw from the
    bit generator's 32-bit numbers, made here through the bit generator's own function,
    so ``rng`` goes on where the sample left it.

    Raises:
        ValueError: ``size`` outside 0 to ``population``, or a population of 2**31 or more.
    """
    if not 0 <= size <= population < 2**31:
        raise ValueError(
            f"a sample of {size} from {population} without replacement: the size must be "
            "0 to the population, and the population below 2**31"
        )
    raw = rng.bit_generator.ctypes
    # The function's address, read from the ctypes pointer (ctypes.cast takes longer); the
    # state's belongs to ``rng``, which the caller holds throughout.
    function = ctypes.c_void_p.from_address(ctypes.addressof(raw.next_uint32)).value
    return _sample(function, raw.state_address, population, size)


@intrinsic
def _next_uint32(typingctx, function, state):  # noqa: ANN001, ANN202, ARG001
    # Call the bit generator's next_uint32(void *state) at the addresses given.
    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202, ARG001
        pointer = ir.IntType(8).as_pointer()
        next_uint32 = ir.FunctionType(ir.IntType(32), [pointer]).as_pointer()
        call = builder.inttoptr(args[0], next_uint32)
        return builder.call(call, [builder.inttoptr(args[1], pointer)])

    return types.uint32(types.uintp, types.uintp), codegen


@compiled
def _bounded(function, state, high):  # noqa: ANN001, ANN202
    # A whole number in [0, high], high < 2**32 - 1, as numpy's random_bounded_uint64
    # draws it (Lemire's multiply and reject, on 32-bit draws); 0 draws nothing.
    if high == 0:
        return np.int64(0)
    span = np.uint64(high) + np.uint64(1)
    product = np.uint64(_next_uint32(function, state)) * span
    leftover = product & np.uint64(0xFFFFFFFF)
    if leftover < span:
        threshold = (np.uint64(0xFFFFFFFF) - np.uint64(high)) % span
        while leftover < threshold:
            product = np.uint64(_next_uint32(function, state)) * span
            leftover = product & np.uint64(0xFFFFFFFF)
    return np.int64(product >> np.uint64(32))


@compiled
def _sample(function, state, population, size):  # noqa: ANN001, ANN202
    if population > 10000 and size > population // 50:
        picks = np.arange(population)
        for i in range(population - 1, max(population - size, 1) - 1, -1):
            _swap(picks, i, _bounded(function, state, i))
        return picks[population - size :].copy()
    picks = np.empty(size, np.int64)
    mask = _mask(np.uint64(np.int64(1.2 * size)))
    empty = np.uint64(0xFFFFFFFFFFFFFFFF)
    taken = np.full(np.int64(mask) + 1, empty, np.uint64)
    for j in range(population - size, population):
        pick = _bounded(function, state, j)
        slot = np.uint64(pick) & mask
        while taken[slot] != empty and taken[slot] != np.uint64(pick):
            slot = (slot + np.uint64(1)) & mask
        if taken[slot] == empty:
            taken[slot] = np.uint64(pick)
        else:  # picked before: j instead (not pickable before now, so new)
            pick = j
            slot = np.uint64(j) & mask
            while taken[slot] != empty:
                slot = (slot + np.uint64(1)) & mask
            taken[slot] = np.uint64(j)
        picks[j - population + size] = pick
    for i in range(size - 1, 0, -1):
        _swap(picks, i, _bounded(function, state, i))
    return picks


@compiled
def _swap(values, i, j):  # noqa: ANN001, ANN202
    values[i], values[j] = values[j], values[i]


@compiled
def _mask(value):  # noqa: ANN001, ANN202
    # The smallest 2**k - 1 at least ``value`` (numpy's _gen_mask).
    for shift in (1, 2, 4, 8, 16, 32):
        value |= value >> np.uint64(shift)
    return value

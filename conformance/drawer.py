"""The drawer `g` an op's `samples(g)` draws from, built on hypothesis.

Every choice (`g.shape()`, `g.tensor(...)`, `g.booleans()`, ...) is a `data.draw` of a
hypothesis strategy, so hypothesis records it, shrinks it when a check fails, and replays it
from its example database. The interface is `domains.Drawer`; this module only adds *modes*,
which the checks use to steer the same `samples` function toward different inputs:

    plain     the op's domain as declared
    edge      shapes at the edges: 0-dim, all sizes 1, an empty dimension, broadcasting
              between different ranks (check `broadcast`)
    special   values at the edges: 0 and -0, ties, +-inf, NaN, huge and tiny magnitudes,
              in every tensor the op did not mark `special=False` (check `special`)
    mixed     each tensor draws its own dtype from the op's dtypes, so type promotion is
              exercised (check `dtypes`)
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hypergrad as hg

from .domains import SampleTensor

__all__ = ["MODES", "HypothesisDrawer"]

MODES = ("plain", "edge", "special", "mixed")

# How far `exclude` keeps values from the excluded points (domains.unary's documented 1e-3).
_EXCLUDE_GAP = 1e-3

_strategy_cache = {}


def _cached(key, build):
    strategy = _strategy_cache.get(key)
    if strategy is None:
        strategy = _strategy_cache[key] = build()
    return strategy


def _as_dtype(dtype):
    if isinstance(dtype, hg.dtype):
        return dtype
    return hg.dtypes.to_dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, str)
                              else dtype)


class HypothesisDrawer:
    """The `g` passed to `samples(g)`: every method draws through hypothesis' `data`."""

    def __init__(self, data, dtype, mode="plain", dtypes=()):
        if mode not in MODES:
            raise ValueError(f"unknown drawer mode {mode!r}; expected one of {MODES}")
        self._data = data
        self.dtype = _as_dtype(dtype)
        self.mode = mode
        self._dtypes = tuple(_as_dtype(d) for d in dtypes) or (self.dtype,)

    def draw(self, strategy, label=None):
        """Draw from any hypothesis strategy (an escape hatch for unusual domains)."""
        return self._data.draw(strategy, label=label)

    # --- shapes -------------------------------------------------------------------------------
    def shape(self, min_dims=0, max_dims=3, min_side=1, max_side=4):
        max_dims = max(max_dims, min_dims)
        max_side = max(max_side, min_side)
        if self.mode == "edge":
            strategy = _cached(("edge-shape", min_dims, max_dims, min_side, max_side),
                               lambda: _edge_shape(min_dims, max_dims, min_side, max_side))
        else:
            strategy = _cached(("shape", min_dims, max_dims, min_side, max_side),
                               lambda: hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                                        min_side=min_side, max_side=max_side))
        return self._data.draw(strategy, label="shape")

    def shapes(self, n, min_dims=0, max_dims=3, min_side=1, max_side=4):
        max_dims = max(max_dims, min_dims)
        max_side = max(max_side, min_side)
        low_side = 0 if self.mode == "edge" and min_side <= 1 else min_side
        strategy = _cached(
            ("shapes", n, min_dims, max_dims, low_side, max_side),
            lambda: hnp.mutually_broadcastable_shapes(
                num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=low_side,
                max_side=max_side).map(lambda result: tuple(result.input_shapes)))
        return self._data.draw(strategy, label="shapes")

    # --- tensors ------------------------------------------------------------------------------
    def tensor(self, shape, low=-5.0, high=5.0, *, dtype=None, requires_grad=None,
               integral=False, exclude=(), special=True):
        if dtype is None:
            dtype = self.dtype if self.mode != "mixed" else self._data.draw(
                _cached(("dtypes", self._dtypes), lambda: st.sampled_from(self._dtypes)),
                label="dtype")
        dtype = _as_dtype(dtype)
        special = special and self.mode == "special"
        elements = _cached((dtype.name, float(low), float(high), integral, tuple(exclude),
                            special), lambda: _elements(dtype, low, high, integral,
                                                        tuple(exclude), special))
        shape = tuple(int(s) for s in shape)
        array = self._data.draw(
            _cached(("array", dtype.name, shape, id(elements)),
                    lambda: hnp.arrays(dtype.numpy, shape, elements=elements)),
            label="tensor")
        if requires_grad is None:
            requires_grad = dtype.is_floating_point
        return SampleTensor(array, bool(requires_grad) and dtype.is_floating_point)

    def cotangent(self, shape, dtype, low=-2.0, high=2.0):
        """A gradient for an output of this shape and dtype (the checks' random direction)."""
        return self.tensor(shape, low, high, dtype=dtype, requires_grad=False,
                           special=False).array

    # --- numbers ------------------------------------------------------------------------------
    def integers(self, min_value, max_value):
        return self._data.draw(_cached(("int", min_value, max_value),
                                       lambda: st.integers(min_value, max_value)))

    def floats(self, min_value, max_value):
        return self._data.draw(_cached(
            ("float", min_value, max_value),
            lambda: st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)))

    def booleans(self):
        return self._data.draw(_cached(("bool",), st.booleans))

    def sampled_from(self, options):
        options = tuple(options)
        return self._data.draw(st.sampled_from(options))

    def dim(self, ndim, allow_none=False):
        bound = max(ndim, 1)
        strategy = _cached(("dim", bound, allow_none), lambda: (
            st.one_of(st.none(), st.integers(-bound, bound - 1)) if allow_none
            else st.integers(-bound, bound - 1)))
        return self._data.draw(strategy, label="dim")


def _edge_shape(min_dims, max_dims, min_side, max_side):
    """0-dim, all-ones, one empty dimension, or ordinary shapes with sizes from 1."""
    options = []
    if min_dims == 0:
        options.append(st.just(()))
    ranked = max(min_dims, 1)
    if ranked <= max_dims:
        if min_side <= 1:
            options.append(hnp.array_shapes(min_dims=ranked, max_dims=max_dims, min_side=1,
                                            max_side=1))
            options.append(hnp.array_shapes(min_dims=ranked, max_dims=max_dims, min_side=0,
                                            max_side=max_side).filter(lambda s: 0 in s))
        options.append(hnp.array_shapes(min_dims=ranked, max_dims=max_dims,
                                        min_side=min_side, max_side=max_side))
    return st.one_of(options) if options else st.just(())


def _float_bounds(low, high, np_dtype):
    """[low, high] shrunk to values representable in `np_dtype` (hypothesis insists)."""
    lo = np_dtype.type(low)
    if float(lo) < low:
        lo = np.nextafter(lo, np_dtype.type(np.inf))
    hi = np_dtype.type(high)
    if float(hi) > high:
        hi = np.nextafter(hi, np_dtype.type(-np.inf))
    return float(lo), float(hi)


def _special_values(dtype):
    """The edge values the `special` check mixes in, as Python numbers of this dtype."""
    if dtype.name == "bool":
        return [False, True]
    if not dtype.is_floating_point:
        big = 2 ** (8 * dtype.itemsize - 2)
        return [0, 1, -1, big, -big] if dtype.is_signed else [0, 1, big]
    info = np.finfo(dtype.numpy)
    wide = float(info.max) > 1e200
    big, tiny = (1e200, 1e-200) if wide else (1e30, 1e-30)
    cast = dtype.numpy.type
    return [float(cast(v)) for v in
            (0.0, -0.0, math.inf, -math.inf, math.nan, big, -big, tiny, -tiny, 1.0, -1.0)]


def _elements(dtype, low, high, integral, exclude, special):
    """The strategy for one element of a tensor of `dtype` in [low, high]."""
    if dtype.name == "bool":
        return st.booleans()
    if not dtype.is_floating_point or integral:
        lo, hi = math.ceil(low), math.floor(high)
        if lo > hi:
            lo = hi = round((low + high) / 2)
        if not dtype.is_floating_point:
            info = np.iinfo(dtype.numpy)
            lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
        strategy = st.integers(lo, hi)
        if exclude:
            strategy = strategy.map(lambda v: _push_away(v, exclude, lo, hi, 1, integer=True))
        if dtype.is_floating_point:
            strategy = strategy.map(float)
    else:
        lo, hi = _float_bounds(low, high, dtype.numpy)
        width = 32 if dtype.numpy.itemsize == 4 else 64 if dtype.numpy.itemsize == 8 else 16
        strategy = st.floats(lo, hi, width=width, allow_subnormal=False)
        if exclude:
            cast = dtype.numpy.type
            strategy = strategy.map(
                lambda v: float(cast(_push_away(v, exclude, lo, hi, _EXCLUDE_GAP))))
    if special:
        strategy = st.one_of(strategy, st.sampled_from(_special_values(dtype)))
    return strategy


def _push_away(value, exclude, low, high, gap, integer=False):
    """Move `value` at least `gap` away from every excluded point (staying in [low, high])."""
    for point in exclude:
        close = value == point if integer else abs(value - point) < gap
        if close:
            value = point + gap if point + gap <= high else point - gap
    return value

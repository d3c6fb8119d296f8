"""Input domains: how an op says what inputs conformance should draw for it.

This module is plain Python (no hypothesis, no torch), so op plugins can import it at no cost.
An op's `samples` is a function `samples(g) -> Sample`. `g` is a *drawer*: the conformance
suite passes one backed by hypothesis, so every choice below is drawn, shrunk and replayed by
hypothesis. The drawer's interface (`Drawer`) is:

    g.dtype                                  the dtype under test (a hypergrad dtype)
    g.shape(min_dims=0, max_dims=3, min_side=1, max_side=4)
    g.shapes(n, min_dims=0, max_dims=3, min_side=1, max_side=4)   n mutually broadcastable
    g.tensor(shape, low=-5, high=5, *, dtype=None, requires_grad=None, integral=False,
             exclude=(), special=True)       a SampleTensor (dtype defaults to g.dtype)
    g.integers(min_value, max_value)         an int
    g.floats(min_value, max_value)           a float
    g.booleans()                             a bool
    g.sampled_from(options)                  one of the options
    g.dim(ndim, allow_none=False)            a valid dim for a tensor of ndim dims (or None)

`SampleTensor` holds a numpy array and whether the sample requires grad; the suite turns it
into a hypergrad tensor and a torch tensor with the same values. The factories below (`unary`,
`binary`, `reduction`, ...) cover most ops; write your own function for the rest.

The conformance metadata an op declares next to `samples` (all optional):

    dtypes        dtype names the op accepts: "float32", "float64", "int32", "int64", "bool"
                  (default FLOATING). Checks draw from them; `dtypes` mixes them.
    tolerances    {"float32": (rtol, atol), ...} to loosen the torch.testing defaults, or
                  {"grad": {"float32": (rtol, atol)}} for one check only.
    divergences   {check name: reason} for behaviour that differs from torch on purpose; the
                  check is then reported as a documented divergence, and fails (strictly) if
                  it starts passing. Check names: forward, grad, gradgrad, grad_fn,
                  broadcast, noncontiguous, inplace, variants, dtypes, special, errors.
                  Wrap the reason in `on_some_inputs(reason)` when the difference shows only
                  on some drawn inputs (an infinity in a matrix, a rare layout): such a
                  divergence is not strict, as whether it shows depends on the draw.
    error_samples inputs that must raise: a list of ErrorSample (`error_sample(...)` builds
                  one), or a function `error_samples(g)` returning one or a list.
    supports_gradgrad  False if the op's backward is not itself differentiable.

A tensor the domain draws with `special=False` never receives the special values (inf, NaN,
huge magnitudes) of the `special` check: use it for index, mask or shape-like tensors.
"""

from __future__ import annotations

from collections.abc import Callable
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

__all__ = [
    "ALL_REAL",
    "BOOL_AND_REAL",
    "FLOATING",
    "ILL_CONDITIONED_SUMS",
    "INTEGRAL",
    "Drawer",
    "ErrorSample",
    "Sample",
    "SampleTensor",
    "binary",
    "error_sample",
    "on_some_inputs",
    "reduction",
    "ternary",
    "unary",
]

FLOATING = ("float32", "float64")
INTEGRAL = ("int32", "int64")
ALL_REAL = FLOATING + INTEGRAL
BOOL_AND_REAL = ALL_REAL + ("bool",)

# Note [Sums of huge values are ill-conditioned]
#     The `special` check mixes values like +-1e30 with ordinary ones. A sum such as
#     1e30 + 1 - 1e30 has no well-defined float answer: torch's vectorized kernels, BLAS builds
#     and numpy's pairwise summation add in different orders and may return 0 or 1, both within
#     the rounding error bound eps * sum(|x|). Ops that sum (reductions, products, cumulative
#     ops) declare these tolerances: for the `special` check the absolute tolerance is that
#     bound at the drawn magnitudes (1e30 in float32, 1e200 in float64); NaN and infinity
#     positions are still compared exactly.
ILL_CONDITIONED_SUMS = {"special": {"float32": (1.3e-6, 1e25), "float64": (1e-7, 1e188)}}


class InputDependentDivergence(str):
    """The reason of a documented divergence that shows only on some inputs.

    A plain reason string declares a strict divergence: the check must fail, and if it starts
    passing the declaration is stale. Some differences show only when the draw hits a rare
    input (MKL and OpenBLAS differ on some matrices with inf, not on all), so whether a run
    sees them depends on the draw, not on the op; strictness would make the suite flaky.
    Such a reason is a `str` (everything that prints reasons keeps working) with
    `strict = False`: the check reports a documented divergence when it shows and passes
    when it does not. This is PyTorch's OpInfo distinction between an expected failure
    (`unittest.expectedFailure`, strict) and a skip.
    """

    __slots__ = ()
    strict = False


def on_some_inputs(reason):
    """Mark a divergence reason as input-dependent: see `InputDependentDivergence`."""
    return InputDependentDivergence(reason)


@dataclass
class SampleTensor:
    """A drawn tensor argument: its values and whether it requires grad."""

    array: np.ndarray
    requires_grad: bool = True

    def __repr__(self):
        return f"tensor({self.array.tolist()!r}, dtype={self.array.dtype.name}" + (
            ", requires_grad=True)" if self.requires_grad else ")")


@dataclass
class Sample:
    """One call of an op: positional and keyword arguments (SampleTensors where tensors go)."""

    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class ErrorSample:
    """An input that must raise: torch and HyperGrad must both raise `error_type`."""

    sample: Sample
    error_type: type
    match: str | None = None


def error_sample(*args, error_type=RuntimeError, match=None, **kwargs) -> ErrorSample:
    """An ErrorSample from plain values: numpy arrays become tensors (not requiring grad).

    `error_sample(np.array([True]), np.array([False]), match="with two bool tensors")` says
    that `op(bool_tensor, bool_tensor)` raises RuntimeError in torch and must in HyperGrad.
    `match` is text (or a regular expression) HyperGrad's message must contain.
    """

    def convert(value):
        return SampleTensor(value, False) if isinstance(value, np.ndarray) else value

    return ErrorSample(Sample(tuple(convert(a) for a in args),
                              {k: convert(v) for k, v in kwargs.items()}), error_type, match)


class Drawer(Protocol):
    dtype: Any

    def shape(self, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
              max_side: int = 4) -> tuple: ...

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
               max_side: int = 4) -> tuple: ...

    def tensor(self, shape, low=-5.0, high=5.0, *, dtype=None, requires_grad=None,
               integral=False, exclude=(), special=True) -> SampleTensor: ...

    def integers(self, min_value: int, max_value: int) -> int: ...

    def floats(self, min_value: float, max_value: float) -> float: ...

    def booleans(self) -> bool: ...

    def sampled_from(self, options): ...

    def dim(self, ndim: int, allow_none: bool = False): ...


def unary(low=-5.0, high=5.0, *, exclude=(), min_dims=0, max_dims=3, kwargs=None,
          integral=False) -> Callable:
    """One tensor with values in [low, high] (excluding the points in `exclude` by 1e-3).

    `kwargs`, if given, is a function `kwargs(g) -> dict` drawing keyword arguments.
    """

    def samples(g):
        x = g.tensor(g.shape(min_dims=min_dims, max_dims=max_dims), low, high,
                     exclude=exclude, integral=integral)
        return Sample((x,), kwargs(g) if kwargs else {})

    samples.kind = "unary"
    return samples


def binary(*, broadcast=True, low=-5.0, high=5.0, rhs_low=None, rhs_high=None, rhs_exclude=(),
           scalar_rhs=True, kwargs=None, integral=False) -> Callable:
    """Two tensors (mutually broadcastable shapes if `broadcast`), or a tensor and a number."""

    def samples(g):
        lo = low if rhs_low is None else rhs_low
        hi = high if rhs_high is None else rhs_high
        if broadcast:
            shape_a, shape_b = g.shapes(2)
        else:
            shape_a = shape_b = g.shape()
        a = g.tensor(shape_a, low, high, integral=integral)
        if scalar_rhs and g.booleans() and g.booleans():
            b = g.floats(lo, hi) if g.dtype.is_floating_point else g.integers(
                math.ceil(lo), max(math.ceil(lo), math.floor(hi)))
            if rhs_exclude and any(abs(b - e) < 1e-3 for e in rhs_exclude):
                b = hi
        else:
            b = g.tensor(shape_b, lo, hi, exclude=rhs_exclude, integral=integral)
        return Sample((a, b), kwargs(g) if kwargs else {})

    samples.kind = "binary"
    return samples


def ternary(*, low=-5.0, high=5.0, kwargs=None) -> Callable:
    """Three tensors of mutually broadcastable shapes."""

    def samples(g):
        shapes = g.shapes(3)
        return Sample(tuple(g.tensor(s, low, high) for s in shapes), kwargs(g) if kwargs else {})

    samples.kind = "ternary"
    return samples


def reduction(*, low=-5.0, high=5.0, dim=True, keepdim=True, multi_dim=False,
              allow_no_dim=True, extra=None, min_side=1, special=True) -> Callable:
    """One tensor and, sometimes, `dim` (an int or, with multi_dim, a tuple) and `keepdim`."""

    def samples(g):
        shape = g.shape(min_dims=0, max_dims=3, min_side=min_side)
        x = g.tensor(shape, low, high, special=special)
        kw = {}
        if dim and (not allow_no_dim or g.booleans()):
            ndim = len(shape)
            if multi_dim and ndim > 1 and g.booleans():
                first = g.dim(ndim)
                second = g.dim(ndim)
                kw["dim"] = (first,) if first % max(ndim, 1) == second % max(ndim, 1) \
                    else (first, second)
            else:
                kw["dim"] = g.dim(ndim)
            if keepdim:
                kw["keepdim"] = g.booleans()
        if extra:
            kw.update(extra(g))
        return Sample((x,), kw)

    samples.kind = "reduction"
    return samples

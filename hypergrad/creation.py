"""Factory functions: zeros, ones, arange, randn, ... and the random generator.

Mirrors torch's factory functions (aten/src/ATen/native/TensorFactories.cpp) for their
dtype defaults: floats are `get_default_dtype()` (float32), `arange`/`randint`/`randperm` of
integers are int64, `full` follows its fill value. Random numbers come from one numpy
`Generator` that `manual_seed` resets, so a seeded program is reproducible (the numbers differ
from torch's, which uses another generator).
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from . import dtypes as _dtypes
from .tensor import _FACTORY_DTYPE_MESSAGE, Tensor

__all__ = ["zeros", "ones", "full", "empty", "arange", "linspace", "logspace", "eye", "rand",
           "randn", "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like",
           "rand_like", "randn_like", "randint_like", "manual_seed", "seed", "initial_seed",
           "Generator", "default_generator", "get_rng_state", "set_rng_state", "normal",
           "bernoulli", "multinomial"]


class Generator:
    """A random-number generator (`torch.Generator`), wrapping numpy's PCG64."""

    def __init__(self, device="cpu"):
        self._seed = 67280421310721
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        self._seed = builtins.int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        self._seed = builtins.int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.default_rng(self._seed)
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator; returns it (`torch.manual_seed`)."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator from fresh entropy; return the seed (`torch.seed`)."""
    return default_generator.seed()


def initial_seed():
    """The seed the default generator was last seeded with (`torch.initial_seed`)."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (`torch.get_rng_state`).

    Differs from torch: the state is numpy's PCG64 state dict, not a uint8 tensor.
    """
    return default_generator.get_state()


def set_rng_state(state):
    """Restore a state from `get_rng_state()` (`torch.set_rng_state`)."""
    default_generator.set_state(state)


def _size(size, negative_message=None):
    """Accept `zeros(2, 3)`, `zeros((2, 3))`, `zeros([2, 3])` and `zeros(hg.Size(...))`.

    Sizes must be integers (Python ints, numpy integers, integer tensors), as in torch.
    """
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        bad = next(s for s in size if not _is_index(s))
        raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                        f"{type(bad).__name__}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(negative_message or f"Trying to create tensor with negative "
                               f"dimension {s}: {list(shape)}")
    return shape


def _is_index(value):
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _finish(data, requires_grad):
    out = Tensor._make(data)
    if requires_grad:
        out._set_requires_grad(True, _FACTORY_DTYPE_MESSAGE)
    return out


def _float_dtype(dtype):
    return _dtypes.get_default_dtype() if dtype is None else _dtypes.to_dtype(dtype)


def _check_device(device):
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"HyperGrad runs on the CPU only; got device {device!r}")


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor of zeros of the given shape (default float dtype)."""
    _check_device(device)
    shape = _size(size, "zeros: Dimension size must be non-negative.")
    return _finish(np.zeros(shape, _float_dtype(dtype).numpy), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor of ones of the given shape (default float dtype)."""
    _check_device(device)
    return _finish(np.ones(_size(size), _float_dtype(dtype).numpy), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          memory_format=None):
    """An uninitialized tensor (HyperGrad fills it with zeros, so it is never garbage)."""
    _check_device(device)
    return _finish(np.zeros(_size(size), _float_dtype(dtype).numpy), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None,
         layout=None):
    """A tensor filled with `fill_value`; its dtype follows the value like torch.tensor's."""
    _check_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dtypes.result_type(fill_value)
    return _finish(np.full(_size((size,)), fill_value, _dtypes.to_dtype(dtype).numpy),
                   requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           out=None, layout=None):
    """Values from `start` to `end` (exclusive) by `step`: int64 if all are ints."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, step)]
    start, end, step = values
    if dtype is None:
        dtype = _dtypes.int64 if all(isinstance(v, builtins.int) for v in values) else \
            _dtypes.get_default_dtype()
    dtype = _dtypes.to_dtype(dtype)
    if dtype is _dtypes.bool:
        raise NotImplementedError('"arange_cpu" not implemented for \'Bool\'')
    if dtype.is_floating_point or dtype.is_complex:
        count = _arange_count(start, end, step)
        data = start + step * np.arange(count, dtype=np.float64)
    else:
        # integer dtypes accumulate in int64: the bounds and step are truncated first, and
        # for int64 itself the length is counted in integers too (RangeFactories.cpp)
        first, last, stride = builtins.int(start), builtins.int(end), builtins.int(step)
        if dtype is _dtypes.int64:
            _arange_count(first, last, stride)
            sign = (stride > 0) - (stride < 0)
            count = builtins.max(0, (last - first + stride - sign) // stride)
        else:
            count = _arange_count(start, end, step)
        data = first + stride * np.arange(count, dtype=np.int64)
    return _finish(data.astype(dtype.numpy), requires_grad)


def _arange_count(start, end, step):
    """How many values arange produces, with torch's checks."""
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    return builtins.max(0, math.ceil((end - start) / step))


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """`steps` evenly spaced values from `start` to `end`, both included."""
    _check_device(device)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _float_dtype(dtype)
    if dtype is _dtypes.bool:
        raise NotImplementedError('"linspace_cpu" not implemented for \'Bool\'')
    start, end = [v.item() if isinstance(v, Tensor) else v for v in (start, end)]
    return _finish(np.linspace(start, end, steps).astype(dtype.numpy), requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """`steps` values from `base ** start` to `base ** end`, evenly spaced in the exponent
    (`torch.logspace`)."""
    _check_device(device)
    dtype = _float_dtype(dtype)
    return _finish(np.logspace(start, end, steps, base=base).astype(dtype.numpy), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """The n x m identity matrix."""
    _check_device(device)
    m = n if m is None else m
    for name, value in (("n", n), ("m", m)):
        if value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype).numpy), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Uniform random numbers on [0, 1)."""
    _check_device(device)
    shape = _size(size)
    dtype = _random_float_dtype(dtype, "check_uniform_bounds")
    rng = (generator or default_generator)._rng
    data = rng.random(shape)
    if dtype.is_complex:
        data = data + 1j * rng.random(shape)
    return _finish(data.astype(dtype.numpy), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """Standard normal random numbers."""
    _check_device(device)
    shape = _size(size)
    dtype = _random_float_dtype(dtype, "normal_kernel_cpu")
    rng = (generator or default_generator)._rng
    data = rng.standard_normal(shape)
    if dtype.is_complex:  # real and imaginary parts each of variance 1/2, as in torch
        data = (data + 1j * rng.standard_normal(shape)) / math.sqrt(2)
    return _finish(data.astype(dtype.numpy), requires_grad)


def _random_float_dtype(dtype, kernel):
    """The dtype for rand/randn: floating or complex only, with torch's error otherwise."""
    dtype = _float_dtype(dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{dtype._tensor_type[:-len('Tensor')]}'")
    return dtype


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, out=None):
    """Random integers in [low, high) (int64 by default); `randint(high, size)` also works."""
    _check_device(device)
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    rng = (generator or default_generator)._rng
    dtype = _dtypes.int64 if dtype is None else _dtypes.to_dtype(dtype)
    return _finish(rng.integers(low, high, _size((size,))).astype(dtype.numpy), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    """A random permutation of 0..n-1 (int64)."""
    _check_device(device)
    _size((n,))
    rng = (generator or default_generator)._rng
    dtype = _dtypes.int64 if dtype is None else _dtypes.to_dtype(dtype)
    return _finish(rng.permutation(n).astype(dtype.numpy), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Normal random numbers with the given mean and std (numbers or tensors)."""
    rng = (generator or default_generator)._rng
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = _size((size,)) if size is not None else np.broadcast(m, s).shape
    values = rng.normal(m, s, shape)
    base = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dtype = base.dtype if base is not None and dtype is None else _float_dtype(dtype)
    return _finish(np.asarray(values).astype(dtype.numpy), requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """Draw 0/1 with probabilities `input` (or `p`), same shape and dtype as `input`."""
    rng = (generator or default_generator)._rng
    probs = input._data if p is None else np.full(input._data.shape, p)
    return Tensor._make((rng.random(input._data.shape) < probs).astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Sample category indices from (rows of) non-negative weights `input`."""
    rng = (generator or default_generator)._rng
    weights = np.atleast_2d(input._data.astype(np.float64))
    rows = []
    for w in weights:
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        rows.append(rng.choice(w.size, num_samples, replace=replacement, p=w / w.sum()))
    out = np.array(rows, dtype=np.int64)
    return Tensor._make(out if input._data.ndim == 2 else out[0])


def _like(input, dtype):
    return input.dtype if dtype is None else _dtypes.to_dtype(dtype)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None):
    """A tensor of zeros with `input`'s shape and (by default) dtype (`torch.zeros_like`)."""
    return _finish(np.zeros(input._data.shape, _like(input, dtype).numpy), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
              layout=None):
    """A tensor of ones with `input`'s shape and (by default) dtype (`torch.ones_like`)."""
    return _finish(np.ones(input._data.shape, _like(input, dtype).numpy), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None):
    """`torch.empty_like`; HyperGrad fills the tensor with zeros, so it is never garbage."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None, layout=None):
    """A tensor of `fill_value` with `input`'s shape and (by default) dtype (`torch.full_like`)."""
    return _finish(np.full(input._data.shape, fill_value, _like(input, dtype).numpy),
                   requires_grad)


def rand_like(input, *, dtype=None, generator=None, device=None, requires_grad=False,
              memory_format=None):
    """Uniform values in [0, 1) with `input`'s shape and dtype (`torch.rand_like`)."""
    return rand(*input._data.shape, generator=generator, dtype=_like(input, dtype),
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, generator=None, device=None, requires_grad=False,
               memory_format=None):
    """Standard normal values with `input`'s shape and dtype (`torch.randn_like`)."""
    return randn(*input._data.shape, generator=generator, dtype=_like(input, dtype),
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, device=None,
                 requires_grad=False, memory_format=None):
    """Random integers in [low, high) with `input`'s shape and dtype (`torch.randint_like`)."""
    return randint(low, high, tuple(input._data.shape), generator=generator,
                   dtype=_like(input, dtype), requires_grad=requires_grad)

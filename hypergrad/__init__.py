"""HyperGrad: PyTorch's autograd, modelled in readable Python on numpy.

`import hypergrad as hg` reads like `import torch`::

    >>> import hypergrad as hg
    >>> x = hg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])

The package: `tensor.py` (Tensor), `dtypes.py` (dtypes and promotion), `autograd/` (the graph
and the engine), `plugins/` (the Op base class, the registry and the loader), `ops/` (the
built-in op plugins), `conformance/` (the suite that checks ops against torch).
"""

from __future__ import annotations

import warnings as _warnings

__version__ = "0.1.0"

# Note [Floating-point warnings]
#     torch computes inf * 0, inf - inf, 1 / 0 and log(0) silently: IEEE 754 defines the
#     results (NaN, inf), and they are the answer. numpy returns the same values but also emits
#     a RuntimeWarning ("invalid value encountered in multiply"). HyperGrad's ops compute with
#     numpy, so without this filter a torch program run on HyperGrad would print warnings that
#     torch never prints. The filter is narrow: only numpy's floating-point RuntimeWarnings,
#     and only those raised from HyperGrad's own modules (the `module` pattern), so numpy used
#     directly by a program still warns as usual. (A per-op `np.errstate` would say the same
#     more locally, but costs a microsecond on every operation.) Under pytest the filter is
#     lost when HyperGrad is first imported during collection: pytest restores its own list
#     of filters afterwards, so the warnings then show in pytest's summary (and under
#     `-W error` they become errors). Give pytest the same filter in its `filterwarnings`
#     setting, as this project's pyproject.toml does, or wrap the code in
#     `with np.errstate(all="ignore"):`.
_warnings.filterwarnings(
    "ignore", category=RuntimeWarning, module=r"hypergrad(\.|$)",
    message=r"(invalid value|divide by zero|overflow|underflow) encountered in")

from . import dtypes as _dtypes_module
from .dtypes import (bool, can_cast, cdouble, cfloat, complex64, complex128, double, dtype,
                     float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
                     int32, int64, long, promote_types, set_default_dtype, short, uint8)
from .tensor import Size, Tensor, as_tensor, device, from_numpy, is_tensor, tensor
from .creation import (Generator, arange, bernoulli, default_generator, empty, empty_like, eye,
                       full, full_like, get_rng_state, initial_seed, linspace, logspace,
                       manual_seed, multinomial, normal, ones, ones_like, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, seed, set_rng_state, zeros,
                       zeros_like)
from . import autograd
from .autograd import (enable_grad, inference_mode, is_anomaly_enabled, is_grad_enabled,
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from .autograd.anomaly import is_anomaly_check_nan_enabled
from . import linalg
from . import plugins


def result_type(*tensors):
    """The dtype an elementwise op on these tensors/numbers computes in (`torch.result_type`)."""
    return _dtypes_module.result_type(*tensors)


def is_floating_point(input):
    """True if `input` has a floating-point dtype (`torch.is_floating_point`)."""
    return input.is_floating_point()


def is_complex(input):
    """True if `input` has a complex dtype (`torch.is_complex`)."""
    return input.is_complex()


def numel(input):
    """The number of elements of `input` (`torch.numel`)."""
    return input.numel()


def is_nonzero(input):
    """Whether a one-element tensor is nonzero (`torch.is_nonzero`); more elements raise."""
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no' if input.numel() == 0 else 'more than one'} values is ambiguous")
    return builtins_bool(input.item())


import builtins as _builtins  # noqa: E402

builtins_bool = _builtins.bool

plugins.load_plugins()

from . import optim, utils  # noqa: E402  (after the ops are registered)
from .serialization import load, save  # noqa: E402

"""The example plugin's ops: `cube` and `softsign`.

Each op is one class, as in HyperGrad's own `hypergrad/ops/` modules: `forward` in numpy,
`backward` in HyperGrad ops (so gradients of gradients work), and what the conformance suite
needs to check it against torch: a `reference`, the input domain it draws from (`samples`),
and, with its reason, every place it knowingly differs from torch (`divergences`, one entry
per conformance check). Defining the class registers it: `hypergrad.cube`, `Tensor.cube` and
the Node `CubeBackward0` exist as soon as this module has been imported.
"""

from __future__ import annotations

import numpy as np
from hypergrad.conformance.domains import ALL_REAL, FLOATING, unary
from hypergrad.plugins import INT_TO_FLOAT, Op


class Cube(Op):
    """Elementwise cube, `input ** 3`.

    out = x ** 3;  d/dx = grad * (3 * x ** 2)
    """

    name = "cube"
    methods = ("cube",)
    reference = lambda x: x ** 3        # torch has no cube; called with torch tensors
    samples = unary(low=-3.0, high=3.0)
    dtypes = ALL_REAL
    divergences = {
        "grad_fn": "torch has no cube: its reference `x ** 3` records PowBackward0, HyperGrad "
                   "records the op's own node, CubeBackward0",
        "variants": "torch.Tensor has no cube method; this plugin adds Tensor.cube",
    }

    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(over="ignore"):    # torch overflows to inf silently
            return x * x * x

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (3 * x * x)   # torch's order: a zero grad times an overflowed x*x is NaN


def _softsign_backward(grad, x):
    """grad / (1 + |x|) ** 2, computed the way torch differentiates its `x / (1 + |x|)`: the
    quotient rule, then the derivative of |x|. For finite x the two are equal; at x = +-inf
    this form meets inf / inf and gives NaN, as torch does (the closed form would give 0)."""
    denominator = 1 + x.abs()
    return grad / denominator - grad * x / (denominator * denominator) * x.sign()


class Softsign(Op):
    """Elementwise softsign, `input / (1 + |input|)`; integers give the default float dtype.

    out = x / (1 + |x|);  d/dx = grad / (1 + |x|) ** 2
    """

    name = "softsign"                   # a function only, like torch.nn.functional.softsign
    type_promotion = INT_TO_FLOAT
    reference = "torch.nn.functional.softsign"
    samples = unary()
    dtypes = FLOATING
    divergences = {
        "grad_fn": "torch composes softsign from abs, add and div (DivBackward0); HyperGrad "
                   "gives it one node, SoftsignBackward0",
    }

    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore"):  # inf / inf is NaN, silently, as in torch
            return x / (1 + np.abs(x))

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _softsign_backward(grad, x)

"""Unary elementwise ops: exponentials and logarithms, roots, trigonometric and hyperbolic
functions, sigmoid, relu, erf, rounding, and clamp.

Each op reads like its entry in PyTorch's tools/autograd/derivatives.yaml: the docstring gives
the value and the derivative; `backward` is written in HyperGrad ops, so it can itself be
differentiated. Where torch's formula uses the op's *result* (exp, sqrt, tanh, sigmoid, relu),
so does ours: the saved result stays connected to the graph, so double backward is right.

Floating functions of an integer or bool tensor compute in the default float dtype, as torch's
do (`exp(tensor([1]))` is float32): that is `type_promotion = INT_TO_FLOAT`. Rounding, relu and
clamp keep an integer dtype.

Note [Forwards that save their result make it an array]
    For a 0-dim input a numpy ufunc returns a numpy *scalar*, not an array. The machinery knows
    a saved value is an output of the op by identity (it is the very object forward returns), and
    it keeps that link when it turns a returned scalar into an array; the `np.asarray` calls here
    make the same thing explicit.

Note [Fused backward ops]
    torch computes the gradient of tanh, sigmoid and relu with one op each (`tanh_backward`,
    `sigmoid_backward`, `threshold_backward`), which are differentiable ops themselves with
    their own derivatives.yaml entries. HyperGrad does the same (TanhBackward, SigmoidBackward,
    ThresholdBackward below): one op instead of three in every backward pass, and the node
    names of a double backward (`TanhBackwardBackward0`) are torch's.
"""

from __future__ import annotations

import math

import numpy as np

import hypergrad
from hypergrad.conformance.domains import ALL_REAL, ErrorSample, Sample, SampleTensor, unary
from hypergrad.plugins import DEFAULT, INT_TO_FLOAT, Op, op_function
from hypergrad.plugins.op import _scalar_type_name

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments (arrays become tensors) must raise, as in torch."""
    args = tuple(SampleTensor(np.asarray(a), False) if isinstance(a, (list, np.ndarray)) else a
                 for a in args)
    return ErrorSample(Sample(args, kwargs), error_type, match)


# ----------------------------------------------------------------------------------------------
# Exponentials and logarithms
# ----------------------------------------------------------------------------------------------
class Exp(Op):
    """Elementwise e ** input.

    out = exp(a);  d/da = grad * out
    """

    name = "exp"
    methods = ("exp", "exp_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.exp"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(over="ignore"):
            out = np.asarray(np.exp(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Exp2(Op):
    """Elementwise 2 ** input.

    out = 2 ** a;  d/da = grad * out * ln(2)
    """

    name = "exp2"
    methods = ("exp2", "exp2_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.exp2"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(over="ignore"):
            out = np.asarray(np.exp2(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * _LN2


class Expm1(Op):
    """Elementwise e ** input - 1, accurate for small inputs.

    out = exp(a) - 1;  d/da = grad * (out + 1)
    """

    name = "expm1"
    methods = ("expm1", "expm1_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.expm1"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(over="ignore"):
            out = np.asarray(np.expm1(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Log(Op):
    """Elementwise natural logarithm (-inf at 0, NaN below).

    out = ln(a);  d/da = grad / a
    """

    name = "log"
    methods = ("log", "log_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.log"
    samples = unary(1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Log2(Op):
    """Elementwise base-2 logarithm.

    out = log2(a);  d/da = grad / (a * ln(2))
    """

    name = "log2"
    methods = ("log2", "log2_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.log2"
    samples = unary(1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * _LN2)


class Log10(Op):
    """Elementwise base-10 logarithm.

    out = log10(a);  d/da = grad / (a * ln(10))
    """

    name = "log10"
    methods = ("log10", "log10_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.log10"
    samples = unary(1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * _LN10)


class Log1p(Op):
    """Elementwise ln(1 + input), accurate for small inputs.

    out = ln(1 + a);  d/da = grad / (a + 1)
    """

    name = "log1p"
    methods = ("log1p", "log1p_")
    type_promotion = INT_TO_FLOAT
    node_name = "Log1PBackward0"
    reference = "torch.log1p"
    samples = unary(-1.0 + 1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a + 1)


# ----------------------------------------------------------------------------------------------
# Roots and squares
# ----------------------------------------------------------------------------------------------
class Sqrt(Op):
    """Elementwise square root (its gradient is inf at 0).

    out = sqrt(a);  d/da = grad / (2 * out)
    """

    name = "sqrt"
    methods = ("sqrt", "sqrt_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.sqrt"
    samples = unary(1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            out = np.asarray(np.sqrt(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Rsqrt(Op):
    """Elementwise 1 / sqrt(input).

    out = a ** -0.5;  d/da = -0.5 * grad * out ** 3
    """

    name = "rsqrt"
    methods = ("rsqrt", "rsqrt_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.rsqrt"
    samples = unary(1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.asarray(1 / np.sqrt(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -0.5 * grad * out ** 3


@op_function("square", methods=("square", "square_"), reference="torch.square",
             samples=unary(), dtypes=ALL_REAL, node_names=("PowBackward0",))
def square(input):
    """Elementwise input * input. Like torch, it *is* `pow(input, 2)` (grad_fn PowBackward0).

    out = a ** 2;  d/da = grad * 2 * a
    """
    return hypergrad.pow(input, 2)


# ----------------------------------------------------------------------------------------------
# Trigonometric functions
# ----------------------------------------------------------------------------------------------
class Sin(Op):
    """Elementwise sine.

    out = sin(a);  d/da = grad * cos(a)
    """

    name = "sin"
    methods = ("sin", "sin_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.sin"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.cos()


class Cos(Op):
    """Elementwise cosine.

    out = cos(a);  d/da = -grad * sin(a)
    """

    name = "cos"
    methods = ("cos", "cos_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.cos"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -a.sin()


class Tan(Op):
    """Elementwise tangent.

    out = tan(a);  d/da = grad * (1 + out ** 2)
    """

    name = "tan"
    methods = ("tan", "tan_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.tan"
    samples = unary(-4.0, 4.0, exclude=(-math.pi / 2, math.pi / 2))
    dtypes = ALL_REAL

    def forward(ctx, a):
        out = np.asarray(np.tan(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 + out * out)


class Asin(Op):
    """Elementwise arcsine (NaN outside [-1, 1]).

    out = asin(a);  d/da = grad / sqrt(1 - a ** 2)
    """

    name = "asin"
    aliases = ("arcsin",)
    methods = ("asin", "asin_", "arcsin", "arcsin_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.asin"
    samples = unary(-1.0 + 1e-3, 1.0 - 1e-3)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arcsin(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (-a * a + 1).rsqrt()


class Acos(Op):
    """Elementwise arccosine (NaN outside [-1, 1]).

    out = acos(a);  d/da = -grad / sqrt(1 - a ** 2)
    """

    name = "acos"
    aliases = ("arccos",)
    methods = ("acos", "acos_", "arccos", "arccos_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.acos"
    samples = unary(-1.0 + 1e-3, 1.0 - 1e-3)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arccos(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -(-a * a + 1).rsqrt()


class Atan(Op):
    """Elementwise arctangent.

    out = atan(a);  d/da = grad / (a ** 2 + 1)
    """

    name = "atan"
    aliases = ("arctan",)
    methods = ("atan", "atan_", "arctan", "arctan_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.atan"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arctan(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (a * a + 1)


# ----------------------------------------------------------------------------------------------
# Hyperbolic functions
# ----------------------------------------------------------------------------------------------
class Sinh(Op):
    """Elementwise hyperbolic sine.

    out = sinh(a);  d/da = grad * cosh(a)
    """

    name = "sinh"
    methods = ("sinh", "sinh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.sinh"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(over="ignore"):
            return np.sinh(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.cosh()


class Cosh(Op):
    """Elementwise hyperbolic cosine.

    out = cosh(a);  d/da = grad * sinh(a)
    """

    name = "cosh"
    methods = ("cosh", "cosh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.cosh"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(over="ignore"):
            return np.cosh(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.sinh()


class TanhBackward(Op):
    """The gradient of tanh given its result (torch's `tanh_backward`).

    out = grad * (1 - y**2);  d/dgrad = g * (1 - y**2);  d/dy = -2 * g * grad * y
    """

    node_name = "TanhBackwardBackward0"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        factor = y * y
        if type(factor) is np.ndarray and factor.shape == grad.shape:
            np.subtract(1, factor, factor)   # 1 - y**2, then the product, in place: no
            return np.multiply(grad, factor, factor)   # second or third temporary
        return grad * (1 - factor)

    def backward(ctx, g):
        grad, y = ctx.saved_tensors
        need_grad, need_y = ctx.needs_input_grad
        return (TanhBackward.apply(g, y) if need_grad else None,
                g * grad * y * -2 if need_y else None)


class Tanh(Op):
    """Elementwise hyperbolic tangent.

    out = tanh(a);  d/da = grad * (1 - out ** 2)
    """

    name = "tanh"
    methods = ("tanh", "tanh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.tanh"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        out = np.asarray(np.tanh(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return TanhBackward.apply(grad, out)


class Asinh(Op):
    """Elementwise inverse hyperbolic sine.

    out = asinh(a);  d/da = grad / sqrt(a ** 2 + 1)
    """

    name = "asinh"
    aliases = ("arcsinh",)
    methods = ("asinh", "asinh_", "arcsinh", "arcsinh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.asinh"
    divergences = {
        "grad_fn": "x.asinh_() shows AsinhBackward0; torch's in-place asinh has its own node, "
                   "AsinhBackward1",
        "inplace": "x.asinh_() is differentiable; torch 2.13's in-place asinh has no derivative "
                   "(its backward raises NotImplementedError)"}
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.arcsinh(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (a * a + 1).rsqrt()


class Acosh(Op):
    """Elementwise inverse hyperbolic cosine (NaN below 1).

    out = acosh(a);  d/da = grad / sqrt(a ** 2 - 1)
    """

    name = "acosh"
    aliases = ("arccosh",)
    methods = ("acosh", "acosh_", "arccosh", "arccosh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.acosh"
    divergences = {
        "grad_fn": "x.acosh_() shows AcoshBackward0; torch's in-place acosh has its own node, "
                   "AcoshBackward1",
        "inplace": "x.acosh_() is differentiable; torch 2.13's in-place acosh has no derivative "
                   "(its backward raises NotImplementedError)"}
    samples = unary(1.0 + 1e-3, 5.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arccosh(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (a * a - 1).rsqrt()


class Atanh(Op):
    """Elementwise inverse hyperbolic tangent (+-inf at +-1, NaN beyond).

    out = atanh(a);  d/da = grad / (1 - a ** 2)
    """

    name = "atanh"
    aliases = ("arctanh",)
    methods = ("atanh", "atanh_", "arctanh", "arctanh_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.atanh"
    divergences = {
        "grad_fn": "x.atanh_() shows AtanhBackward0; torch's in-place atanh has its own node, "
                   "AtanhBackward1",
        "inplace": "x.atanh_() is differentiable; torch 2.13's in-place atanh has no derivative "
                   "(its backward raises NotImplementedError)"}
    samples = unary(-1.0 + 1e-3, 1.0 - 1e-3)
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.arctanh(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1 - a * a)


# ----------------------------------------------------------------------------------------------
# Activations and special functions
# ----------------------------------------------------------------------------------------------
class SigmoidBackward(Op):
    """The gradient of sigmoid given its result (torch's `sigmoid_backward`).

    out = grad * y * (1 - y);  d/dgrad = g * y * (1 - y);  d/dy = g * grad * (1 - 2 * y)
    """

    node_name = "SigmoidBackwardBackward0"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        return grad * (y * (1 - y))

    def backward(ctx, g):
        grad, y = ctx.saved_tensors
        need_grad, need_y = ctx.needs_input_grad
        return (SigmoidBackward.apply(g, y) if need_grad else None,
                g * grad * (1 - 2 * y) if need_y else None)


class Sigmoid(Op):
    """Elementwise logistic function 1 / (1 + e ** -input).

    out = sigmoid(a);  d/da = grad * (1 - out) * out
    """

    name = "sigmoid"
    methods = ("sigmoid", "sigmoid_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.sigmoid"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(over="ignore"):  # exp(-a) overflows to inf for very negative a: out 0
            out = np.asarray(1 / (1 + np.exp(-a)))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return SigmoidBackward.apply(grad, out)


# the integer type whose bits a float's are (ThresholdBackward masks gradients on the bits)
_SAME_SIZE_INT = {np.dtype(np.float16): np.int16, np.dtype(np.float32): np.int32,
                  np.dtype(np.float64): np.int64}


class ThresholdBackward(Op):
    """The gradient of relu given its result (torch's `threshold_backward`).

    out = 0 where y <= threshold, else grad;  d/dgrad = the same mask applied to g;  d/dy = 0
    """

    node_name = "ThresholdBackwardBackward0"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, grad, y, threshold):
        ctx.save_for_backward(y)
        ctx.threshold = threshold
        zeroed = y <= threshold         # a NaN in y is not: its gradient passes, as in torch
        bits = _SAME_SIZE_INT.get(grad.dtype)
        if bits is None:
            return np.where(zeroed, 0, grad).astype(grad.dtype, copy=False)
        # On the bits: AND with all ones keeps a gradient, AND with zeros makes it +0.0
        # (`grad * keep` would turn an inf gradient into NaN; np.where is ~7x slower on a
        # random mask). Every step writes into the result's own memory, so the result owns
        # it (AccumulateGrad may take it as `.grad`).
        shape = grad.shape if grad.shape == zeroed.shape else np.broadcast_shapes(
            grad.shape, zeroed.shape)
        out = np.empty(shape, grad.dtype)
        out_bits = out.view(bits)
        np.copyto(out_bits, zeroed)             # 1 where zeroed, 0 where kept
        np.subtract(out_bits, 1, out_bits)      # 0 where zeroed, all ones where kept
        np.bitwise_and(grad.view(bits), out_bits, out_bits)
        return out

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ThresholdBackward.apply(g, y, ctx.threshold), g * 0


def _relu(a):
    """max(a, 0) as torch computes it: NaN stays NaN and -0.0 stays -0.0. numpy's maximum
    returns its second operand when the two are equal for float32 and float64 (so 0 goes
    first), but not in every position of a float16 array, which takes the where."""
    if a.dtype == np.float16:
        return np.where(a < 0, np.float16(0), a)
    return np.maximum(0, a)


class Relu(Op):
    """Elementwise max(input, 0); integers stay integers.

    out = max(a, 0);  d/da = grad where out > 0, else 0   (0 at 0, like torch's
    threshold_backward: a NaN input passes its gradient through)
    """

    name = "relu"
    methods = ("relu", "relu_")
    reference = "torch.relu"
    samples = unary()
    dtypes = ALL_REAL
    error_samples = (_raises(RuntimeError, "Boolean inputs not supported for relu",
                             [True, False]),)

    def forward(ctx, a):
        if a.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        out = np.asarray(_relu(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return ThresholdBackward.apply(grad, out, 0)


# numpy has no erf; math.erf is exact to double precision, applied element by element.
_elementwise_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(Op):
    """Elementwise Gauss error function.

    out = erf(a);  d/da = grad * 2 / sqrt(pi) * exp(-a ** 2)
    """

    name = "erf"
    methods = ("erf", "erf_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.erf"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.asarray(_elementwise_erf(a), dtype=a.dtype)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * _TWO_OVER_SQRT_PI * (-(a * a)).exp()


# ----------------------------------------------------------------------------------------------
# Rounding: piecewise constant, so the gradient is zero everywhere (torch: zeros_like(grad))
# ----------------------------------------------------------------------------------------------
def _reject_bool(kernel, a):
    if a.dtype == np.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


class Floor(Op):
    """Elementwise largest integer <= input; integer tensors are returned unchanged.

    out = floor(a);  d/da = 0
    """

    name = "floor"
    methods = ("floor", "floor_")
    reference = "torch.floor"
    samples = unary()
    dtypes = ALL_REAL
    error_samples = (_raises(NotImplementedError, '"floor_vml_cpu" not implemented for '
                             "'Bool'", [True]),)

    def forward(ctx, a):
        _reject_bool("floor_vml_cpu", a)
        return np.floor(a) if a.dtype.kind == "f" else a.copy()

    def backward(ctx, grad):
        return hypergrad.zeros_like(grad)


class Ceil(Op):
    """Elementwise smallest integer >= input; integer tensors are returned unchanged.

    out = ceil(a);  d/da = 0
    """

    name = "ceil"
    methods = ("ceil", "ceil_")
    reference = "torch.ceil"
    samples = unary()
    dtypes = ALL_REAL
    error_samples = (_raises(NotImplementedError, '"ceil_vml_cpu" not implemented for '
                             "'Bool'", [True]),)

    def forward(ctx, a):
        _reject_bool("ceil_vml_cpu", a)
        return np.ceil(a) if a.dtype.kind == "f" else a.copy()

    def backward(ctx, grad):
        return hypergrad.zeros_like(grad)


class Trunc(Op):
    """Elementwise rounding toward zero; integer tensors are returned unchanged.

    out = trunc(a);  d/da = 0
    """

    name = "trunc"
    aliases = ("fix",)
    methods = ("trunc", "trunc_", "fix", "fix_")
    reference = "torch.trunc"
    samples = unary()
    dtypes = ALL_REAL
    error_samples = (_raises(NotImplementedError, '"trunc_vml_cpu" not implemented for '
                             "'Bool'", [True]),)

    def forward(ctx, a):
        _reject_bool("trunc_vml_cpu", a)
        return np.trunc(a) if a.dtype.kind == "f" else a.copy()

    def backward(ctx, grad):
        return hypergrad.zeros_like(grad)


class Round(Op):
    """Round to the nearest integer, halves to even (2.5 -> 2).

    out = round(a);  d/da = 0
    """

    node_name = "RoundBackward0"

    def forward(ctx, a):
        _reject_bool("round_vml_cpu", a)
        return np.rint(a) if a.dtype.kind == "f" else a.copy()

    def backward(ctx, grad):
        return hypergrad.zeros_like(grad)


class RoundDecimals(Op):
    """Round to `decimals` decimal places, halves to even, as torch computes it: scale by
    10 ** |decimals|, round to an integer, scale back (in the input's precision).

    out = round(a, decimals);  d/da = 0
    """

    node_name = "RoundBackward1"

    def forward(ctx, a, decimals):
        if a.dtype.kind != "f":
            raise NotImplementedError(f"\"round_cpu\" not implemented for "
                                      f"'{_scalar_type_name(a.dtype)}'")
        scale = a.dtype.type(10.0 ** abs(decimals))
        if decimals >= 0:
            return np.rint(a * scale) / scale
        return np.rint(a / scale) * scale

    def backward(ctx, grad):
        return hypergrad.zeros_like(grad)


def _round_samples(g):
    sample = unary()(g)
    if g.dtype.is_floating_point and g.booleans():
        sample.kwargs["decimals"] = g.integers(-2, 3)
    return sample


@op_function("round", methods=("round", "round_"), reference="torch.round",
             samples=_round_samples, dtypes=ALL_REAL,
             error_samples=(
                 _raises(NotImplementedError, "\"round_vml_cpu\" not implemented for 'Bool'",
                         [True]),
                 _raises(NotImplementedError, "\"round_cpu\" not implemented for 'Long'",
                         np.array([15, 2]), decimals=-1)),
             node_names=("RoundBackward0", "RoundBackward1"))
def round(input, *, decimals=None):
    """Round to the nearest integer (or to `decimals` decimal places), halves to even.

    out = round(a, decimals);  d/da = 0
    """
    if decimals is None:
        return Round.apply(input)
    return RoundDecimals.apply(input, decimals)


# ----------------------------------------------------------------------------------------------
# clamp: bounds that are numbers (ClampBackward1) or tensors (ClampBackward0)
# ----------------------------------------------------------------------------------------------
def _inside(a, lo, hi):
    """Where a lies in [lo, hi], bounds included (either bound may be None)."""
    if lo is None:
        return a <= hi
    if hi is None:
        return a >= lo
    return (a >= lo) & (a <= hi)


def _clamp_forward(a, lo, hi):
    """min(max(a, lo), hi): when lo > hi, everything becomes hi, as in torch."""
    if lo is not None:
        a = np.maximum(a, lo)
    if hi is not None:
        a = np.minimum(a, hi)
    return a


class ClampScalar(Op):
    """`clamp(input, min, max)` with number bounds.

    out = min(max(a, lo), hi);  d/da = grad where lo <= a <= hi (bounds included), else 0
    """

    node_name = "ClampBackward1"
    inputs = 3
    differentiable_inputs = (0,)  # the bounds are Scalars: no edge
    type_promotion = DEFAULT

    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return _clamp_forward(a, lo, hi)

    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        return hypergrad.where(_inside(a, lo, hi), grad, 0.0), None, None


def _clamp_min_grad(grad, a, lo, hi):
    """The lower bound gives the result where a < lo, unless lo >= hi (then hi does)."""
    if hi is None:
        return hypergrad.where(a < lo, grad, 0.0)
    return hypergrad.where((a < lo) & (lo < hi), grad, 0.0)


def _clamp_max_grad(grad, a, lo, hi):
    """The upper bound gives the result where a > hi, and everywhere if hi < lo."""
    if lo is None:
        return hypergrad.where(a > hi, grad, 0.0)
    return hypergrad.where((a > hi) | (hi < lo), grad, 0.0)


class ClampTensor(Op):
    """`clamp(input, min, max)` with tensor bounds; all three broadcast together.

    out = min(max(a, lo), hi);  d/da = grad where lo <= a <= hi, else 0
                                d/dlo = grad where a < lo < hi, else 0
                                d/dhi = grad where a > hi or hi < lo, else 0
    """

    node_name = "ClampBackward0"
    inputs = 3
    type_promotion = DEFAULT

    def forward(ctx, a, lo, hi):
        ctx.save_for_backward(a, lo, hi)
        return _clamp_forward(a, lo, hi)

    def backward(ctx, grad):
        a, lo, hi = ctx.saved_tensors
        return (hypergrad.where(_inside(a, lo, hi), grad, 0.0),
                None if lo is None else _clamp_min_grad(grad, a, lo, hi),
                None if hi is None else _clamp_max_grad(grad, a, lo, hi))


def _clamp_samples(g):
    """Number bounds or tensor bounds, either of them possibly None, sometimes min > max.

    Tensor bounds broadcast to the input's shape: torch's backward fails when a bound is larger.
    """
    if g.booleans():
        lo_shape, hi_shape = g.shapes(2)
        x = g.tensor(np.broadcast_shapes(lo_shape, hi_shape))
        lo, hi = g.tensor(lo_shape, -4.0, 1.0), g.tensor(hi_shape, -1.0, 4.0)
    else:
        x = g.tensor(g.shape())
        number = g.floats if g.dtype.is_floating_point else g.integers
        lo, hi = number(-4, 1), number(-1, 4)
    keep = g.sampled_from(("both", "min", "max"))
    return Sample((x,), {"min": None if keep == "max" else lo,
                         "max": None if keep == "min" else hi})


@op_function("clamp", aliases=("clip",), methods=("clamp", "clamp_", "clip", "clip_"),
             reference="torch.clamp", samples=_clamp_samples, dtypes=ALL_REAL,
             error_samples=(
                 _raises(RuntimeError, "torch.clamp: At least one of 'min' or 'max' must not "
                         "be None", [1.0, 2.0]),
                 _raises(TypeError, "received an invalid combination of arguments",
                         [1.0, 2.0], min=SampleTensor(np.zeros(2), False), max=1.0)),
             node_names=("ClampBackward1", "ClampBackward0"))
def clamp(input, min=None, max=None):
    """Limit every element to [min, max]; either bound may be None, a number or a tensor.

    out = min(max(a, lo), hi);  d/da = grad where lo <= a <= hi (bounds included), else 0
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensor_bounds = [isinstance(b, hypergrad.Tensor) for b in (min, max) if b is not None]
    if all(tensor_bounds):
        return ClampTensor.apply(input, min, max)
    if not any(tensor_bounds):
        return ClampScalar.apply(input, min, max)
    raise TypeError(
        f"clamp() received an invalid combination of arguments - got (Tensor, "
        f"min={type(min).__name__}, max={type(max).__name__}), but expected one of:\n"
        " * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)\n"
        " * (Tensor input, Number min = None, Number max = None, *, Tensor out = None)\n")


class ClampMinScalar(Op):
    """`clamp_min(input, min)` with a number bound.

    out = max(a, lo);  d/da = grad where a >= lo, else 0
    """

    node_name = "ClampMinBackward0"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = DEFAULT

    def forward(ctx, a, lo):
        ctx.save_for_backward(a, lo)
        return np.maximum(a, lo)

    def backward(ctx, grad):
        a, lo = ctx.saved_tensors
        return hypergrad.where(a >= lo, grad, 0.0), None


class ClampMinTensor(Op):
    """`clamp_min(input, min)` with a tensor bound.

    out = max(a, lo);  d/da = grad where a >= lo, else 0;  d/dlo = grad where a < lo, else 0
    """

    node_name = "ClampMinBackward1"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, a, lo):
        ctx.save_for_backward(a, lo)
        return np.maximum(a, lo)

    def backward(ctx, grad):
        a, lo = ctx.saved_tensors
        return hypergrad.where(a >= lo, grad, 0.0), hypergrad.where(a < lo, grad, 0.0)


class ClampMaxScalar(Op):
    """`clamp_max(input, max)` with a number bound.

    out = min(a, hi);  d/da = grad where a <= hi, else 0
    """

    node_name = "ClampMaxBackward0"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = DEFAULT

    def forward(ctx, a, hi):
        ctx.save_for_backward(a, hi)
        return np.minimum(a, hi)

    def backward(ctx, grad):
        a, hi = ctx.saved_tensors
        return hypergrad.where(a <= hi, grad, 0.0), None


class ClampMaxTensor(Op):
    """`clamp_max(input, max)` with a tensor bound.

    out = min(a, hi);  d/da = grad where a <= hi, else 0;  d/dhi = grad where a > hi, else 0
    """

    node_name = "ClampMaxBackward1"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, a, hi):
        ctx.save_for_backward(a, hi)
        return np.minimum(a, hi)

    def backward(ctx, grad):
        a, hi = ctx.saved_tensors
        return hypergrad.where(a <= hi, grad, 0.0), hypergrad.where(a > hi, grad, 0.0)


def _one_bound_samples(g):
    x = g.tensor(g.shape())
    if g.booleans():
        return Sample((x, g.tensor(x.array.shape, -2.0, 2.0)))
    return Sample((x, g.floats(-2, 2) if g.dtype.is_floating_point else g.integers(-2, 2)))


@op_function("clamp_min", methods=("clamp_min", "clamp_min_"), reference="torch.clamp_min",
             samples=_one_bound_samples, dtypes=ALL_REAL,
             node_names=("ClampMinBackward0", "ClampMinBackward1"))
def clamp_min(input, min):
    """Limit every element from below: max(input, min); `min` is a number or a tensor.

    out = max(a, lo);  d/da = grad where a >= lo;  d/dlo = grad where a < lo
    """
    if isinstance(min, hypergrad.Tensor):
        return ClampMinTensor.apply(input, min)
    return ClampMinScalar.apply(input, min)


@op_function("clamp_max", methods=("clamp_max", "clamp_max_"), reference="torch.clamp_max",
             samples=_one_bound_samples, dtypes=ALL_REAL,
             node_names=("ClampMaxBackward0", "ClampMaxBackward1"))
def clamp_max(input, max):
    """Limit every element from above: min(input, max); `max` is a number or a tensor.

    out = min(a, hi);  d/da = grad where a <= hi;  d/dhi = grad where a > hi
    """
    if isinstance(max, hypergrad.Tensor):
        return ClampMaxTensor.apply(input, max)
    return ClampMaxScalar.apply(input, max)


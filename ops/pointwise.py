"""Pointwise and other math: lerp, addcmul, addcdiv, hypot, logaddexp(2), xlogy, sinc, erfc,
erfinv, lgamma, digamma, deg2rad, rad2deg, frac, fmod, copysign, nan_to_num, fmax, fmin,
logit, dist, cdist, cross (and linalg.cross), trapezoid and cumulative_trapezoid.

Each op reads like its entry in PyTorch's tools/autograd/derivatives.yaml: the docstring gives
the value and the derivative of each input; `backward` is written in HyperGrad ops so that it
can itself be differentiated. Ops that take a Tensor or a number in one position (`fmod(x, 2)`
and `fmod(x, y)`) are two Op classes behind one function, because torch records different
nodes for them (FmodBackward0, FmodBackward1) and makes no graph edge for the number.

Note [Special functions computed as torch computes them]
    numpy has no erfinv, lgamma, digamma or polygamma, and scipy is not a dependency. lgamma,
    erf and erfc come from Python's `math` module, element by element (accurate to double
    precision), and erfinv is solved to double precision from them. digamma and polygamma
    follow the algorithms torch's CPU kernels run (aten/src/ATen/native/Math.h: Cephes'
    digamma and Hurwitz zeta, the trigamma series), step by step and in the input's own
    precision, vectorized with numpy. So the values agree with torch's beyond the test
    tolerances, also where torch's algorithm is inexact: trigamma at the negative integers,
    where sin(pi x) rounds to a tiny number instead of 0, is a huge finite number, not inf.
"""

from __future__ import annotations

import math

import numpy as np

import hypergrad
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, FLOATING,
                                           ILL_CONDITIONED_SUMS, ErrorSample, Sample,
                                           SampleTensor, binary, on_some_inputs, ternary,
                                           unary)
from hypergrad.plugins import DEFAULT, INT_TO_FLOAT, Op, op_function
from hypergrad.plugins.op import _scalar_type_name
from hypergrad.tensor import Tensor, _wrap_dim

# Sums of +-1e30 with ordinary values have no well-defined float answer: ops that sum declare
# ILL_CONDITIONED_SUMS (Note [Sums of huge values are ill-conditioned], conformance/domains.py).

# The C++ type names torch's dtype checks print (lerp, cross).
_C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                 "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char", "bool": "bool"}


def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments (arrays become tensors) must raise, as in torch."""
    args = tuple(SampleTensor(np.asarray(a), False) if isinstance(a, (list, np.ndarray)) else a
                 for a in args)
    kwargs = {k: SampleTensor(np.asarray(v), False) if isinstance(v, np.ndarray) else v
              for k, v in kwargs.items()}
    return ErrorSample(Sample(args, kwargs), error_type, match)


def _floating_only(kernel, *arrays):
    """Kernels that exist for floating dtypes only raise NotImplementedError, naming the dtype."""
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind not in "fc":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{_scalar_type_name(a.dtype)}'")


def _tensor_argument(function, b, name="other", position=2):
    """torch's argument parser: this argument must be a Tensor (no number overload)."""
    if not isinstance(b, np.ndarray):
        raise TypeError(f"{function}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(b).__name__}")


# ----------------------------------------------------------------------------------------------
# Multiplying and dividing by a number, as torch's C++ composites do (MulBackward1, DivBackward1)
# ----------------------------------------------------------------------------------------------
class _MulScalar(Op):
    """`input * number` as torch's C++ code calls it (mul.Scalar), which records MulBackward1.

    out = a * s;  d/da = grad * s
    """

    node_name = "MulBackward1"
    inputs = 2
    differentiable_inputs = (0,)  # the number has no edge
    type_promotion = DEFAULT

    def forward(ctx, a, s):
        ctx.s = s
        return a * s

    def backward(ctx, grad):
        return grad * ctx.s, None


class _DivScalar(Op):
    """`input / number` as torch's C++ code calls it (div.Scalar), which records DivBackward1.

    out = a / s;  d/da = grad / s
    """

    node_name = "DivBackward1"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, s):
        ctx.s = s
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / s

    def backward(ctx, grad):
        return grad / ctx.s, None


def _split(a):
    """Veltkamp's split of float64 `a` into a high and a low half of 26 bits each."""
    scaled = 134217729.0 * a  # 2**27 + 1
    high = scaled - (scaled - a)
    return high, a - high


def _fma(x, y, z):
    """x * y + z with the product not rounded, as torch's compiled CPU kernels compute
    `x * y + z` for floats (the compiler fuses them into one fma instruction). It matters at
    the edges: 1e30 * 1e30 - inf is -inf in float32, not NaN, and cancellations keep digits.

    numpy has no fma. Up to float32 the product is exact in extended precision; in float64
    it is recovered exactly by Dekker's two-product (the product's rounding error from the
    split halves), and the sum's rounding error by a two-sum, then all is added once."""
    dtype = np.result_type(x, y, z)
    if dtype.kind != "f":
        return x * y + z
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype.itemsize <= 4:
            exact = np.asarray(x, dtype=np.longdouble) * np.asarray(y, dtype=np.longdouble)
            return np.asarray(exact + np.asarray(z, dtype=np.longdouble)).astype(dtype)
        x, y, z = (np.asarray(v, dtype=dtype) for v in (x, y, z))
        product = x * y
        x_high, x_low = _split(x)
        y_high, y_low = _split(y)
        product_error = (((x_high * y_high - product) + x_high * y_low + x_low * y_high)
                         + x_low * y_low)
        total = product + z
        part = total - product
        sum_error = (product - (total - part)) + (z - part)
        fused = total + (sum_error + product_error)
        # Where the product overflows (or an input is inf or NaN) plain arithmetic is right,
        # except that an exact, finite product plus an infinite z is that z.
        finite_product = np.isfinite(x) & np.isfinite(y)
        plain = np.where(finite_product & np.isinf(z), z, total)
        return np.asarray(np.where(np.isfinite(fused), fused, plain), dtype=dtype)


# ----------------------------------------------------------------------------------------------
# lerp, addcmul, addcdiv
# ----------------------------------------------------------------------------------------------
def _check_same_dtype(a, other, name):
    if other.dtype != a.dtype:
        raise RuntimeError(f"expected dtype {_C_TYPE_NAMES.get(a.dtype.name, a.dtype.name)} for "
                           f"`{name}` but got dtype "
                           f"{_C_TYPE_NAMES.get(other.dtype.name, other.dtype.name)}")


def _lerp(a, b, w):
    """torch's lerp: from the nearer end, so that weights 0 and 1 are exact, with one fused
    multiply-add: fma(w, b - a, a) for |w| < 1/2, else fma(w - 1, b - a, b)."""
    with np.errstate(invalid="ignore", over="ignore"):
        small = np.abs(w) < 0.5
        coefficient = np.where(small, w, w - w.dtype.type(1))
        base = np.where(small, a, b)
        return _fma(coefficient, b - a, base).astype(a.dtype, copy=False)


class LerpScalar(Op):
    """Linear interpolation with a number weight, `start + weight * (end - start)`.

    out = a + w * (b - a);  d/da = grad * (1 - w);  d/db = grad * w
    """

    node_name = "LerpBackward0"
    inputs = 2

    def forward(ctx, a, b, weight):
        _check_same_dtype(a, b, "end")
        _floating_only("lerp_kernel_scalar", a)
        ctx.weight = weight
        return _lerp(a, b, np.asarray(weight, dtype=a.dtype))

    def backward(ctx, grad):
        w = ctx.weight
        return grad * (1 - w), grad * w


class LerpTensor(Op):
    """Linear interpolation with a tensor weight (broadcast with start and end).

    out = a + w * (b - a);  d/da = grad * (1 - w);  d/db = grad * w;  d/dw = grad * (b - a)
    """

    node_name = "LerpBackward1"
    inputs = 3

    def forward(ctx, a, b, w):
        _check_same_dtype(a, b, "end")
        if w.ndim:
            _check_same_dtype(a, w, "weight")
        _floating_only("lerp_kernel_tensor", a)
        ctx.save_for_backward(a, b, w)
        return _lerp(a, b, w.astype(a.dtype, copy=False))

    def backward(ctx, grad):
        a, b, w = ctx.saved_tensors
        need_a, need_b, need_w = ctx.needs_input_grad
        return (grad * (1 - w) if need_a else None, grad * w if need_b else None,
                grad * (b - a) if need_w else None)


def _lerp_samples(g):
    shapes = g.shapes(3)
    a = g.tensor(shapes[0])
    b = g.tensor(shapes[1], dtype=a.array.dtype.name)
    if g.booleans():
        return Sample((a, b, g.floats(-0.5, 1.5)))
    return Sample((a, b, g.tensor(shapes[2], -0.5, 1.5, dtype=a.array.dtype.name)))


@op_function("lerp", methods=("lerp", "lerp_"), reference="torch.lerp", samples=_lerp_samples,
             dtypes=FLOATING, node_names=("LerpBackward0", "LerpBackward1"),
             error_samples=[_raises(RuntimeError, "expected dtype float for `end`",
                                    np.ones(2, np.float32), np.ones(2, np.float64), 0.5),
                            _raises(NotImplementedError, "not implemented for 'Long'",
                                    np.ones(2, np.int64), np.ones(2, np.int64), 0.5)])
def lerp(input, end, weight):
    """Linear interpolation `input + weight * (end - input)`; `weight` a number or a tensor.

    input and end (and a weight tensor with dimensions) must share a floating dtype.
    out = a + w * (b - a);  d/da = grad * (1 - w);  d/db = grad * w;  d/dw = grad * (b - a)
    """
    if isinstance(weight, Tensor):
        return LerpTensor.apply(input, end, weight)
    return LerpScalar.apply(input, end, weight)


class Addcmul(Op):
    """`input + value * tensor1 * tensor2`, elementwise with broadcasting.

    out = a + v * t1 * t2;  d/da = grad;  d/dt1 = grad * t2 * v;  d/dt2 = grad * t1 * v
    """

    name = "addcmul"
    methods = ("addcmul", "addcmul_")
    inputs = 3
    type_promotion = DEFAULT
    reference = "torch.addcmul"
    samples = ternary(kwargs=lambda g: {"value": g.sampled_from([2, -0.5])} if g.booleans()
                      else {})
    dtypes = ALL_REAL
    error_samples = [_raises(NotImplementedError, "not implemented for 'Bool'",
                             np.ones(2, bool), np.ones(2, bool), np.ones(2, bool))]

    def forward(ctx, a, t1, t2, *, value=1):
        if a.dtype == np.bool_:
            raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
        ctx.value = value
        ctx.save_for_backward(t1, t2)
        scale = a.dtype.type(value)  # torch casts the value to the result's dtype
        return _fma(scale * t1, t2, a)

    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        _, need_t1, need_t2 = ctx.needs_input_grad
        v = ctx.value
        return (grad, grad * (t2 * v) if need_t1 else None,
                grad * (t1 * v) if need_t2 else None)


def _addcdiv_samples(g):
    shapes = g.shapes(3)
    kwargs = {"value": g.sampled_from([2, -0.5])} if g.booleans() else {}
    return Sample((g.tensor(shapes[0]), g.tensor(shapes[1]),
                   g.tensor(shapes[2], 0.5, 4.0)), kwargs)


class Addcdiv(Op):
    """`input + value * tensor1 / tensor2` (the Op behind `addcdiv`).

    out = a + v * t1 / t2;  d/da = grad;  d/dt1 = grad * v / t2;  d/dt2 = -grad * v * t1 / t2**2
    """

    inputs = 3
    type_promotion = DEFAULT

    def forward(ctx, a, t1, t2, *, value=1):
        ctx.value = value
        ctx.save_for_backward(t1, t2)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a + a.dtype.type(value) * t1 / t2

    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        _, need_t1, need_t2 = ctx.needs_input_grad
        v = ctx.value
        return (grad, grad * (v / t2) if need_t1 else None,
                -grad * (v * t1 / (t2 * t2)) if need_t2 else None)


@op_function("addcdiv", methods=("addcdiv", "addcdiv_"), reference="torch.addcdiv",
             samples=_addcdiv_samples, dtypes=FLOATING, node_names=("AddcdivBackward0",),
             error_samples=[_raises(RuntimeError, "Integer division with addcdiv is no longer",
                                    np.ones(2, np.float32), np.ones(2, np.int64),
                                    np.ones(2, np.int64))])
def addcdiv(input, tensor1, tensor2, *, value=1):
    """`input + value * tensor1 / tensor2`, elementwise with broadcasting; two integer (or
    bool) tensors are refused, as in torch.

    out = a + v * t1 / t2;  d/da = grad;  d/dt1 = grad * v / t2;  d/dt2 = -grad * v * t1 / t2**2
    """
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    return Addcdiv.apply(input, tensor1, tensor2, value=value)


# ----------------------------------------------------------------------------------------------
# hypot, logaddexp, logaddexp2, xlogy
# ----------------------------------------------------------------------------------------------
_TENSOR_PAIR = binary(scalar_rhs=False)


class Hypot(Op):
    """sqrt(input**2 + other**2) without overflow; floating dtypes only.

    out = hypot(a, b);  d/da = grad * a / out;  d/db = grad * b / out
    """

    name = "hypot"
    methods = ("hypot", "hypot_")
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.hypot"
    samples = _TENSOR_PAIR
    dtypes = FLOATING
    error_samples = [_raises(NotImplementedError, "not implemented for 'Long'",
                             np.ones(2, np.int64), np.ones(2, np.int64)),
                     _raises(TypeError, "must be Tensor", np.ones(2, np.float32), 2.0)]

    def forward(ctx, a, b):
        _tensor_argument("hypot", b)
        _floating_only("hypot_cpu", a)
        out = np.asarray(np.hypot(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * a / out if need_a else None, grad * b / out if need_b else None


def _logaddexp(a, b, exp, log1p_of_exp):
    """torch's logaddexp: the larger plus log1p(exp(-|a - b|)); equal infinities stay."""
    with np.errstate(invalid="ignore", over="ignore"):
        larger = np.maximum(a, b)
        out = larger + log1p_of_exp(-np.abs(a - b))
        return np.where(np.isinf(a) & (a == b), a, out)


class Logaddexp(Op):
    """log(exp(input) + exp(other)), computed stably; floating dtypes only.

    out = log(e**a + e**b);  d/da = grad / (1 + exp(b - a));  d/db = grad / (1 + exp(a - b))
    """

    name = "logaddexp"
    methods = ("logaddexp",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.logaddexp"
    samples = _TENSOR_PAIR
    dtypes = FLOATING
    error_samples = [_raises(NotImplementedError, "not implemented for 'Long'",
                             np.ones(2, np.int64), np.ones(2, np.int64))]

    def forward(ctx, a, b):
        _tensor_argument("logaddexp", b)
        _floating_only("logaddexp_cpu", a)
        ctx.save_for_backward(a, b)
        return _logaddexp(a, b, np.exp, lambda x: np.log1p(np.exp(x)))

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / (1 + (b - a).exp()) if need_a else None,
                grad / (1 + (a - b).exp()) if need_b else None)


class Logaddexp2(Op):
    """log2(2**input + 2**other), computed stably; floating dtypes only.

    out = log2(2**a + 2**b);  d/da = grad / (1 + 2**(b - a));  d/db = grad / (1 + 2**(a - b))
    """

    name = "logaddexp2"
    methods = ("logaddexp2",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.logaddexp2"
    samples = _TENSOR_PAIR
    dtypes = FLOATING
    error_samples = [_raises(NotImplementedError, "not implemented for 'Long'",
                             np.ones(2, np.int64), np.ones(2, np.int64))]

    def forward(ctx, a, b):
        _tensor_argument("logaddexp2", b)
        _floating_only("logaddexp2_cpu", a)
        ctx.save_for_backward(a, b)
        inverse_ln2 = a.dtype.type(1 / math.log(2))
        return _logaddexp(a, b, np.exp2, lambda x: np.log1p(np.exp2(x)) * inverse_ln2)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad / (1 + 2 ** (b - a)) if need_a else None,
                grad / (1 + 2 ** (a - b)) if need_b else None)


def _xlogy(x, y):
    """x * log(y), 0 where x == 0 (even where y == 0), NaN where y is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x == 0, 0, x * np.log(y))
        return np.where(np.isnan(y), np.nan, out)


def _xlogy_self_backward(grad, a, b):
    """torch's d/dself of xlogy: xlogy(grad, b), and 0 where self == 0 and b <= 0."""
    return xlogy(grad, b).masked_fill((a == 0) & (b <= 0), 0.0)


class XlogyTensor(Op):
    """x * log(y) for two tensors; 0 where x == 0, NaN where y is NaN.

    out = a * log(b);  d/da = xlogy(grad, b) (0 where a == 0 and b <= 0);  d/db = grad * a / b
    """

    node_name = "XlogyBackward0"
    inputs = 2
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.asarray(_xlogy(a, b), dtype=np.result_type(a, b))

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (_xlogy_self_backward(grad, a, b) if need_a else None,
                grad * a / b if need_b else None)


class XlogyScalarSelf(Op):
    """xlogy with a number `self`: `xlogy(2.0, y)`.

    out = s * log(b);  d/db = grad * s / b
    """

    node_name = "XlogyBackward1"
    inputs = 2
    differentiable_inputs = (1,)
    type_promotion = INT_TO_FLOAT

    def forward(ctx, s, b):
        s = b.dtype.type(s)  # the number, in the result's dtype (a tiny one may become 0)
        ctx.save_for_backward(float(s), b)
        return np.asarray(_xlogy(s, b), dtype=b.dtype)

    def backward(ctx, grad):
        s, b = ctx.saved_tensors
        return None, grad * s / b


class XlogyScalarOther(Op):
    """xlogy with a number `other`: `xlogy(x, 2.0)`.

    out = a * log(s);  d/da = xlogy(grad, s)   (0 where a == 0 if s <= 0)
    """

    node_name = "XlogyBackward2"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, s):
        ctx.save_for_backward(a, s)
        return np.asarray(_xlogy(a, np.asarray(s, dtype=a.dtype)), dtype=a.dtype)

    def backward(ctx, grad):
        a, s = ctx.saved_tensors
        grad_a = xlogy(grad, s)
        return grad_a.masked_fill(a == 0, 0.0) if s <= 0 else grad_a, None


def _xlogy_samples(g):
    shape_a, shape_b = g.shapes(2)
    choice = g.integers(0, 3)
    if choice == 0:
        return Sample((g.floats(-3, 3), g.tensor(shape_b, 0.1, 5.0)))
    a = g.tensor(shape_a)
    if choice == 1:
        return Sample((a, g.floats(0.1, 5.0)))
    return Sample((a, g.tensor(shape_b, 0.1, 5.0)))


@op_function("xlogy", methods=("xlogy", "xlogy_"), reference="torch.xlogy",
             samples=_xlogy_samples, dtypes=BOOL_AND_REAL,
             node_names=("XlogyBackward0", "XlogyBackward1", "XlogyBackward2"))
def xlogy(input, other):
    """`input * log(other)`, 0 where input == 0 (even where other == 0), NaN where other is NaN;
    either argument may be a number. Integers and bools give the default float dtype.

    out = a * log(b);  d/da = xlogy(grad, b) (0 where a == 0 and b <= 0);  d/db = grad * a / b
    """
    if not isinstance(input, Tensor):
        return XlogyScalarSelf.apply(input, other)
    if not isinstance(other, Tensor):
        return XlogyScalarOther.apply(input, other)
    return XlogyTensor.apply(input, other)


# ----------------------------------------------------------------------------------------------
# Special functions (Note [Special functions computed as torch computes them])
# ----------------------------------------------------------------------------------------------
def _lgamma_scalar(value):
    """math.lgamma, with torch's +inf at the poles (0 and the negative integers) and beyond."""
    try:
        return math.lgamma(value)
    except (ValueError, OverflowError):
        return math.inf


_elementwise_erf = np.frompyfunc(math.erf, 1, 1)
_elementwise_erfc = np.frompyfunc(math.erfc, 1, 1)
_elementwise_lgamma = np.frompyfunc(_lgamma_scalar, 1, 1)


def _lgamma(x):
    return np.asarray(_elementwise_lgamma(x), dtype=x.dtype)


# Pavlis' rational approximation for erfinv: the first guess (as torch's old calc_erfinv)
_ERFINV_A = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_ERFINV_B = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_ERFINV_C = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_ERFINV_D = (3.543889200, 1.637067800)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erfinv(y):
    """erfinv to double precision: a rational first guess, then Halley steps on erf(x) = |y|,
    written as erfc(x) = 1 - |y| above 1/2 so that no digits cancel near +-1."""
    z = np.abs(y.astype(np.float64))
    a, b, c, d = _ERFINV_A, _ERFINV_B, _ERFINV_C, _ERFINV_D
    with np.errstate(all="ignore"):
        w = z * z
        central = z * (((a[3] * w + a[2]) * w + a[1]) * w + a[0]) / (
            (((b[3] * w + b[2]) * w + b[1]) * w + b[0]) * w + 1)
        s = np.sqrt(-np.log((1 - z) / 2))
        tail = (((c[3] * s + c[2]) * s + c[1]) * s + c[0]) / ((d[1] * s + d[0]) * s + 1)
        x = np.where(z <= 0.7, central, tail)
        upper = z > 0.5
        q = 1 - z  # exact for z in [1/2, 1]
        for _ in range(3):
            residual = np.where(upper, q - np.asarray(_elementwise_erfc(x), dtype=np.float64),
                                np.asarray(_elementwise_erf(x), dtype=np.float64) - z)
            slope = _TWO_OVER_SQRT_PI * np.exp(-x * x)
            x = x - residual / (slope + x * residual)  # Halley: erf'' = -2 x erf'
        x = np.where(z == 1, np.inf, np.where(z > 1, np.nan, x))
        return np.copysign(x, y.astype(np.float64)).astype(y.dtype)


_PSI_10 = 2.25175258906672110764  # digamma(10)
_DIGAMMA_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
              -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
              8.33333333333333333333E-2)


def _digamma_positive(x):
    """Cephes' digamma for x > 0 (and NaN, inf): recur up to 10, then the asymptotic series."""
    t = x.dtype.type
    result = np.zeros_like(x)
    for _ in range(10):  # x > 0 reaches 10 in at most 10 steps
        small = x < t(10)
        result = np.where(small, result - t(1) / x, result)
        x = np.where(small, x + t(1), x)
    z = t(1) / (x * x)
    series = np.zeros_like(x)
    for coefficient in _DIGAMMA_A:
        series = series * z + t(coefficient)
    series = np.where(x < t(1e17), z * series, t(0))
    out = result + np.log(x) - t(0.5) / x - series
    return np.where(x == t(10), result + t(_PSI_10), out)


def _digamma(x):
    """torch's calc_digamma: +-inf at +-0, NaN at the negative integers, the reflection
    digamma(1 - x) - pi / tan(pi frac(x)) below 0 (computed in double), else from one."""
    t = x.dtype.type
    with np.errstate(all="ignore"):
        negative = x < t(0)
        positive = _digamma_positive(np.where(negative, t(1) - x, x))
        fraction = np.modf(x.astype(np.float64))[0]
        reflection = (math.pi / np.tan(math.pi * fraction)).astype(x.dtype)
        out = np.where(negative, positive - reflection, positive)
        out = np.where(negative & (x == np.trunc(x)), t(np.nan), out)
        return np.where(x == t(0), np.copysign(t(np.inf), -x), out).astype(x.dtype, copy=False)


def _trigamma(x):
    """torch's trigamma (polygamma(1, x)): reflection below 1/2, six steps up, then a series."""
    t = x.dtype.type
    with np.errstate(all="ignore"):
        pi = t(math.pi)
        reflect = x < t(0.5)
        sin_pi_x = np.sin(pi * x)
        result = np.where(reflect, -(pi * pi) / (sin_pi_x * sin_pi_x), t(0))
        y = np.where(reflect, t(1) - x, x)
        for _ in range(6):
            result = result + t(1) / (y * y)
            y = y + t(1)
        ixx = t(1) / (y * y)
        result = result + (t(1) + t(1) / (t(2) * y)
                           + ixx * (t(1 / 6) - ixx * (t(1 / 30) - ixx * t(1 / 42)))) / y
        return np.where(reflect, -result, result).astype(x.dtype, copy=False)


_MACHEP = 1.11022302462515654042e-16
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)


def _hurwitz_zeta(s, q):
    """Cephes' zeta(s, q) = sum over k >= 0 of (q + k)**-s for an integer s >= 2, in double:
    direct terms until q + k > 9 (at least 9 of them), then Euler-Maclaurin; +inf at q = 0 and
    the negative integers."""
    q = np.asarray(q, dtype=np.float64)
    out = np.full(q.shape, np.inf)
    done = (q <= 0) & (q == np.floor(q))
    with np.errstate(all="ignore"):
        total = q ** -s
        a = q.copy()
        b = np.zeros_like(q)
        terms = 0
        while True:
            running = ~done & ((terms < 9) | (a <= 9.0))
            if not running.any():
                break
            terms += 1
            a = np.where(running, a + 1, a)
            b = np.where(running, a ** -s, b)
            total = np.where(running, total + b, total)
            converged = running & (-_MACHEP * total < b) & (b < _MACHEP * total)
            out[converged] = total[converged]
            done |= converged
        w = a
        total = total + b * w / (s - 1) - 0.5 * b
        factor = np.ones_like(q)
        k = 0.0
        for coefficient in _ZETA_A:
            factor = factor * (s + k)
            b = b / w
            term = factor * b / coefficient
            total = total + term
            converged = ~done & (np.abs(term / total) < _MACHEP)
            out[converged] = total[converged]
            done |= converged
            k += 1
            factor = factor * (s + k)
            b = b / w
            k += 1
        out[~done] = total[~done]
    return out


def _polygamma(n, x):
    """The n-th derivative of digamma, as torch's polygamma kernel (n = 0, 1, or more)."""
    if n == 0:
        return _digamma(x)
    if n == 1:
        return _trigamma(x)
    t = x.dtype.type
    with np.errstate(all="ignore"):
        factorial = np.exp(t(_lgamma_scalar(n + 1.0)))
        zeta = _hurwitz_zeta(n + 1.0, x).astype(x.dtype)
        return (t(1 if n % 2 else -1) * factorial * zeta).astype(x.dtype, copy=False)


class Polygamma(Op):
    """The n-th derivative of digamma, for digamma's and lgamma's higher derivatives.

    out = polygamma(n, a);  d/da = grad * polygamma(n + 1, a)
    """

    node_name = "PolygammaBackward0"
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        return _polygamma(n, a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, ctx.n + 1)


class Erfc(Op):
    """Elementwise complementary error function 1 - erf(input), accurate where erf is near 1.

    out = erfc(a);  d/da = -grad * 2 / sqrt(pi) * exp(-a**2)
    """

    name = "erfc"
    methods = ("erfc", "erfc_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.erfc"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.asarray(_elementwise_erfc(a), dtype=a.dtype)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -2.0 / math.sqrt(math.pi) * (-(a * a)).exp() * grad


class Erfinv(Op):
    """Elementwise inverse error function on [-1, 1] (+-inf at +-1, NaN outside).

    out = erfinv(a);  d/da = grad * sqrt(pi) / 2 * exp(out**2)
    """

    name = "erfinv"
    methods = ("erfinv", "erfinv_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.erfinv"
    samples = unary(-1.0, 1.0)
    dtypes = ALL_REAL

    def forward(ctx, a):
        out = np.asarray(_erfinv(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return 0.5 * math.sqrt(math.pi) * (out * out).exp() * grad


class Lgamma(Op):
    """Elementwise log |Gamma(input)| (+inf at 0 and the negative integers).

    out = lgamma(a);  d/da = grad * digamma(a)
    """

    name = "lgamma"
    methods = ("lgamma", "lgamma_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.lgamma"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _lgamma(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Digamma.apply(a)


class Digamma(Op):
    """Elementwise digamma, the derivative of lgamma (+-inf at +-0, NaN at negative integers).

    out = digamma(a);  d/da = grad * polygamma(1, a)
    """

    name = "digamma"
    methods = ("digamma", "digamma_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.digamma"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _digamma(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * Polygamma.apply(a, 1)


# ----------------------------------------------------------------------------------------------
# sinc, deg2rad, rad2deg, frac
# ----------------------------------------------------------------------------------------------
def _sinc_backward(grad, a):
    """torch's sinc_backward: (pi a cos(pi a) - sin(pi a)) / (pi a**2), 0 where pi a**2 == 0."""
    a_pi = a * math.pi
    a_squared_pi = a * a * math.pi
    out = grad * (a_pi * a_pi.cos() - a_pi.sin()) / a_squared_pi
    return hypergrad.where(a_squared_pi == 0.0, 0.0, out)


def _sinc_samples(g):
    """Values with 0.1 <= |a| <= 5 (see Sinc), of either sign."""
    shape = g.shape()
    x = g.tensor(shape, 0.1, 5.0)
    signs = g.tensor(shape, dtype="bool", special=False).array
    x.array = np.where(signs, -x.array, x.array).astype(x.array.dtype)
    return Sample((x,))


class Sinc(Op):
    """Elementwise normalized sinc, sin(pi x) / (pi x), with its limit 1 at 0.

    out = sinc(a);  d/da = grad * (pi a cos(pi a) - sin(pi a)) / (pi a**2)   (0 at 0)
    Close to 0 torch's formula for the derivative cancels catastrophically (pi a cos(pi a)
    and sin(pi a) agree in most digits): below |a| = 0.1 in float32 (1e-3 in float64) it is
    rounding noise in both libraries, so the conformance domain keeps 0.1 away from 0 (the
    `special` check still tries 0 and tiny values, where both give exactly 0).
    """

    name = "sinc"
    methods = ("sinc", "sinc_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.sinc"
    samples = _sinc_samples
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            product = a.dtype.type(math.pi) * a
            return np.where(a == 0, a.dtype.type(1), np.sin(product) / product)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _sinc_backward(grad, a)


_PI_OVER_180 = math.pi / 180


class Deg2Rad(Op):
    """Degrees to radians; integers give the default float dtype.

    out = a * pi / 180;  d/da = grad * pi / 180
    """

    name = "deg2rad"
    methods = ("deg2rad", "deg2rad_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.deg2rad"
    samples = unary(-400, 400)
    dtypes = ALL_REAL

    def forward(ctx, a):
        return a * a.dtype.type(_PI_OVER_180)

    def backward(ctx, grad):
        return grad * _PI_OVER_180


class Rad2Deg(Op):
    """Radians to degrees; integers give the default float dtype.

    out = a * 180 / pi;  d/da = grad * 180 / pi
    """

    name = "rad2deg"
    methods = ("rad2deg", "rad2deg_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.rad2deg"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        return a * a.dtype.type(1 / _PI_OVER_180)

    def backward(ctx, grad):
        return grad * (1 / _PI_OVER_180)


class Frac(Op):
    """Fractional part, input - trunc(input) (the sign of input); floating dtypes only.

    out = a - trunc(a);  d/da = grad
    """

    name = "frac"
    methods = ("frac", "frac_")
    reference = "torch.frac"
    samples = unary()
    dtypes = FLOATING
    error_samples = [_raises(NotImplementedError, "not implemented for 'Long'",
                             np.array([1, 2]))]

    def forward(ctx, a):
        _floating_only("frac_cpu", a)
        with np.errstate(invalid="ignore"):
            return a - np.trunc(a)

    def backward(ctx, grad):
        return grad


# ----------------------------------------------------------------------------------------------
# fmod, copysign
# ----------------------------------------------------------------------------------------------
def _fmod_forward(a, b):
    if np.result_type(a, b) == np.bool_:
        raise NotImplementedError("\"fmod_cpu\" not implemented for 'Bool'")
    if np.result_type(a, b).kind in "iu" and np.any(np.asarray(b) == 0) and \
            0 not in np.broadcast_shapes(np.shape(a), np.shape(b)):
        raise RuntimeError("ZeroDivisionError")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(a, b)


class FmodTensor(Op):
    """C-style remainder (the sign of the dividend) of two tensors.

    out = a - trunc(a / b) * b;  d/da = grad;  d/db = -grad * trunc(a / b)
    """

    node_name = "FmodBackward1"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _fmod_forward(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad, -grad * a.div(b, rounding_mode="trunc")


class FmodScalar(Op):
    """C-style remainder with a number divisor, `fmod(x, 2.5)`.

    out = a - trunc(a / b) * b;  d/da = grad
    """

    node_name = "FmodBackward0"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = DEFAULT

    def forward(ctx, a, b):
        return _fmod_forward(a, b)

    def backward(ctx, grad):
        return grad, None


@op_function("fmod", methods=("fmod", "fmod_"), reference="torch.fmod",
             samples=binary(rhs_low=0.5, rhs_high=4.0), dtypes=ALL_REAL,
             node_names=("FmodBackward0", "FmodBackward1"),
             divergences={"special": on_some_inputs(
                 "fmod(1e30, 1e-30) in float32: torch's scalar loop gives the exact remainder "
                 "(as HyperGrad), its vectorized loop (whole chunks of 16 float32 elements "
                 "with AVX-512) computes a - trunc(a / b) * b, which overflows to NaN; so "
                 "torch's answer depends on the tensor's size")},
             error_samples=[_raises(RuntimeError, "ZeroDivisionError", np.array([3, 4]),
                                    np.array([0, 1])),
                            _raises(TypeError, "fmod", 2.0, np.array([1.0]))])
def fmod(input, other):
    """C-style remainder `input - trunc(input / other) * other`: the sign of the dividend
    (`remainder` takes the divisor's); `other` may be a number.

    out = a - trunc(a / b) * b;  d/da = grad;  d/db = -grad * trunc(a / b)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected one "
                        "of:\n * (Tensor input, Tensor other)\n * (Tensor input, Number other)")
    if isinstance(other, Tensor):
        return FmodTensor.apply(input, other)
    return FmodScalar.apply(input, other)


def _copysign_self_backward(grad, a, out):
    """torch's copysign_tensor_self_backward: grad * out / a, and 0 where a == 0."""
    return grad * (out / a).masked_fill(a == 0, 0.0)


class CopysignTensor(Op):
    """|input| with the sign (bit) of `other`, for two tensors.

    out = copysign(a, b);  d/da = grad * out / a   (0 where a == 0);  d/db = 0
    """

    node_name = "CopysignBackward0"
    inputs = 2
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, b):
        out = np.asarray(np.copysign(a, b))
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (_copysign_self_backward(grad, a, out) if need_a else None,
                hypergrad.zeros_like(grad) if need_b else None)


class CopysignScalar(Op):
    """|input| with the sign of the number `other`.

    out = copysign(a, s);  d/da = grad * out / a   (0 where a == 0)
    """

    node_name = "CopysignBackward1"
    inputs = 2
    differentiable_inputs = (0,)
    type_promotion = INT_TO_FLOAT

    def forward(ctx, a, s):
        out = np.asarray(np.copysign(a, a.dtype.type(s)))
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return _copysign_self_backward(grad, a, out), None


def _copysign_samples(g):
    """input kept 1e-3 away from 0: the gradient divides by it, and its second derivative
    at tiny inputs is a cancellation of huge terms (rounding noise; `special` tries 0)."""
    shape_a, shape_b = g.shapes(2)
    a = g.tensor(shape_a, exclude=(0.0,))
    if g.booleans() and g.booleans():
        return Sample((a, g.floats(-5, 5) if g.dtype.is_floating_point else g.integers(-5, 5)))
    return Sample((a, g.tensor(shape_b)))


@op_function("copysign", methods=("copysign", "copysign_"), reference="torch.copysign",
             samples=_copysign_samples, dtypes=BOOL_AND_REAL,
             node_names=("CopysignBackward0", "CopysignBackward1"))
def copysign(input, other):
    """|input| with the sign of `other` (a tensor or a number; -0.0 counts as negative);
    integers and bools give the default float dtype.

    out = copysign(a, b);  d/da = grad * out / a   (0 where a == 0);  d/db = 0
    """
    if isinstance(other, Tensor):
        return CopysignTensor.apply(input, other)
    return CopysignScalar.apply(input, other)


# ----------------------------------------------------------------------------------------------
# nan_to_num, fmax, fmin, logit
# ----------------------------------------------------------------------------------------------
def _nan_to_num_samples(g):
    kwargs = {}
    if g.booleans():
        kwargs["nan"] = g.floats(-2, 2)
    if g.booleans():
        kwargs["posinf"] = g.floats(0, 100)
    if g.booleans():
        kwargs["neginf"] = g.floats(-100, 0)
    return Sample((g.tensor(g.shape()),), kwargs)


class NanToNum(Op):
    """NaN, +inf and -inf replaced by `nan` (0), `posinf` and `neginf` (the dtype's extremes).

    out = a where finite, else the replacement;  d/da = grad where a is finite, else 0
    """

    name = "nan_to_num"
    methods = ("nan_to_num", "nan_to_num_")
    reference = "torch.nan_to_num"
    samples = _nan_to_num_samples
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, nan=0.0, posinf=None, neginf=None):
        ctx.save_for_backward(a)
        if a.dtype.kind != "f":
            return a.copy()
        info = np.finfo(a.dtype)
        with np.errstate(over="ignore"):
            replacements = [a.dtype.type(info.max if posinf is None else posinf),
                            a.dtype.type(info.min if neginf is None else neginf),
                            a.dtype.type(0.0 if nan is None else nan)]
        out = np.where(np.isposinf(a), replacements[0], a)
        out = np.where(np.isneginf(a), replacements[1], out)
        return np.where(np.isnan(a), replacements[2], out)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.isfinite()


class Fmax(Op):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    out = fmax(a, b);  d/da = grad where a >= b or b is NaN;  d/db = grad elsewhere
    """

    name = "fmax"
    methods = ("fmax",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.fmax"
    samples = _TENSOR_PAIR
    dtypes = BOOL_AND_REAL
    error_samples = [_raises(TypeError, "must be Tensor", np.ones(2, np.float32), 2.0)]

    def forward(ctx, a, b):
        _tensor_argument("fmax", b)
        ctx.save_for_backward(a, b)
        return np.fmax(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_wins = (a >= b) | b.isnan()
        return grad.masked_fill(~a_wins, 0.0), grad.masked_fill(a_wins, 0.0)


class Fmin(Op):
    """Elementwise minimum that ignores NaN (NaN only where both are NaN).

    out = fmin(a, b);  d/da = grad where a <= b or b is NaN;  d/db = grad elsewhere
    """

    name = "fmin"
    methods = ("fmin",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.fmin"
    samples = _TENSOR_PAIR
    dtypes = BOOL_AND_REAL
    error_samples = [_raises(TypeError, "must be Tensor", np.ones(2, np.float32), 2.0)]

    def forward(ctx, a, b):
        _tensor_argument("fmin", b)
        ctx.save_for_backward(a, b)
        return np.fmin(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_wins = (a <= b) | b.isnan()
        return grad.masked_fill(~a_wins, 0.0), grad.masked_fill(a_wins, 0.0)


def _torch_simd_bytes():
    """The bytes in one SIMD vector of torch's CPU kernels on this machine: 64 with AVX-512,
    else 32 (AVX2), judged from numpy's detection of the CPU's features."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    avx512 = all(features.get(name) for name in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ"))
    return 64 if avx512 else 32


_SIMD_BYTES = _torch_simd_bytes()


def _vectorized_positions(a, grad):
    """The elements torch's `cpu_kernel_vec` passes to its vector function: on contiguous
    operands (or one number broadcast, stride 0), the leading whole blocks of two vectors;
    the rest (and everything, otherwise) goes to its scalar function. None if none."""
    broadcast_number = all(step == 0 for step in grad.stride())
    if not (a.is_contiguous() and (grad.is_contiguous() or broadcast_number)
            and a.shape == grad.shape):
        return None
    block = 2 * _SIMD_BYTES // a.element_size()
    count = a.numel() // block * block
    return hypergrad.arange(a.numel()).reshape(a.shape) < count if count else None


def _logit_backward(grad, a, eps):
    """torch's logit backward: grad / (a (1 - a)) inside [eps, 1 - eps] ([0, 1] without eps);
    outside, 0 with eps and NaN without.

    torch runs a kernel when no graph is being built and a differentiable composite when one
    is (create_graph), and the kernel has a scalar and a vector function. They differ at NaN
    inputs with eps (NaN from the scalar kernel, 0 from the others), for eps < 0 (the kernel
    reads it as no eps) and at exactly 0 and 1, where the scalar kernel gives grad * inf (+inf
    at -0.0 for a positive grad; grad / (-0.0) is -inf). All three are spelled out.
    """
    derivative = grad / (a * (1 - a))
    if hypergrad.is_grad_enabled():  # the composite takes any eps as given, even below 0
        if eps is None:
            return hypergrad.where((a >= 0) & (a <= 1), derivative, math.nan)
        return hypergrad.where((a >= eps) & (a <= 1.0 - eps), derivative, 0.0)
    if eps is None or eps < 0:  # the kernel reads eps < 0 as no eps
        low, high, outside = 0.0, 1.0, math.nan
    else:
        low, high, outside = eps, 1.0 - eps, 0.0
    at_edge = hypergrad.where((a == 0) | (a == 1), grad * math.inf, derivative)
    scalar = hypergrad.where((a < low) | (a > high), outside, at_edge)
    positions = _vectorized_positions(a, grad)
    if positions is None:
        return scalar
    vector = hypergrad.where((a >= low) & (a <= high), derivative, outside)
    return hypergrad.where(positions, vector, scalar)


class Logit(Op):
    """log(p / (1 - p)), with p first clamped to [eps, 1 - eps] if `eps` is given.

    out = log(a / (1 - a));  d/da = grad / (a (1 - a))   (0 outside [eps, 1 - eps])
    """

    name = "logit"
    methods = ("logit", "logit_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.logit"
    samples = unary(0.01, 0.99, kwargs=lambda g: {"eps": g.sampled_from([1e-6, 0.1, 0.3])}
                    if g.booleans() else {})
    dtypes = ALL_REAL

    def forward(ctx, a, eps=None):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = a
        if eps is not None and eps >= 0:
            low = a.dtype.type(eps)
            high = a.dtype.type(1) - low
            x = np.where(a < low, low, np.where(a > high, high, a))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / (1 - x))

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return _logit_backward(grad, a, ctx.eps)


# ----------------------------------------------------------------------------------------------
# dist, cdist
# ----------------------------------------------------------------------------------------------
def _pnorm(x, p, axis=None):
    """The p-norm of |a| (`x`) over `axis` (all elements by default), as linalg.vector_norm."""
    if p == 0:
        return np.sum(x != 0, axis=axis).astype(x.dtype)
    if p == math.inf:
        return np.max(x, axis=axis, initial=0) if x.size else np.zeros((), x.dtype)
    if p == -math.inf:
        return np.min(x, axis=axis)
    if p == 1:
        return np.sum(x, axis=axis)
    if p == 2:
        return np.sqrt(np.sum(x * x, axis=axis))
    return np.sum(x ** p, axis=axis) ** (1.0 / p)


def _norm_backward(grad, x, norm, p):
    """torch's norm_backward over all elements (grad and norm are 0-dim)."""
    if p == 1:
        return x.sign() * grad
    if p == 2:
        return grad * (x / norm).masked_fill(norm == 0, 0.0)
    if abs(p) == math.inf:
        x_abs = x.abs()
        mask = (x_abs == norm) | x_abs.isnan()
        return x.sign() * ((grad / mask.sum()) * mask)
    if p < 1:
        scaled = x.sign() * (x.abs() ** (p - 1)).masked_fill(x == 0, 0.0)
        return scaled * grad * norm ** (1 - p)
    scale = (grad / norm ** (p - 1)).masked_fill(norm == 0, 0.0)
    if p < 2:
        return x.sign() * x.abs() ** (p - 1) * scale
    return x * x.abs() ** (p - 2) * scale


def _dist_samples(g):
    """Values kept 1e-3 away from 0: the second derivative of a norm at a tiny difference is
    a cancellation of huge terms (rounding noise in both libraries; `special` tries 0)."""
    shape_a, shape_b = g.shapes(2)
    sample = Sample((g.tensor(shape_a, exclude=(0.0,)), g.tensor(shape_b, exclude=(0.0,))))
    if g.booleans():
        sample.kwargs["p"] = g.sampled_from([1, 3, 0.5, 1.5, math.inf, -math.inf, 0, -1])
    return sample


class Dist(Op):
    """The p-norm of input - other (broadcast), over all elements.

    out = ||a - b||_p;  d/da = norm_backward(grad, a - b);  d/db = -d/da   (none for p = 0)
    """

    name = "dist"
    methods = ("dist",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.dist"
    samples = _dist_samples
    dtypes = FLOATING
    tolerances = ILL_CONDITIONED_SUMS
    error_samples = [_raises(RuntimeError, "input dtype should be either floating point",
                             np.array([1, 2]), np.array([2, 3]))]

    def forward(ctx, a, b, p=2):
        if a.dtype.kind not in "fc":
            raise RuntimeError("norm(): input dtype should be either floating point or complex. "
                               f"Got {_scalar_type_name(a.dtype)} instead.")
        x = np.abs(a - b)
        if x.size == 0 and (p < 0 or p == math.inf):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty "
                               "tensor because the operation does not have an identity")
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            # one element: torch returns |a - b| without computing |a - b|**p (no overflow)
            out = np.asarray(x.reshape(()) if x.size == 1 and p != 0 else _pnorm(x, p),
                             dtype=x.dtype)
        ctx.p = p
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad):
        if ctx.p == 0:  # torch's norm_backward returns no tensor for p = 0, and dist fails
            raise RuntimeError("Expected a proper Tensor but got None (or an undefined Tensor in "
                               "C++) for argument #0 'self' (torch's dist has no gradient for "
                               "p=0)")
        a, b, out = ctx.saved_tensors
        grad_a = _norm_backward(grad, a - b, out, ctx.p)
        return grad_a, -grad_a


def _cdist_pair_backward(grad, diff, dist, p):
    """The gradient of each |x1_i - x2_j|_p with respect to x1_i (torch's cdist backward
    kernels); `diff` is x1_i - x2_j with the pair dims (..., P, R, M), grad and dist (..., P, R)."""
    grad = grad[..., None]
    dist = dist[..., None]
    with np.errstate(all="ignore"):
        if p == 1:
            return grad * np.sign(diff)
        if p == 2:
            return np.where(dist == 0, 0, grad * diff / dist)
        if p == math.inf:  # 1 where |diff| == dist (NaN where |diff| - dist is inf - inf)
            return grad * np.sign(diff) * (1 - np.minimum(1, np.ceil(np.abs(np.abs(diff)
                                                                            - dist))))
        if p < 2:
            zero = (dist == 0) | ((diff == 0) & (p < 1))
            return np.where(zero, 0, np.sign(diff) * np.abs(diff) ** (p - 1) * grad
                            / dist ** (p - 1))
        return np.where(dist == 0, 0, diff * np.abs(diff) ** (p - 2) * grad / dist ** (p - 1))


class CdistBackward(Op):
    """The gradient of cdist with respect to x1 (torch's _cdist_backward). torch has no
    derivative for it, so neither does HyperGrad: a second derivative of cdist raises.
    """

    node_name = "CdistBackwardBackward0"
    inputs = 4
    differentiable_inputs = (0, 1, 2, 3)

    def forward(ctx, grad, x1, x2, dist, p):
        if p == 0:
            return np.zeros_like(x1)
        diff = x1[..., :, None, :] - x2[..., None, :, :]
        return _cdist_pair_backward(grad, diff, dist, p).sum(axis=-2).astype(x1.dtype)

    def backward(ctx, g):
        raise NotImplementedError("the derivative for '_cdist_backward' is not implemented.")


class Cdist(Op):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M).

    out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p
    d/dx1 = _cdist_backward(grad, x1, x2, out);  d/dx2 = the same with the roles swapped
    """

    node_name = "CdistBackward0"
    inputs = 2

    def forward(ctx, x1, x2, p):
        with np.errstate(all="ignore"):
            diff = np.abs(x1[..., :, None, :] - x2[..., None, :, :])
            if p == 0:
                out = np.sum(np.minimum(np.ceil(diff), 1), axis=-1)
            elif p == math.inf:  # torch's running std::max skips NaN
                out = np.fmax.reduce(diff, axis=-1, initial=0)
            else:
                out = _pnorm(diff, p, axis=-1)
        out = np.asarray(out, dtype=x1.dtype)
        ctx.p = p
        ctx.save_for_backward(x1, x2, out)
        return out

    def backward(ctx, grad):
        x1, x2, out = ctx.saved_tensors
        need_x1, need_x2 = ctx.needs_input_grad
        p = ctx.p
        return (CdistBackward.apply(grad, x1, x2, out, p) if need_x1 else None,
                CdistBackward.apply(grad.mT, x2, x1, out.mT, p) if need_x2 else None)


def _euclidean_dist_backward(grad, x1, x2, out):
    """torch's _euclidean_dist_backward: ratio = grad / out (0 where out == 0), then
    x1 * ratio.sum(-1) - ratio @ x2 (and the transpose for x2)."""
    ratio = (grad / out).masked_fill(out == 0, 0.0)
    return (x1 * ratio.sum(-1, keepdim=True) - ratio.matmul(x2),
            x2 * ratio.sum(-2).unsqueeze(-1) - ratio.mT.matmul(x1))


class EuclideanDist(Op):
    """Euclidean cdist computed with a matrix product (torch's _euclidean_dist), which torch
    uses for p = 2 when a side has more than 25 rows.

    out = sqrt(clamp_min(|x1|**2 - 2 x1 @ x2.T + |x2|**2, 0));
    d/dx1 = x1 * r.sum(-1) - r @ x2;  d/dx2 = x2 * r.sum(-2) - r.T @ x1   (r = grad / out)
    """

    node_name = "EuclideanDistBackward0"
    inputs = 2

    def forward(ctx, x1, x2):
        x1_norm = np.sum(x1 ** 2, axis=-1, keepdims=True)
        x2_norm = np.sum(x2 ** 2, axis=-1, keepdims=True)
        left = np.concatenate([x1 * -2, x1_norm, np.ones_like(x1_norm)], axis=-1)
        right = np.concatenate([x2, np.ones_like(x2_norm), x2_norm], axis=-1)
        out = np.sqrt(np.maximum(left @ np.swapaxes(right, -1, -2), 0))
        ctx.save_for_backward(x1, x2, out)
        return out

    def backward(ctx, grad):
        x1, x2, out = ctx.saved_tensors
        return _euclidean_dist_backward(grad, x1, x2, out)


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _check_cdist(x1, x2, p, compute_mode):
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if x1.dim() < 2 or x2.dim() < 2:
        bad = x1 if x1.dim() < 2 else x2
        raise RuntimeError(f"cdist only supports at least 2D tensors, "
                           f"X{1 if bad is x1 else 2} got: {bad.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_scalar_type_name(x.dtype.numpy)}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_type_name(x1.dtype.numpy)} but found "
                           f"{_scalar_type_name(x2.dtype.numpy)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")


def _cdist_samples(g):
    batch = g.shape(max_dims=1)
    rows_1, rows_2, columns = g.integers(1, 4), g.integers(1, 4), g.integers(1, 3)
    x1 = g.tensor(batch + (rows_1, columns))
    x2 = g.tensor(batch + (rows_2, columns))
    kwargs = {}
    if g.booleans():
        kwargs["p"] = g.sampled_from([0.0, 0.5, 1.0, 1.5, 3.0, math.inf])
    return Sample((x1, x2), kwargs)


@op_function("cdist", reference="torch.cdist", samples=_cdist_samples, dtypes=FLOATING,
             node_names=("CdistBackward0", "EuclideanDistBackward0"),
             tolerances=ILL_CONDITIONED_SUMS,
             error_samples=[_raises(RuntimeError, "at least 2D", np.ones(2), np.ones(2)),
                            _raises(RuntimeError, "same number of columns", np.ones((2, 2)),
                                    np.ones((2, 3))),
                            _raises(RuntimeError, "non-negative p", np.ones((2, 2)),
                                    np.ones((2, 2)), p=-1.0)])
def cdist(x1, x2, p=2.0, compute_mode=_CDIST_MODES[0]):
    """The p-norm distance between each pair of rows of `x1` (..., P, M) and `x2` (..., R, M),
    with broadcast batch dims: shape (..., P, R).

    For p = 2 and more than 25 rows (or compute_mode="use_mm_for_euclid_dist") it uses a
    matrix product, as torch does (EuclideanDistBackward0); otherwise a direct sum, whose
    second derivative torch does not implement, so neither does HyperGrad.
    out[i, j] = ||x1[i] - x2[j]||_p;  d/dx1[i] = sum over j of the norm's gradient
    """
    _check_cdist(x1, x2, p, compute_mode)
    batch = tuple(np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
    rows_1, rows_2 = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _CDIST_MODES[0] and (rows_1 > 25 or rows_2 > 25)))
    if use_mm and rows_1 and rows_2 and x1.shape[-1]:
        x1 = x1.expand(batch + tuple(x1.shape[-2:]))
        x2 = x2.expand(batch + tuple(x2.shape[-2:]))
        return EuclideanDist.apply(x1, x2).view(batch + (rows_1, rows_2))
    return Cdist.apply(x1, x2, float(p))  # broadcasts the batch dims itself


# ----------------------------------------------------------------------------------------------
# cross, linalg.cross
# ----------------------------------------------------------------------------------------------
def _fused_difference(x, y, z, w):
    """x * y - z * w as torch's compiled kernel computes it: fma(x, y, -(z * w))."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _fma(x, y, -(z * w))


def _cross(a, b, axis):
    """The cross product along `axis` of a and b broadcast: (a1 b2 - a2 b1, a2 b0 - a0 b2,
    a0 b1 - a1 b0)."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    a0, a1, a2 = (np.take(np.broadcast_to(a, shape), i, axis) for i in range(3))
    b0, b1, b2 = (np.take(np.broadcast_to(b, shape), i, axis) for i in range(3))
    return np.stack([_fused_difference(a1, b2, a2, b1), _fused_difference(a2, b0, a0, b2),
                     _fused_difference(a0, b1, a1, b0)], axis=axis)


def _cross_samples(g):
    shape = list(g.shape(min_dims=1))
    dim = g.dim(len(shape))
    shape[dim] = 3
    other = [1 if i != dim and g.booleans() else s for i, s in enumerate(shape)]
    kwargs = {"dim": dim} if g.booleans() else {}
    if "dim" not in kwargs:
        shape[-1] = other[-1] = 3
    return Sample((g.tensor(tuple(shape)), g.tensor(tuple(other))), kwargs)


class LinalgCross(Op):
    """The cross product of 3-vectors along `dim`, broadcasting the other dims.

    out = a x b;  d/da = b x grad;  d/db = grad x a
    """

    name = "linalg.cross"
    inputs = 2
    reference = "torch.linalg.cross"
    samples = _cross_samples
    dtypes = ALL_REAL
    error_samples = [_raises(RuntimeError, "must have length 3", np.ones(2), np.ones(2)),
                     _raises(RuntimeError, "same number of dimensions", np.ones((4, 3)),
                             np.ones(3))]

    def forward(ctx, a, b, *, dim=-1):
        if a.ndim != b.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        if a.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        axis = _wrap_dim(dim, a.ndim)
        if a.shape[axis] != 3 or b.shape[axis] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                               f"{a.shape[axis]} and {b.shape[axis]}")
        if a.dtype != b.dtype:
            raise RuntimeError(f"expected scalar type {_scalar_type_name(a.dtype)} but found "
                               f"{_scalar_type_name(b.dtype)}")
        if a.dtype == np.bool_:
            raise NotImplementedError("\"cross\" not implemented for 'Bool'")
        ctx.dim = axis
        ctx.save_for_backward(a, b)
        return _cross(a, b, axis)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (LinalgCross.apply(b, grad, dim=ctx.dim) if need_a else None,
                LinalgCross.apply(grad, a, dim=ctx.dim) if need_b else None)


@op_function("cross", methods=("cross",), reference="torch.cross", samples=_cross_samples,
             dtypes=ALL_REAL, node_names=("LinalgCrossBackward0",),
             error_samples=[_raises(RuntimeError, "no dimension of size 3", np.ones((4, 2)),
                                    np.ones((4, 2)))])
def cross(input, other, dim=None):
    """The cross product of 3-vectors along `dim`; without `dim`, along the first dim of size
    3 (deprecated in torch, which warns). Calls `linalg.cross`.

    out = a x b;  d/da = b x grad;  d/db = grad x a
    """
    if dim is None:
        dim = next((i for i, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return LinalgCross.apply(input, other, dim=dim)


# ----------------------------------------------------------------------------------------------
# trapezoid, cumulative_trapezoid
# ----------------------------------------------------------------------------------------------
def _check_trapezoid(name, y, x, dx):
    if y.dtype == hypergrad.bool or (x is not None and x.dtype == hypergrad.bool):
        what = "`x` or `y`" if x is not None else "`y`"
        raise RuntimeError(f"{name}: received a bool input for {what}, but bool is not "
                           "supported")
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        "(Tensor, Tensor, dx=...), but expected one of:\n * (Tensor y, Tensor x, "
                        "*, int dim = -1)\n * (Tensor y, *, Number dx = 1, int dim = -1)")
    if dx is not None and (isinstance(dx, bool) or not isinstance(dx, (int, float))):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")


def _sample_spacing(name, y, x, axis):
    """torch's x handling: a 1-d x is viewed along `dim`, a shorter x gets leading 1s; the
    spacings are the differences of neighbouring x."""
    if x.dim() == 1:
        if x.shape[0] != y.shape[axis]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.dim()
        shape[axis] = x.shape[0]
        x = x.view(shape)
    elif x.dim() < y.dim():
        x = x.view((1,) * (y.dim() - x.dim()) + tuple(x.shape))
    return _later(x, axis) - _earlier(x, axis)


def _later(t, axis):
    """t[1:] along `axis` (empty for a size 0, as torch's slice)."""
    size = t.shape[axis]
    return t.narrow(axis, min(size, 1), max(size - 1, 0))


def _earlier(t, axis):
    """t[:-1] along `axis`."""
    return t.narrow(axis, 0, max(t.shape[axis] - 1, 0))


def _neighbour_sums(y, axis):
    return _later(y, axis) + _earlier(y, axis)


def _trapezoid_samples(g):
    shape = g.shape(min_dims=1)
    y = g.tensor(shape)
    dim = g.dim(len(shape))
    kwargs = {"dim": dim} if g.booleans() else {}
    axis = dim if kwargs else -1
    choice = g.integers(0, 2)
    if choice == 0:
        return Sample((y,), kwargs)
    if choice == 1:
        kwargs["dx"] = g.floats(0.1, 2.0)
        return Sample((y,), kwargs)
    if g.booleans():
        x = g.tensor((shape[axis],), -3.0, 3.0)
    else:
        x = g.tensor(shape, -3.0, 3.0)
    return Sample((y, x), kwargs)


@op_function("trapezoid", aliases=("trapz",), reference="torch.trapezoid",
             samples=_trapezoid_samples, dtypes=ALL_REAL,
             node_names=("MulBackward1", "DivBackward1"), tolerances=ILL_CONDITIONED_SUMS,
             error_samples=[_raises(RuntimeError, "bool is not supported", np.ones(3, bool)),
                            _raises(RuntimeError, "one `x` value for each sample point",
                                    np.ones(3), np.ones(2))])
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of `y` along `dim` by the trapezoidal rule, with sample points `x` or a
    constant spacing `dx` (default 1). Integers give the default float dtype.

    As torch, a composition: (sum(y) - (y[0] + y[-1]) / 2) * dx, or
    sum((x[1:] - x[:-1]) * (y[1:] + y[:-1])) / 2 with sample points
    """
    _check_trapezoid("trapezoid", y, x, dx)
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    axis = _wrap_dim(dim, y.dim())
    if y.shape[axis] == 0:  # numpy's 0 for no samples, in y's dtype
        return hypergrad.zeros([s for i, s in enumerate(y.shape) if i != axis], dtype=y.dtype)
    if x is None:
        ends = y.select(axis, 0) + y.select(axis, -1)
        return _MulScalar.apply(y.sum(axis) - _MulScalar.apply(ends, 0.5),
                                1 if dx is None else dx)
    spacing = _sample_spacing("trapezoid", y, x, axis)
    return _DivScalar.apply((_neighbour_sums(y, axis) * spacing).sum(axis), 2.0)


@op_function("cumulative_trapezoid", reference="torch.cumulative_trapezoid",
             samples=_trapezoid_samples, dtypes=ALL_REAL,
             node_names=("CumsumBackward0", "DivBackward1"), tolerances=ILL_CONDITIONED_SUMS,
             error_samples=[_raises(RuntimeError, "bool is not supported", np.ones(3, bool))])
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running integral of `y` along `dim` by the trapezoidal rule (one fewer element),
    with sample points `x` or a constant spacing `dx` (default 1).

    As torch, a composition: cumsum((y[1:] + y[:-1]) * dx / 2), or
    cumsum((y[1:] + y[:-1]) * (x[1:] - x[:-1])) / 2 with sample points
    """
    _check_trapezoid("cumulative_trapezoid", y, x, dx)
    if y.dim() == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    axis = _wrap_dim(dim, y.dim())
    if x is None:
        return _MulScalar.apply(_neighbour_sums(y, axis), (1 if dx is None else dx) / 2.0
                                ).cumsum(axis)
    spacing = _sample_spacing("cumulative_trapezoid", y, x, axis)
    return _DivScalar.apply((_neighbour_sums(y, axis) * spacing).cumsum(axis), 2.0)

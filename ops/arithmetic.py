"""Arithmetic: add, sub, mul, div, neg, pow, remainder, floor_divide, abs, sign, reciprocal.

Each op reads like its entry in PyTorch's tools/autograd/derivatives.yaml: the docstring gives
the value and the derivative of each input; `backward` has one line per input, written in
HyperGrad ops so it can itself be differentiated. Broadcasting, dtype promotion and
dropping gradients nobody needs are handled by the machinery (hypergrad/plugins/op.py).
Where a gradient costs real work, `ctx.needs_input_grad[i]` skips computing it, as torch's
generated code does with `should_compute_output(i)`.

Note [A float16 tensor times a Python number]
    torch computes float16 arithmetic in float32 (its "opmath" type) and rounds the result to
    float16 once. For `mul` and `div` a Python number enters that computation in float32; numpy
    would round it to float16 first: 100000 becomes inf, so `x / 100000` would be 0 where torch
    gives 1e-05, and `x * 0.1` would multiply by 0.0999755859375. These two ops declare
    `opmath_number = True`, and the machinery hands their forward such a number as a numpy
    float32, with which numpy computes in float32; the result is rounded to float16 as usual.
    For every other op torch rounds the number to float16 first, as numpy does (a sweep of the
    binary ops with float16 tensors and Python numbers against torch found no other
    difference, except `floor_divide`, which is left as numpy computes it).
"""

from __future__ import annotations

import numpy as np

from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, FLOATING, Sample, binary,
                                           error_sample, unary)
from hypergrad.creation import zeros_like
from hypergrad.plugins import DEFAULT, INT_TO_FLOAT, Op, op_function
from hypergrad.plugins.op import _broadcast_error, inplace_variant
from hypergrad.tensor import Tensor


def _reject_bool_subtraction(a, b):
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_ or (
            getattr(a, "dtype", None) == np.bool_ and isinstance(b, bool)):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")


class Add(Op):
    """Elementwise sum, `input + alpha * other`.

    out = a + alpha * b;  d/da = grad;  d/db = alpha * grad
    """

    name = "add"
    methods = ("add", "add_", "__add__", "__radd__", "__iadd__")
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.add"
    samples = binary()
    dtypes = ALL_REAL
    inplace_ufunc = np.add

    def forward(ctx, a, b, *, alpha=1):
        if alpha == 1:
            return a + b
        ctx.alpha = alpha
        return a + alpha * b

    def backward(ctx, grad):
        alpha = getattr(ctx, "alpha", 1)
        if alpha == 1 or not ctx.needs_input_grad[1]:
            return grad, grad
        return grad, grad * alpha


class Sub(Op):
    """Elementwise difference, `input - alpha * other`.

    out = a - alpha * b;  d/da = grad;  d/db = -alpha * grad
    """

    name = "sub"
    aliases = ("subtract",)
    methods = ("sub", "sub_", "subtract", "subtract_", "__sub__", "__isub__")
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.sub"
    samples = binary()
    dtypes = ALL_REAL
    inplace_ufunc = np.subtract
    error_samples = [error_sample(np.array([True]), np.array([False]),
                                  match="with two bool tensors is not supported")]

    def forward(ctx, a, b, *, alpha=1):
        _reject_bool_subtraction(a, b)
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    def backward(ctx, grad):
        if not ctx.needs_input_grad[1]:
            return grad, None
        return grad, -grad if ctx.alpha == 1 else grad * -ctx.alpha


class RsubTensor(Op):
    """Reversed subtraction with a tensor `other`, `other - alpha * input`.

    out = b - alpha * a;  d/da = -alpha * grad;  d/db = grad
    """

    inputs = 2
    type_promotion = DEFAULT
    node_name = "RsubBackward0"

    def forward(ctx, a, b, *, alpha=1):
        _reject_bool_subtraction(b, a)
        ctx.alpha = alpha
        return b - a if alpha == 1 else b - alpha * a

    def backward(ctx, grad):
        return -grad if ctx.alpha == 1 else grad * -ctx.alpha, grad


class RsubScalar(RsubTensor):
    """Reversed subtraction with a number `other` (what `2 - x` calls).

    out = b - alpha * a;  d/da = -alpha * grad
    """

    node_name = "RsubBackward1"
    differentiable_inputs = (0,)  # `other` is a Scalar: no edge
    forward = RsubTensor.forward
    backward = RsubTensor.backward


@op_function("rsub", methods=("__rsub__",), reference="torch.rsub", samples=binary(),
             dtypes=ALL_REAL, node_names=("RsubBackward0", "RsubBackward1"))
def rsub(input, other, *, alpha=1):
    """Reversed subtraction `other - alpha * input`; `2 - x` calls `x.__rsub__(2)`.

    out = b - alpha * a;  d/da = -alpha * grad;  d/db = grad
    """
    if isinstance(other, Tensor):
        return RsubTensor.apply(input, other, alpha=alpha)
    return RsubScalar.apply(input, other, alpha=alpha)


class Mul(Op):
    """Elementwise product.

    out = a * b;  d/da = grad * b;  d/db = grad * a
    """

    name = "mul"
    aliases = ("multiply",)
    methods = ("mul", "mul_", "multiply", "multiply_", "__mul__", "__rmul__", "__imul__")
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.mul"
    samples = binary()
    dtypes = ALL_REAL + ("bool",)
    inplace_ufunc = np.multiply
    opmath_number = True   # Note [A float16 tensor times a Python number]

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


class TrueDiv(Op):
    """Elementwise true division; integers divide to the default float dtype.

    out = a / b;  d/da = grad / b;  d/db = -grad * ((a / b) / b)
    """

    node_name = "DivBackward0"
    inputs = 2
    type_promotion = INT_TO_FLOAT
    opmath_number = True   # Note [A float16 tensor times a Python number]

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b   # 1 / 0 is inf, silently, as in torch (Note [Floating-point warnings])

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad / b if need_a else None, -grad * ((a / b) / b) if need_b else None


class RoundingDiv(Op):
    """Division rounded toward zero ("trunc") or down ("floor"); its gradient is zero.

    out = round(a / b);  d/da = 0;  d/db = 0     (derivatives.yaml: div.Tensor_mode)
    """

    node_name = "DivBackward2"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, a, b, rounding_mode):
        _check_integer_division(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "floor":
                return np.floor_divide(a, b) if np.result_type(a, b).kind in "iu" else \
                    _floor_divide_floats(a, b)
            quotient = a / b
            out = np.trunc(quotient)
            return out.astype(np.result_type(a, b)) if out.dtype != np.result_type(a, b) else out

    def backward(ctx, grad):
        return grad * 0, grad * 0


def _check_integer_division(a, b):
    """Integer division by zero raises in torch, when there is anything to divide."""
    if np.result_type(a, b).kind in "iub" and np.any(np.asarray(b) == 0) and \
            0 not in np.broadcast_shapes(np.shape(a), np.shape(b)):
        raise RuntimeError("ZeroDivisionError")


def _floor_divide_floats(a, b):
    """torch's floor division of floats (c10 `div_floor_floating`): from fmod, so that
    inf // 1 is nan and the quotient is exact where a / b would round."""
    with np.errstate(all="ignore"):
        mod = np.fmod(a, b)
        quotient = (a - mod) / b
        quotient = np.where((mod != 0) & ((b < 0) != (mod < 0)), quotient - 1, quotient)
        floored = np.floor(quotient)
        floored = np.where(quotient - floored > 0.5, floored + 1, floored)
        floored = np.where(quotient == 0, np.copysign(0, a / b), floored)
        out = np.where(np.asarray(b) == 0, a / b, floored)
    return out.astype(np.result_type(a, b), copy=False)


def _div_samples(g):
    sample = binary(rhs_exclude=(0.0,))(g)
    if g.booleans():
        sample.kwargs["rounding_mode"] = g.sampled_from(["trunc", "floor"])
    return sample


@op_function("div", aliases=("divide",),
             methods=("div", "div_", "divide", "divide_", "__truediv__", "__itruediv__"),
             reference="torch.div", samples=_div_samples, dtypes=ALL_REAL,
             error_samples=[error_sample(np.array([1.0]), np.array([2.0]), rounding_mode="round",
                                         match="rounding_mode to be one of None")],
             node_names=("DivBackward0", "DivBackward2"))
def div(input, other, *, rounding_mode=None):
    """Elementwise division `input / other`.

    `rounding_mode=None` is true division (integers give the default float dtype);
    "trunc" rounds toward zero and "floor" rounds down, keeping integer dtypes.
    out = a / b;  d/da = grad / b;  d/db = -grad * a / b**2
    """
    if rounding_mode is None:
        return TrueDiv.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return RoundingDiv.apply(input, other, rounding_mode)


@op_function("true_divide", methods=("true_divide", "true_divide_"),
             reference="torch.true_divide", samples=binary(rhs_exclude=(0.0,)),
             dtypes=ALL_REAL, node_names=("DivBackward0",))
def true_divide(input, other):
    """True division `input / other` (`div` without a rounding mode).

    out = a / b;  d/da = grad / b;  d/db = -grad * a / b**2
    """
    return TrueDiv.apply(input, other)


@op_function("__rtruediv__", methods=("__rtruediv__",), reference="torch.Tensor.__rtruediv__",
             samples=binary(rhs_exclude=(0.0,)), dtypes=ALL_REAL,
             node_names=("ReciprocalBackward0", "MulBackward0"))
def __rtruediv__(self, other):
    """`other / self` (what `2 / x` calls), computed as torch does: `self.reciprocal() * other`.

    out = other * (1 / self): a ReciprocalBackward0 below a MulBackward0, as in torch
    """
    return Mul.apply(Reciprocal.apply(self), other)


class Neg(Op):
    """Elementwise negation.

    out = -a;  d/da = -grad
    """

    name = "neg"
    aliases = ("negative",)
    methods = ("neg", "neg_", "negative", "negative_", "__neg__")
    reference = "torch.neg"
    samples = unary()
    dtypes = ALL_REAL
    error_samples = [error_sample(np.array([True, False]), match="on a bool tensor")]

    def forward(ctx, a):
        if a.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return -a

    def backward(ctx, grad):
        return -grad


class PowTensorScalar(Op):
    """`input ** exponent` with a number exponent.

    out = a ** e;  d/da = grad * e * a ** (e - 1)   (0 where e == 0)
    """

    node_name = "PowBackward0"
    inputs = 2
    differentiable_inputs = (0,)  # the exponent is a Scalar: no edge
    type_promotion = DEFAULT

    def forward(ctx, a, e):
        _check_integer_power(a, e)
        ctx.save_for_backward(a, e)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if e == 2:                              # torch multiplies: a * a, as np.square does
                return np.square(a)
            if e == 0.5 and a.dtype.kind == "f":    # torch computes these with sqrt and rsqrt,
                return np.sqrt(a)                   # which differ from pow at -0.0
            if e == -0.5 and a.dtype.kind == "f":
                return 1 / np.sqrt(a)
            return np.power(a, e)

    def backward(ctx, grad):
        a, e = ctx.saved_tensors
        if e == 0:
            return zeros_like(a), None
        if e == 2:   # a ** 1 is a, exactly (torch's pow copies for exponent 1): one op fewer
            return grad * (a * 2), None
        return grad * (e * a ** (e - 1)), None


class PowTensorTensor(Op):
    """`input ** exponent` with a tensor exponent.

    out = a ** b;  d/da = grad * b * a ** (b - 1)   (0 where b == 0)
                   d/db = grad * out * log(a)       (0 where a == 0 and b >= 0)
    """

    node_name = "PowBackward1"
    inputs = 2
    type_promotion = DEFAULT

    def forward(ctx, a, b):
        _check_integer_power(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(np.power(a, b))
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        return (_pow_self_grad(grad, a, b),
                _pow_exponent_grad(grad, a, b, out))


class PowScalarTensor(Op):
    """`base ** exponent` with a number base (what `2 ** x` calls).

    out = s ** b;  d/db = grad * out * log(s)   (0 where s == 0 and b >= 0)
    """

    node_name = "PowBackward2"
    inputs = 2
    differentiable_inputs = (1,)  # the base is a Scalar: no edge
    type_promotion = DEFAULT

    def forward(ctx, s, b):
        _check_integer_power(s, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(np.power(s, b))
        ctx.save_for_backward(s, b, out)
        return out

    def backward(ctx, grad):
        s, b, out = ctx.saved_tensors
        if s == 0:
            return None, grad * (out * float("-inf")).masked_fill(b >= 0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            log_s = float(np.log(s))
        return None, grad * (out * log_s)


def _pow_self_grad(grad, a, b):
    return (grad * (b * a ** (b - 1))).masked_fill(b == 0, 0.0)


def _pow_exponent_grad(grad, a, b, out):
    return (grad * (out * a.log())).masked_fill((a == 0) & (b >= 0), 0.0)


def _check_integer_power(a, e):
    a_int = (isinstance(a, np.ndarray) and a.dtype.kind in "iu") or type(a) is int
    e_neg = (isinstance(e, np.ndarray) and e.dtype.kind in "iu" and (e < 0).any()) or (
        type(e) is int and e < 0)
    if a_int and e_neg:
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _pow_samples(g):
    base = g.tensor(g.shape(), 0.5, 3.0)
    if g.booleans():
        return Sample((base, g.sampled_from([0, 1, 2, 3, 0.5, -1, -2.5])))
    return Sample((base, g.tensor(base.array.shape, -2.0, 2.0)))


@op_function("pow", methods=("pow", "pow_", "__pow__", "__rpow__", "__ipow__"),
             reference="torch.pow", samples=_pow_samples, dtypes=FLOATING,
             error_samples=[error_sample(np.array([2, 3]), -1,
                                         match="Integers to negative integer powers")],
             node_names=("PowBackward0", "PowBackward1", "PowBackward2"))
def pow(input, exponent):
    """Elementwise power `input ** exponent`; either may be a number.

    out = a ** b;  d/da = grad * b * a ** (b - 1);  d/db = grad * out * log(a)
    """
    if not isinstance(exponent, Tensor):
        return PowTensorScalar.apply(input, exponent)
    if not isinstance(input, Tensor):
        return PowScalarTensor.apply(input, exponent)
    return PowTensorTensor.apply(input, exponent)


class RemainderTensor(Op):
    """Python-style remainder (same sign as the divisor) of two tensors.

    out = a - floor(a / b) * b;  d/da = grad;  d/db = -grad * floor(a / b)
    """

    inputs = 2
    type_promotion = DEFAULT
    node_name = "RemainderBackward1"

    def forward(ctx, a, b):
        _check_integer_division(a, b)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.remainder(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad, -grad * div(a, b, rounding_mode="floor")


class RemainderScalar(RemainderTensor):
    """Remainder with a number divisor, `torch.remainder(x, 2.5)`.

    out = a - floor(a / b) * b;  d/da = grad
    """

    node_name = "RemainderBackward0"
    differentiable_inputs = (0,)  # the divisor is a Scalar: no edge
    forward = RemainderTensor.forward
    backward = RemainderTensor.backward


class RemainderScalarSelf(RemainderTensor):
    """Remainder of a number by a tensor (`2 % x`); torch has no derivative for it.

    out = a - floor(a / b) * b;  backward raises, as torch's does
    """

    node_name = "NotImplemented"
    forward = RemainderTensor.forward

    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::remainder is not implemented")


@op_function("remainder", methods=("remainder", "remainder_", "__mod__", "__rmod__", "__imod__"),
             reference="torch.remainder", samples=binary(rhs_low=0.5, rhs_high=5.0),
             dtypes=ALL_REAL,
             error_samples=[error_sample(np.array([3, 4]), np.array([0, 1]),
                                         match="ZeroDivisionError")],
             node_names=("RemainderBackward0", "RemainderBackward1", "NotImplemented"))
def remainder(input, other):
    """Python-style remainder `input % other`, with the sign of the divisor.

    out = a - floor(a / b) * b;  d/da = grad;  d/db = -grad * floor(a / b)
    """
    if not isinstance(input, Tensor):
        return RemainderScalarSelf.apply(input, other)
    if not isinstance(other, Tensor):
        return RemainderScalar.apply(input, other)
    return RemainderTensor.apply(input, other)


class FloorDivide(Op):
    """`input // other`, rounding down. Not differentiable in PyTorch either.

    out = floor(a / b);  backward raises, as torch's does
    """

    name = "floor_divide"
    methods = ("floor_divide", "floor_divide_", "__floordiv__", "__rfloordiv__",
               "__ifloordiv__")
    inputs = 2
    type_promotion = DEFAULT
    node_name = "NotImplemented"
    reference = "torch.floor_divide"
    samples = binary(rhs_low=0.5, rhs_high=5.0)
    dtypes = ALL_REAL

    def forward(ctx, a, b):
        return RoundingDiv.forward(ctx, a, b, "floor")

    def backward(ctx, grad):
        raise RuntimeError("the derivative for 'floor_divide' is not implemented.")


class Abs(Op):
    """Elementwise absolute value.

    out = |a|;  d/da = grad * sign(a)   (0 at 0)
    """

    name = "abs"
    aliases = ("absolute",)
    methods = ("abs", "abs_", "absolute", "absolute_", "__abs__")
    reference = "torch.abs"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * a.sign()


class Sign(Op):
    """Elementwise sign: -1, 0 or 1.

    out = sign(a);  d/da = 0
    """

    name = "sign"
    methods = ("sign", "sign_")
    reference = "torch.sign"
    samples = unary()
    dtypes = ALL_REAL

    def forward(ctx, a):
        out = np.sign(a)
        if a.dtype.kind == "f":
            out = np.where(np.isnan(a), a.dtype.type(0), out)  # torch: sign(nan) = 0
        return out

    def backward(ctx, grad):
        return grad * 0


class Reciprocal(Op):
    """Elementwise 1 / input; integers give the default float dtype.

    out = 1 / a;  d/da = -grad * out**2
    """

    name = "reciprocal"
    methods = ("reciprocal", "reciprocal_")
    type_promotion = INT_TO_FLOAT
    reference = "torch.reciprocal"
    samples = unary(exclude=(0.0,))
    dtypes = ALL_REAL

    def forward(ctx, a):
        with np.errstate(divide="ignore"):
            out = np.asarray(np.reciprocal(a))
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * (out * out)


def _fill_value(value):
    """The fill value as a number or an array; a tensor value must be 0-dim, as in torch."""
    if isinstance(value, np.ndarray) and value.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.ndim} dimensions.")
    return value


class FillScalar(Op):
    """A tensor like `input` filled with the number `value` (`torch.fill(x, 2.0)`).

    out = value;  d/da = 0
    """

    inputs = 1
    node_name = "FillBackward0"

    def forward(ctx, a, value):
        return np.full_like(a, _fill_value(value))

    def backward(ctx, grad):
        return zeros_like(grad)


class FillTensor(Op):
    """A tensor like `input` filled with the 0-dim tensor `value`.

    out = value;  d/da = 0;  d/dvalue = grad.sum()
    """

    inputs = 2
    node_name = "FillBackward1"

    def forward(ctx, a, value):
        return np.full_like(a, _fill_value(value))

    def backward(ctx, grad):
        return zeros_like(grad), grad.sum()


class FillScalarInplace(FillScalar):
    """`x.fill_(2.0)`: torch's in-place fill has its own Node (FillBackward2)."""

    node_name = "FillBackward2"
    forward = FillScalar.forward
    backward = FillScalar.backward


class FillTensorInplace(FillTensor):
    """`x.fill_(value_tensor)` (FillBackward3)."""

    node_name = "FillBackward3"
    forward = FillTensor.forward
    backward = FillTensor.backward


def _fill_samples(g):
    x = g.tensor(g.shape())
    if g.booleans():
        return Sample((x, g.tensor((), -3, 3, dtype=x.array.dtype.name)))
    return Sample((x, g.floats(-3, 3)))


@op_function("fill", reference="torch.fill", samples=_fill_samples, dtypes=FLOATING,
             error_samples=[error_sample(np.array([1.0]), np.array([1.0, 2.0]),
                                         match="only supports 0-dimension value tensor")],
             node_names=("FillBackward0", "FillBackward1"))
def fill(input, value):
    """A tensor like `input` filled with `value` (a number or a 0-dim tensor).

    out = value;  d/da = 0;  d/dvalue = grad.sum()
    """
    if isinstance(value, Tensor):
        return FillTensor.apply(input, value)
    return FillScalar.apply(input, value)


def _fill_out_of_place(input, value):
    if isinstance(value, Tensor):
        return FillTensorInplace.apply(input, value)
    return FillScalarInplace.apply(input, value)


fill_ = op_function("fill_", methods=("fill_",), reference="torch.fill_",
                    samples=_fill_samples, dtypes=FLOATING,
                    node_names=("FillBackward2", "FillBackward3"))(
    inplace_variant(_fill_out_of_place, "fill_"))
fill_.__doc__ = """Fill `input` with `value` (a number or a 0-dim tensor), in place; returns it.

    out = value;  d/da = 0;  d/dvalue = grad.sum()
    """


class Zero(Op):
    """Zeros like `input`, what `x.zero_()` writes in place.

    out = 0;  d/da = 0
    """

    node_name = "ZeroBackward0"

    def forward(ctx, a):
        return np.zeros_like(a)

    def backward(ctx, grad):
        return zeros_like(grad)


zero_ = op_function("zero_", methods=("zero_",), reference="torch.zero_", samples=unary(),
                    dtypes=FLOATING, node_names=("ZeroBackward0",))(
    inplace_variant(Zero.apply, "zero_"))
zero_.__doc__ = """Fill `input` with zeros, in place; returns it.

    out = 0;  d/da = 0
    """


def _copy_from_samples(g):
    """self, and a src that broadcasts to self's shape (fewer dims, or size 1 where self has
    more), sometimes a Python number."""
    shape = g.shape()
    self_tensor = g.tensor(shape)
    if g.booleans() and g.booleans():
        return Sample((self_tensor, g.floats(-5, 5) if g.dtype.is_floating_point
                       else g.integers(-5, 5)))
    src_shape = tuple(1 if g.booleans() else s for s in shape[g.integers(0, len(shape)):])
    return Sample((self_tensor, g.tensor(src_shape)))


def _torch_copy(input, src, non_blocking=False):
    """The reference: torch's `self.copy_(src)` on a clone, so the input is left as it was."""
    return input.clone().copy_(src, non_blocking)


class CopyFrom(Op):
    """The value `self.copy_(src)` writes: src broadcast to self's shape and cast to self's
    dtype (the in-place `copy_` method is built from it).

    out = src;  d/dself = 0;  d/dsrc = grad (summed back to src's shape, in src's dtype)
    Not torch._copy_from, which copies its first argument into its second.
    """

    name = "_copy_from"
    methods = ("copy_",)
    inputs = 2
    node_name = "CopyBackwards"
    reference = _torch_copy
    samples = _copy_from_samples
    dtypes = BOOL_AND_REAL
    error_samples = (
        error_sample(np.ones(3), np.ones(2), match="The size of tensor a (3) must match the size "
                                                   "of tensor b (2) at non-singleton dimension 0"),
        error_sample(np.ones(3), np.ones((2, 3)), match="output with shape [3] doesn't match "
                                                        "the broadcast shape [2, 3]"))

    def forward(ctx, a, src, non_blocking=False):
        src = np.asarray(src)
        try:
            shape = np.broadcast_shapes(a.shape, src.shape)
        except ValueError:
            raise RuntimeError(_broadcast_error([a, src])) from None
        if shape != a.shape:   # src may broadcast up to self's shape, never grow it
            raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the broadcast "
                               f"shape {list(shape)}")
        return np.broadcast_to(src.astype(a.dtype, copy=False), a.shape).copy()

    def backward(ctx, grad):
        return zeros_like(grad), grad

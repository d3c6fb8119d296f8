"""Comparison and selection: maximum, minimum, atan2, where, masked_fill, the comparisons
(== != < <= > >=), logical and bitwise ops, isnan/isinf/isfinite.

Two kinds of op live here:

- ops that *select* between their inputs (maximum, minimum, where, masked_fill) or combine two
  of them (atan2). They are differentiable, and their backward sends each element's gradient
  to the input it came from (derivatives.yaml: `self: where(condition, grad, 0)`);
- ops that answer a yes/no question (eq, lt, isnan, logical_and, ...). Their result is a bool
  tensor, which cannot require grad, so they declare `differentiable = False` and autograd
  records nothing for them. Comparisons compute in the promoted dtype (`int32 < 1.5` compares
  as float32) and always return bool (`type_promotion = ALWAYS_BOOL`).

Note [Selection backward: where, not multiplication]
    torch routes the gradient with `where(condition, grad, 0)`, not `grad * condition`: an inf
    gradient in the selected branch stays inf and the unselected branch gets exactly 0. A NaN
    can still appear one step further back: `where(x > 0, x.log(), 0)` at x = 0 sends 0 into
    log's backward, which computes 0 / 0. That is torch's behaviour too, and the reason for
    the "double where" idiom: `where(x > 0, where(x > 0, x, 1).log(), 0)`.
"""

from __future__ import annotations

import warnings

import numpy as np

import hypergrad
from hypergrad import dtypes as _dtypes
from hypergrad.conformance.domains import (ALL_REAL, BOOL_AND_REAL, INTEGRAL, ErrorSample,
                                           Sample, SampleTensor, binary, unary)
from hypergrad.plugins import ALWAYS_BOOL, DEFAULT, INT_TO_FLOAT, Op, op_function
from hypergrad.plugins.op import _scalar_type_name


def _raises(error_type, match, *args, **kwargs):
    """An ErrorSample: these arguments (arrays become tensors) must raise, as in torch."""
    args = tuple(SampleTensor(np.asarray(a), False) if isinstance(a, (list, np.ndarray)) else a
                 for a in args)
    return ErrorSample(Sample(args, kwargs), error_type, match)


_FLOAT32 = np.ones(1, np.float32)  # for error samples: torch names its dtype 'Float'


def _require_tensors(op_name, a, b):
    """maximum/minimum/atan2 take two tensors; torch rejects a Python number."""
    for position, (argument, value) in enumerate((("input", a), ("other", b)), 1):
        if type(value) is not np.ndarray:
            raise TypeError(f"{op_name}(): argument '{argument}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")


# ----------------------------------------------------------------------------------------------
# maximum, minimum, atan2
# ----------------------------------------------------------------------------------------------
def _split_ties(grad, a, b):
    """Where a == b both inputs produced the result: each gets half of the gradient."""
    return where(a == b, grad / 2, grad)


class Maximum(Op):
    """Elementwise maximum of two tensors (NaN if either is NaN).

    out = max(a, b);  d/da = grad where a > b, grad / 2 where a == b, else 0  (and d/db alike)
    """

    name = "maximum"
    methods = ("maximum",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.maximum"
    samples = binary(scalar_rhs=False)
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(TypeError, "maximum(): argument 'other' (position 2) must be "
                             "Tensor, not float", [1.0, 2.0], 2.0),)

    def forward(ctx, a, b):
        _require_tensors("maximum", a, b)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        shared = _split_ties(grad, a, b)
        return shared.masked_fill(a < b, 0.0), shared.masked_fill(a > b, 0.0)


class Minimum(Op):
    """Elementwise minimum of two tensors (NaN if either is NaN).

    out = min(a, b);  d/da = grad where a < b, grad / 2 where a == b, else 0  (and d/db alike)
    """

    name = "minimum"
    methods = ("minimum",)
    inputs = 2
    type_promotion = DEFAULT
    reference = "torch.minimum"
    samples = binary(scalar_rhs=False)
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(TypeError, "minimum(): argument 'other' (position 2) must be "
                             "Tensor, not float", [1.0, 2.0], 2.0),)

    def forward(ctx, a, b):
        _require_tensors("minimum", a, b)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        shared = _split_ties(grad, a, b)
        return shared.masked_fill(a > b, 0.0), shared.masked_fill(a < b, 0.0)


def _atan2_scale(a, b):
    """1 / (a**2 + b**2), with 0 where both are 0 (torch's atan2_backward)."""
    denominator = a * a + b * b
    return denominator.reciprocal().masked_fill(denominator == 0, 0.0)


class Atan2(Op):
    """Elementwise angle of the point (other, input): arctan(input / other) in the right
    quadrant, in (-pi, pi].

    out = atan2(a, b);  d/da = grad * b / (a**2 + b**2);  d/db = -grad * a / (a**2 + b**2)
    """

    name = "atan2"
    aliases = ("arctan2",)
    methods = ("atan2", "atan2_", "arctan2", "arctan2_")
    inputs = 2
    type_promotion = INT_TO_FLOAT
    reference = "torch.atan2"
    samples = binary(scalar_rhs=False, rhs_exclude=(0.0,))
    dtypes = ALL_REAL
    error_samples = (_raises(TypeError, "atan2(): argument 'other' (position 2) must be "
                             "Tensor, not float", [1.0, 2.0], 2.0),)

    def forward(ctx, a, b):
        _require_tensors("atan2", a, b)
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = _atan2_scale(a, b)
        return grad * b * scale, grad * -a * scale


# ----------------------------------------------------------------------------------------------
# where and masked_fill
# ----------------------------------------------------------------------------------------------
def _check_condition(condition):
    if condition.dtype == np.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and "
                      "will be removed in a future version of PyTorch. Use a boolean condition "
                      "instead.", UserWarning, stacklevel=4)
    elif condition.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_scalar_type_name(condition.dtype)}")


class Where(Op):
    """`where(condition, input, other)`: input where condition holds, else other.

    out = condition ? a : b;  d/da = where(condition, grad, 0);  d/db = where(condition, 0, grad)
    """

    node_name = "WhereBackward0"
    inputs = 3
    differentiable_inputs = (1, 2)  # the condition gets no edge

    def forward(ctx, condition, a, b):
        _check_condition(condition)
        dtype = _dtypes.result_type(a, b).numpy  # the condition takes no part in promotion
        ctx.save_for_backward(condition)
        return np.where(condition, a, b).astype(dtype, copy=False)

    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        return None, where(condition, grad, 0.0), where(condition, 0.0, grad)


def _where_samples(g):
    condition_shape, a_shape, b_shape = g.shapes(3)
    condition = g.tensor(condition_shape, dtype=hypergrad.bool, requires_grad=False)
    a = g.tensor(a_shape)
    if g.booleans() and g.booleans():
        b = g.floats(-5, 5) if g.dtype.is_floating_point else g.integers(-5, 5)
    else:
        b = g.tensor(b_shape)
    return Sample((condition, a, b))


@op_function("where", reference="torch.where", samples=_where_samples, dtypes=BOOL_AND_REAL,
             node_names=("WhereBackward0",),
             error_samples=(_raises(RuntimeError, "where expected condition to be a boolean "
                                    "tensor, but got a tensor with dtype Float",
                                    np.ones(2, np.float32), [1.0, 2.0], [3.0, 4.0]),))
def where(condition, input=None, other=None):
    """Pick `input` where `condition` is True and `other` elsewhere; all three broadcast.

    `input` and `other` may be Python numbers. With only `condition`, returns the indices of
    its True elements, one int64 tensor per dimension (`nonzero(as_tuple=True)`).
    out = condition ? a : b;  d/da = where(condition, grad, 0);  d/db = where(condition, 0, grad)
    """
    if input is None and other is None:
        return tuple(hypergrad.from_numpy(index.astype(np.int64))
                     for index in np.nonzero(condition.detach().numpy()))
    if input is None or other is None:
        raise TypeError("where() received an invalid combination of arguments - got (Tensor, "
                        "Tensor), but expected one of:\n * (Tensor condition)\n * (Tensor "
                        "condition, Tensor input, Tensor other, *, Tensor out = None)\n")
    return Where.apply(condition, input, other)


# masked_fill's error names the mask's dtype as C++ does
_C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                 "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char"}


def _check_mask(mask):
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_C_TYPE_NAMES.get(mask.dtype.name, mask.dtype.name)}")


class MaskedFillScalar(Op):
    """`masked_fill(input, mask, value)` with a number value (cast to input's dtype).

    out = mask ? value : a;  d/da = grad where not mask, else 0
    """

    node_name = "MaskedFillBackward0"
    inputs = 2
    differentiable_inputs = (0,)  # the mask gets no edge

    def forward(ctx, a, mask, value):
        _check_mask(mask)
        ctx.save_for_backward(mask)
        return np.where(mask, _fill_value(np.asarray(value), a.dtype), a)

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad.masked_fill(mask, 0.0), None


# the C++ type torch names when a fill value does not fit the tensor's dtype
_CPP_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "int64_t",
             "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t"}


def _fill_value(value, dtype):
    """`value` (a 0-dim array) as `dtype`: a complex value fits a real tensor only if its
    imaginary part is 0 (torch's "cannot be converted" error otherwise; bool takes any)."""
    if value.dtype.kind == "c" and dtype.kind != "c":
        if value.imag != 0 and dtype.kind != "b":
            raise RuntimeError(f"value cannot be converted to type {_CPP_TYPE[dtype.name]} "
                               "without overflow")
        value = value != 0 if dtype.kind == "b" else value.real
    return value.astype(dtype)


class MaskedFillTensor(Op):
    """`masked_fill(input, mask, value)` with a 0-dim tensor value.

    out = mask ? value : a;  d/da = grad where not mask, else 0;  d/dvalue = sum of grad where mask
    """

    node_name = "MaskedFillBackward1"
    inputs = 3
    differentiable_inputs = (0, 2)

    def forward(ctx, a, mask, value):
        _check_mask(mask)
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        ctx.save_for_backward(mask)
        return np.where(mask, _fill_value(value, a.dtype), a)

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad.masked_fill(mask, 0.0), None, where(mask, grad, 0.0).sum()


def _masked_fill_samples(g):
    shape, mask_shape = g.shapes(2)
    x = g.tensor(shape)
    mask = g.tensor(mask_shape, dtype=hypergrad.bool, requires_grad=False)
    if g.booleans():
        return Sample((x, mask, g.tensor((), -3.0, 3.0)))
    return Sample((x, mask, g.floats(-3, 3) if g.dtype.is_floating_point else g.integers(-3, 3)))


@op_function("masked_fill", methods=("masked_fill", "masked_fill_"),
             reference="torch.masked_fill", samples=_masked_fill_samples, dtypes=BOOL_AND_REAL,
             error_samples=(
                 _raises(RuntimeError, "masked_fill_ only supports boolean masks, but got mask "
                         "with dtype float", [1.0, 2.0], np.ones(2, np.float32), 0.0),
                 _raises(RuntimeError, "masked_fill_ only supports a 0-dimensional value "
                         "tensor, but got tensor with 1 dimension(s).", [1.0, 2.0],
                         [True, False], [0.0])),
             node_names=("MaskedFillBackward0", "MaskedFillBackward1"))
def masked_fill(input, mask, value):
    """`value` where the bool `mask` is True, `input` elsewhere; keeps input's dtype.

    `value` is a number or a 0-dim tensor (then it receives the sum of the masked gradient).
    out = mask ? value : a;  d/da = grad where not mask, else 0;  d/dvalue = sum of grad where mask
    """
    if isinstance(value, hypergrad.Tensor):
        if value.requires_grad and hypergrad.is_grad_enabled() and not (
                input.is_floating_point() or input.is_complex()):
            # the result would need a gradient but has an integer dtype: torch refuses too
            raise RuntimeError(f"Autograd not support dtype: "
                               f"{_scalar_type_name(input.dtype.numpy)}")
        return MaskedFillTensor.apply(input, mask, value)
    return MaskedFillScalar.apply(input, mask, value)


# ----------------------------------------------------------------------------------------------
# Comparisons: bool results, no gradient
# ----------------------------------------------------------------------------------------------
def _check_other(op_name, b):
    """A number or a tensor; anything else is torch's TypeError (`t == None` is handled by
    the operator itself, which returns NotImplemented, so Python answers False)."""
    if b is None:
        raise TypeError(f"{op_name}() received an invalid combination of arguments - got "
                        f"(Tensor, NoneType), but expected one of:\n"
                        f" * (Tensor input, Tensor other, *, Tensor out = None)\n"
                        f" * (Tensor input, Number other, *, Tensor out = None)\n")


class Eq(Op):
    """Elementwise `input == other` (bool).

    out = a == b;  not differentiable
    """

    name = "eq"
    methods = ("eq", "__eq__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.eq"
    samples = binary()
    dtypes = BOOL_AND_REAL
    error_samples = (_raises(TypeError, "eq() received an invalid combination of arguments",
                             [1.0], None),)

    def forward(ctx, a, b):
        _check_other("eq", b)
        return np.equal(a, b)


class Ne(Op):
    """Elementwise `input != other` (bool).

    out = a != b;  not differentiable
    """

    name = "ne"
    aliases = ("not_equal",)
    methods = ("ne", "not_equal", "__ne__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.ne"
    samples = binary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        _check_other("ne", b)
        return np.not_equal(a, b)


class Lt(Op):
    """Elementwise `input < other` (bool).

    out = a < b;  not differentiable
    """

    name = "lt"
    aliases = ("less",)
    methods = ("lt", "less", "__lt__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.lt"
    samples = binary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        _check_other("lt", b)
        return np.less(a, b)


class Le(Op):
    """Elementwise `input <= other` (bool).

    out = a <= b;  not differentiable
    """

    name = "le"
    aliases = ("less_equal",)
    methods = ("le", "less_equal", "__le__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.le"
    samples = binary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        _check_other("le", b)
        return np.less_equal(a, b)


class Gt(Op):
    """Elementwise `input > other` (bool).

    out = a > b;  not differentiable
    """

    name = "gt"
    aliases = ("greater",)
    methods = ("gt", "greater", "__gt__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.gt"
    samples = binary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        _check_other("gt", b)
        return np.greater(a, b)


class Ge(Op):
    """Elementwise `input >= other` (bool).

    out = a >= b;  not differentiable
    """

    name = "ge"
    aliases = ("greater_equal",)
    methods = ("ge", "greater_equal", "__ge__")
    inputs = 2
    type_promotion = ALWAYS_BOOL
    differentiable = False
    reference = "torch.ge"
    samples = binary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        _check_other("ge", b)
        return np.greater_equal(a, b)


# ----------------------------------------------------------------------------------------------
# Logical ops: any dtype in (nonzero is True), bool out
# ----------------------------------------------------------------------------------------------
class LogicalAnd(Op):
    """Elementwise logical AND; nonzero counts as True.

    out = a and b;  not differentiable
    """

    name = "logical_and"
    methods = ("logical_and",)
    inputs = 2
    differentiable = False
    type_promotion = ALWAYS_BOOL  # torch casts both to their common dtype first
    reference = "torch.logical_and"
    samples = binary(scalar_rhs=False)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        return np.logical_and(a, b)


class LogicalOr(Op):
    """Elementwise logical OR; nonzero counts as True.

    out = a or b;  not differentiable
    """

    name = "logical_or"
    methods = ("logical_or",)
    inputs = 2
    differentiable = False
    type_promotion = ALWAYS_BOOL  # torch casts both to their common dtype first
    reference = "torch.logical_or"
    samples = binary(scalar_rhs=False)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        return np.logical_or(a, b)


class LogicalXor(Op):
    """Elementwise logical XOR; nonzero counts as True.

    out = a xor b;  not differentiable
    """

    name = "logical_xor"
    methods = ("logical_xor",)
    inputs = 2
    differentiable = False
    type_promotion = ALWAYS_BOOL  # torch casts both to their common dtype first
    reference = "torch.logical_xor"
    samples = binary(scalar_rhs=False)
    dtypes = BOOL_AND_REAL

    def forward(ctx, a, b):
        return np.logical_xor(a, b)


class LogicalNot(Op):
    """Elementwise logical NOT; nonzero counts as True.

    out = not a;  not differentiable
    """

    name = "logical_not"
    methods = ("logical_not",)
    differentiable = False
    reference = "torch.logical_not"
    samples = unary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a):
        return np.logical_not(a)


# ----------------------------------------------------------------------------------------------
# Bitwise ops: bool and integer tensors only (`mask & other`, `~mask`)
# ----------------------------------------------------------------------------------------------
def _check_integral(kernel, *values):
    """torch implements bitwise kernels for bool and integers only (checked after promotion,
    so `mask & 1.5` fails as float too)."""
    for value in values:
        if type(value) is np.ndarray and value.dtype.kind not in "biu":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{_scalar_type_name(value.dtype)}'")


class BitwiseAnd(Op):
    """Elementwise AND of the bits: logical AND for bool tensors (`mask & other`).

    out = a & b;  not differentiable
    """

    name = "bitwise_and"
    methods = ("bitwise_and", "bitwise_and_", "__and__", "__rand__", "__iand__")
    inputs = 2
    type_promotion = DEFAULT
    differentiable = False
    reference = "torch.bitwise_and"
    samples = binary(integral=True)
    dtypes = ("bool",) + INTEGRAL
    error_samples = (_raises(NotImplementedError, '"bitwise_and_cpu" not implemented '
                             "for 'Float'", _FLOAT32, _FLOAT32),)

    def forward(ctx, a, b):
        _check_integral("bitwise_and_cpu", a, b)
        return np.bitwise_and(a, b)


class BitwiseOr(Op):
    """Elementwise OR of the bits: logical OR for bool tensors (`mask | other`).

    out = a | b;  not differentiable
    """

    name = "bitwise_or"
    methods = ("bitwise_or", "bitwise_or_", "__or__", "__ror__", "__ior__")
    inputs = 2
    type_promotion = DEFAULT
    differentiable = False
    reference = "torch.bitwise_or"
    samples = binary(integral=True)
    dtypes = ("bool",) + INTEGRAL
    error_samples = (_raises(NotImplementedError, '"bitwise_or_cpu" not implemented '
                             "for 'Float'", _FLOAT32, _FLOAT32),)

    def forward(ctx, a, b):
        _check_integral("bitwise_or_cpu", a, b)
        return np.bitwise_or(a, b)


class BitwiseXor(Op):
    """Elementwise XOR of the bits: logical XOR for bool tensors (`mask ^ other`).

    out = a ^ b;  not differentiable
    """

    name = "bitwise_xor"
    methods = ("bitwise_xor", "bitwise_xor_", "__xor__", "__rxor__", "__ixor__")
    inputs = 2
    type_promotion = DEFAULT
    differentiable = False
    reference = "torch.bitwise_xor"
    samples = binary(integral=True)
    dtypes = ("bool",) + INTEGRAL
    error_samples = (_raises(NotImplementedError, '"bitwise_xor_cpu" not implemented '
                             "for 'Float'", _FLOAT32, _FLOAT32),)

    def forward(ctx, a, b):
        _check_integral("bitwise_xor_cpu", a, b)
        return np.bitwise_xor(a, b)


class BitwiseNot(Op):
    """Elementwise NOT of the bits: logical NOT for bool tensors (`~mask`), -x - 1 for integers.

    out = ~a;  not differentiable
    """

    name = "bitwise_not"
    methods = ("bitwise_not", "bitwise_not_", "__invert__")
    differentiable = False
    reference = "torch.bitwise_not"
    samples = unary(integral=True)
    dtypes = ("bool",) + INTEGRAL
    error_samples = (_raises(NotImplementedError, '"bitwise_not_cpu" not implemented '
                             "for 'Float'", _FLOAT32),)

    def forward(ctx, a):
        _check_integral("bitwise_not_cpu", a)
        return np.invert(a)


# ----------------------------------------------------------------------------------------------
# Tests for special values
# ----------------------------------------------------------------------------------------------
class IsNan(Op):
    """Elementwise test for NaN (always False for integer and bool tensors).

    out = a != a;  not differentiable
    """

    name = "isnan"
    methods = ("isnan",)
    differentiable = False
    reference = "torch.isnan"
    samples = unary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a):
        return np.isnan(a) if a.dtype.kind in "fc" else np.zeros(a.shape, dtype=bool)


class IsInf(Op):
    """Elementwise test for +inf or -inf (always False for integer and bool tensors).

    out = |a| == inf;  not differentiable
    """

    name = "isinf"
    methods = ("isinf",)
    differentiable = False
    reference = "torch.isinf"
    samples = unary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a):
        return np.isinf(a) if a.dtype.kind in "fc" else np.zeros(a.shape, dtype=bool)


class IsFinite(Op):
    """Elementwise test for a finite value, neither inf nor NaN (always True for integers).

    out = not (isinf(a) or isnan(a));  not differentiable
    """

    name = "isfinite"
    methods = ("isfinite",)
    differentiable = False
    reference = "torch.isfinite"
    samples = unary()
    dtypes = BOOL_AND_REAL

    def forward(ctx, a):
        return np.isfinite(a) if a.dtype.kind in "fc" else np.ones(a.shape, dtype=bool)
